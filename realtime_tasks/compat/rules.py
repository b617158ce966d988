"""Permission rules for this app's models, as django-user-tasks' ``user_tasks.rules`` offers them: a record's
owner and superusers may view, cancel and delete it; only superusers may change records or artifacts.

They need the ``rules`` package and its backend in ``AUTHENTICATION_BACKENDS``. Register them from your own
code (an ``AppConfig.ready()``)::

    from realtime_tasks.compat.rules import add_rules

    add_rules()

Asked without an object, as the REST API's lists ask, these rules answer True for every user: the lists then
show each user their own records (``realtime_tasks.compat.filters``). This app's own views, WebSocket and
admin decide who sees a tree themselves, never from such an answer alone.
"""

from __future__ import annotations

from typing import Any

from . import missing_extra

try:
    import rules
except ImportError as error:
    raise missing_extra("the rules package", error) from error


def _is_status_creator(user: Any, status: Any = None) -> bool:
    """True for the owner of ``status``, or when no status is given."""
    if not status:
        return True
    return bool(status.user_id == user.pk)


def _is_artifact_creator(user: Any, artifact: Any = None) -> bool:
    """True for the owner of the record of ``artifact``, or when no artifact is given."""
    if not artifact:
        return True
    return bool(artifact.status.user_id == user.pk)


is_status_creator = rules.Predicate(_is_status_creator, name="is_status_creator")
is_artifact_creator = rules.Predicate(_is_artifact_creator, name="is_artifact_creator")

STATUS_PERMISSION = is_status_creator | rules.is_superuser
ARTIFACT_PERMISSION = is_artifact_creator | rules.is_superuser

PERMISSIONS = {
    "realtime_tasks.view_usertaskstatus": STATUS_PERMISSION,
    "realtime_tasks.cancel_usertaskstatus": STATUS_PERMISSION,
    "realtime_tasks.change_usertaskstatus": rules.is_superuser,
    "realtime_tasks.delete_usertaskstatus": STATUS_PERMISSION,
    "realtime_tasks.view_usertaskartifact": ARTIFACT_PERMISSION,
    "realtime_tasks.change_usertaskartifact": rules.is_superuser,
    "realtime_tasks.delete_usertaskartifact": rules.is_superuser,
}


def add_rules() -> None:
    """Register the rules above with the ``rules`` package's default rule set."""
    for name, predicate in PERMISSIONS.items():
        rules.add_perm(name, predicate)


def remove_rules() -> None:
    """Unregister the rules added by ``add_rules()``."""
    for name in PERMISSIONS:
        if rules.perm_exists(name):
            rules.remove_perm(name)
