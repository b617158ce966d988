"""``{% task_progress status %}`` and ``{% task_progress_all %}``: the <task-progress> element, wired."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ..conf import conf

try:
    from django.middleware.csp import get_nonce
except ImportError:  # Django < 6.0 has no CSP of its own.
    get_nonce = None  # type: ignore[assignment]

register = template.Library()


def csp_nonce(request: HttpRequest | None) -> str | None:
    """The request's Content Security Policy nonce, from django-csp or Django's own CSP (6.0+), if any.

    Reading it is what makes either middleware put it into the policy, so it is read only to be written.
    """
    if request is None:
        return None
    # django-csp's lazy nonce; Django's own middleware does not set this attribute.
    nonce = getattr(request, "csp_nonce", None)
    if nonce is None and get_nonce is not None:
        nonce = get_nonce(request)
    return None if nonce is None else str(nonce)


def _element(context: dict[str, Any], root: str | None, cancelable: bool) -> SafeString:
    api = reverse("realtime_tasks:trees").removesuffix("trees/")
    request = context.get("request")
    token = get_token(request) if request is not None else ""
    nonce = csp_nonce(request)
    return format_html(
        '<script type="module" src="{}"{}></script>'
        '<task-progress src="{}" api="{}" csrf-token="{}"{}{}></task-progress>',
        static("realtime_tasks/task-progress.js"),
        format_html(' nonce="{}"', nonce) if nonce else "",
        conf.WEBSOCKET_PATH,
        api,
        token,
        format_html(' root="{}"', root) if root else "",
        mark_safe(" cancelable") if cancelable else "",
    )


@register.simple_tag(takes_context=True)
def task_progress(context: dict[str, Any], status: Any, cancelable: bool = False) -> SafeString:
    """The live tree of ``status`` (a record of it, or a root uuid)."""
    root = getattr(status, "root_id", status)
    return _element(context, str(root), cancelable)


@register.simple_tag(takes_context=True)
def task_progress_all(context: dict[str, Any], cancelable: bool = False) -> SafeString:
    """Every tree of the logged-in user, running first."""
    return _element(context, None, cancelable)
