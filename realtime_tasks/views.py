"""The JSON API: the polling fallback of the WebSocket, and an API for clients without JavaScript."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .serializers import find_tree, serialize_trees, user_snapshot


def _not_authenticated() -> JsonResponse:
    return JsonResponse({"error": "not_authenticated", "message": _("Log in to see your tasks.")}, status=401)


def _not_found(root: Any) -> JsonResponse:
    # The same answer for a tree that does not exist and for one that is not the user's.
    return JsonResponse(
        {
            "error": "not_found",
            "message": _("No task tree %(root)s was found.") % {"root": repr(str(root)[:64])},
        },
        status=404,
    )


@require_GET
def trees(request: HttpRequest) -> JsonResponse:
    """The user's running trees, newest first, then the most recent finished ones."""
    if not request.user.is_authenticated:
        return _not_authenticated()
    return JsonResponse({"trees": user_snapshot(request.user)})


@require_GET
def tree(request: HttpRequest, root: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return _not_authenticated()
    found = find_tree(request.user, root)
    if found is None:
        return _not_found(root)
    [data] = serialize_trees([found.uuid])
    return JsonResponse(data)


@require_POST
def cancel(request: HttpRequest, root: str) -> JsonResponse:
    """Cancel a tree: its owner may, and staff with the cancel permission."""
    if not request.user.is_authenticated:
        return _not_authenticated()
    found = find_tree(request.user, root)
    allowed = found is not None and (
        found.user_id == request.user.pk or request.user.has_perm("realtime_tasks.cancel_usertaskstatus")
    )
    if found is None or not allowed:
        return _not_found(root)
    found.cancel()
    [data] = serialize_trees([found.uuid])
    return JsonResponse(data)


def unknown(request: HttpRequest) -> JsonResponse:
    """Any other URL under the API's prefix: a JSON answer too, never the site's HTML error page."""
    return JsonResponse(
        {
            "error": "not_found",
            "message": _("The task API has no %(path)s.") % {"path": repr(request.path[:100])},
        },
        status=404,
    )
