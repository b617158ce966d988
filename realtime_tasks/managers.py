"""The queries of status records: which trees a user may see, a record's subtree, whole trees, deleting them.

Views, consumers, the admin and the tasks call these, so that one place decides who sees what.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q
from django.utils.timezone import now

from . import states
from .conf import conf

if TYPE_CHECKING:
    from .models import UserTaskStatus

_T = TypeVar("_T", bound=models.Model)


def granted(user: Any, permission: str) -> bool:
    """Whether ``user`` holds ``permission`` (e.g. "view_usertaskstatus") over every user's trees: a
    superuser, or staff granted it.

    The grant is read from ``get_all_permissions()``, not ``has_perm()`` without an object: object
    permission backends such as django-user-tasks' rules answer that with True for everyone, meaning "it
    depends on the object", which must never open other users' trees.
    """
    if not getattr(user, "is_active", False):
        return False
    return bool(
        user.is_superuser or (user.is_staff and f"realtime_tasks.{permission}" in user.get_all_permissions())
    )


class UserTaskStatusQuerySet(models.QuerySet[_T]):
    def roots(self) -> UserTaskStatusQuerySet[_T]:
        return self.filter(parent=None)

    def unfinished(self) -> UserTaskStatusQuerySet[_T]:
        return self.exclude(state__in=states.TERMINAL)

    def visible_to(self, user: Any) -> UserTaskStatusQuerySet[_T]:
        """The roots of the trees ``user`` may see: their own, or every tree for superusers and for staff
        granted the view permission (see ``granted``)."""
        roots = self.roots()
        if not getattr(user, "is_authenticated", False):
            return roots.none()
        if granted(user, "view_usertaskstatus"):
            return roots
        return roots.filter(user_id=user.pk)

    def find_root(self, key: Any) -> _T | None:
        """The root record whose uuid is ``key`` (any text), or None: the same for a malformed key."""
        try:
            uuid = uuid_module.UUID(str(key))
        except ValueError:
            return None
        return self.roots().filter(uuid=uuid).first()

    def snapshot_roots(self, user: Any) -> UserTaskStatusQuerySet[_T]:
        """The roots of the user's trees that a live connection follows from the start: those still
        running, and the most recent finished ones (``REALTIME_TASKS_SNAPSHOT_RECENT``)."""
        mine = self.roots().filter(user_id=user.pk)
        recent = mine.filter(state__in=states.TERMINAL).order_by("-created")
        return mine.filter(
            ~Q(state__in=states.TERMINAL) | Q(uuid__in=recent.values("uuid")[: conf.SNAPSHOT_RECENT])
        )

    def follow(self, seconds: float) -> int:
        """Lease these trees (roots) to staff followers for ``seconds`` from now: the live layer sends their
        changes to the trees' own groups until then."""
        return self.roots().update(followed_until=now() + timedelta(seconds=seconds))

    def subtree(self, record: UserTaskStatus) -> UserTaskStatusQuerySet[_T]:
        """``record`` and every record below it."""
        return self.filter(Q(pk=record.pk) | Q(root_id=record.root_id, path__contains=record.uuid.hex))

    def trees(self, roots: Any) -> UserTaskStatusQuerySet[_T]:
        """Every record of the trees whose roots are ``roots`` (uuids, or a queryset of root records)."""
        if isinstance(roots, models.QuerySet):
            roots = roots.values("uuid")
        return self.filter(root_id__in=roots)

    def delete_trees(self) -> int:
        """Delete the whole trees of the root records in this queryset, with their artifacts' files.

        Returns the number of status records deleted. Records are only ever deleted by whole trees: the
        links within a tree have no cascade (Django's would walk a large tree one level at a time).
        """
        model = self.model
        artifact_model = apps.get_model("realtime_tasks", "UserTaskArtifact")
        trees = model._default_manager.filter(root_id__in=self.roots().values("uuid"))
        artifacts = artifact_model._default_manager.filter(status__in=trees).exclude(file="")
        files = [name for name in artifacts.exclude(file=None).values_list("file", flat=True) if name]
        with transaction.atomic(using=self.db):
            _, deleted = trees.delete()
        storage = artifact_model._meta.get_field("file").storage
        for name in files:
            storage.delete(name)
        return deleted.get(model._meta.label, 0)
