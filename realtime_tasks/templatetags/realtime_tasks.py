"""``{% task_progress status %}`` and ``{% task_progress_all %}``: the <task-progress> element, wired."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ..conf import conf

register = template.Library()


def _element(context: dict[str, Any], root: str | None, cancelable: bool) -> SafeString:
    api = reverse("realtime_tasks:trees").removesuffix("trees/")
    request = context.get("request")
    token = get_token(request) if request is not None else ""
    return format_html(
        '<script type="module" src="{}"></script>'
        '<task-progress src="{}" api="{}" csrf-token="{}"{}{}></task-progress>',
        static("realtime_tasks/task-progress.js"),
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
