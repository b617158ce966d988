"""System checks of the ``TASKS`` backends that wrap another in ``realtime_tasks.djtasks.TrackingBackend``."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

TRACKING = "realtime_tasks.djtasks.TrackingBackend"
# Backends known to send task_started and task_finished around every task they run.
SENDS_SIGNALS = frozenset(
    {
        "django.tasks.backends.immediate.ImmediateBackend",
        "django_tasks_db.DatabaseBackend",
        "django_tasks_db.backend.DatabaseBackend",
    }
)
NEVER_RUNS = frozenset({"django.tasks.backends.dummy.DummyBackend"})


def register() -> None:
    checks.register(check_task_backends)


def _is_tracking(path: Any) -> bool:
    if not isinstance(path, str):
        return False
    if path == TRACKING:
        return True
    try:
        backend = import_string(path)
    except ImportError:
        return False
    from .djtasks import TrackingBackend

    return isinstance(backend, type) and issubclass(backend, TrackingBackend)


def check_task_backends(**kwargs: Any) -> list[checks.CheckMessage]:
    if django.VERSION < (6, 0):
        return []
    backends = getattr(settings, "TASKS", {})
    messages: list[checks.CheckMessage] = []
    for alias, params in backends.items():
        if not _is_tracking(params.get("BACKEND")):
            continue
        wraps = params.get("OPTIONS", {}).get("WRAPS")
        wrapped = backends.get(wraps) if isinstance(wraps, str) else None
        if wrapped is None or wraps == alias or _is_tracking(wrapped.get("BACKEND")):
            messages.append(
                checks.Error(
                    f"TASKS[{alias!r}] is a TrackingBackend whose OPTIONS['WRAPS'] ({wraps!r}) is not "
                    "the alias of another, non-tracking backend in TASKS.",
                    hint='For example: "OPTIONS": {"WRAPS": "database"}, with TASKS["database"] the backend '
                    "that runs the tasks.",
                    id="realtime_tasks.E010",
                )
            )
        elif wrapped.get("BACKEND") in NEVER_RUNS:
            messages.append(
                checks.Warning(
                    f"TASKS[{alias!r}] wraps {wraps!r}, a {wrapped['BACKEND']}: it never runs tasks, so "
                    "their records stay Pending.",
                    id="realtime_tasks.W010",
                )
            )
        elif wrapped.get("BACKEND") not in SENDS_SIGNALS:
            messages.append(
                checks.Warning(
                    f"TASKS[{alias!r}] wraps {wraps!r}, a {wrapped.get('BACKEND')}, which is not known to "
                    "send django.tasks' task_started and task_finished signals: its tasks' records move only "
                    "if it does.",
                    hint="Once you know it sends both around every task, silence this warning with "
                    "SILENCED_SYSTEM_CHECKS = ['realtime_tasks.W011'].",
                    id="realtime_tasks.W011",
                )
            )
    return messages
