"""The canvases the demo page starts, one per button, and its task of Django's own tasks framework."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import chain, chord, group
from django.apps import apps

from .tasks import work


def _canvases(user_id: int) -> dict[str, tuple[str, Callable[[], Any]]]:
    def w(label: str, steps: int = 5, **kwargs: Any) -> Any:
        return work.si(user_id=user_id, label=label, steps=steps, **kwargs)

    return {
        "long": ("One long task", lambda: w("Crunch numbers", 100, pause=0.05)),
        "report": (
            "The chain from the documentation",
            lambda: chain(
                w("Gather data", user_task_name="Prepare report for demo"),
                w("Render charts", 8),
                w("Send", 2),
            ),
        ),
        "group": ("A group", lambda: group(w(f"Thumbnail {n}", 4) for n in range(1, 7))),
        "chord": ("A chord", lambda: chord([w("Fetch A"), w("Fetch B", 8), w("Fetch C", 3)], w("Merge", 4))),
        "nested": (
            "A chain of chords of groups",
            lambda: chain(
                chord([group(w("Fetch A"), w("Fetch B")), w("Fetch C", 3)], w("Merge", 2)),
                chord([group(w("Resize", 4), w("Compress", 6)), w("Index", 2)], w("Upload", 3)),
            ),
        ),
        "failing": (
            "A failing task",
            lambda: chain(w("Prepare", 3), w("Print", 2, fail="Out of paper"), w("Mail")),
        ),
        "retrying": ("A task that retries", lambda: w("Call a flaky service", 3, retries=2)),
        "cancel": ("A long task to cancel", lambda: w("Slow export", 600, pause=0.1)),
        "many": ("A group of 500 tasks", lambda: group(w(f"Item {n}", 1, pause=0.01) for n in range(500))),
    }


def _django_tasks(user_id: int) -> dict[str, tuple[str, Callable[[], Any]]]:
    """The ``django.tasks`` task, enqueued through the TrackingBackend of ``TASKS`` (Django 6.0+)."""
    if not apps.is_installed("django_tasks_db"):
        return {}
    from .djtasks import tidy_up

    return {
        "djtask": (
            "A django.tasks task",
            lambda: tidy_up.enqueue(user_id=user_id, user_task_name="Tidy up with django.tasks"),
        )
    }


def titles(user_id: int) -> dict[str, str]:
    return {key: title for key, (title, _) in {**_canvases(user_id), **_django_tasks(user_id)}.items()}


def start(name: str, user_id: int) -> Any:
    """Publish the canvas ``name`` for the user, or enqueue the django.tasks task; KeyError for an unknown
    name."""
    canvases = _canvases(user_id)
    if name in canvases:
        return canvases[name][1]().apply_async()
    return _django_tasks(user_id)[name][1]()
