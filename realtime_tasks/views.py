"""The JSON API: the polling fallback of the WebSocket, and an API for clients without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .managers import granted
from .models import UserTaskStatus
from .serializers import serialize_trees, user_snapshot


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


View = Callable[..., JsonResponse]


def _allow(method: str) -> Callable[[View], View]:
    """Answer other methods with a JSON 405 (Django's own is an empty page). The CSRF token of a POST is
    checked here, so that a refusal is JSON too (Django's is an HTML page); other methods change nothing."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method != method:
                message = _("This URL answers %(method)s only.") % {"method": method}
                response = JsonResponse({"error": "method_not_allowed", "message": message}, status=405)
                response["Allow"] = method
                return response
            if method == "POST":
                refused = CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {})  # type: ignore[arg-type]
                if refused is not None:
                    message = _("The request has no valid CSRF token.")
                    return JsonResponse({"error": "csrf_failed", "message": message}, status=403)
            return view(request, *args, **kwargs)

        return csrf_exempt(checked)

    return decorate


@_allow("GET")
def trees(request: HttpRequest) -> JsonResponse:
    """The user's running trees, newest first, then the most recent finished ones."""
    if not request.user.is_authenticated:
        return _not_authenticated()
    return JsonResponse({"trees": user_snapshot(request.user)})


@_allow("GET")
def tree(request: HttpRequest, root: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return _not_authenticated()
    found = UserTaskStatus.objects.visible_to(request.user).find_root(root)
    if found is None:
        return _not_found(root)
    [data] = serialize_trees([found.uuid])
    return JsonResponse(data)


@_allow("POST")
def cancel(request: HttpRequest, root: str) -> JsonResponse:
    """Cancel a tree: its owner may, and staff with the cancel permission."""
    if not request.user.is_authenticated:
        return _not_authenticated()
    found = UserTaskStatus.objects.visible_to(request.user).find_root(root)
    allowed = found is not None and (
        found.user_id == request.user.pk or granted(request.user, "cancel_usertaskstatus")
    )
    if found is None or not allowed:
        return _not_found(root)
    found.cancel()
    [data] = serialize_trees([found.uuid])
    return JsonResponse(data)


@csrf_exempt  # it changes nothing; Django's refusal would be an HTML page
def unknown(request: HttpRequest) -> JsonResponse:
    """Any other URL under the API's prefix: a JSON answer too, never the site's HTML error page."""
    return JsonResponse(
        {
            "error": "not_found",
            "message": _("The task API has no %(path)s.") % {"path": repr(request.path[:100])},
        },
        status=404,
    )
