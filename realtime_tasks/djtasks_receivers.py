"""Receivers of ``django.tasks`` signals that move the records of tasks enqueued through a TrackingBackend,
in whatever process runs them (Django 6.0 and later; nothing on older versions)."""

from __future__ import annotations

from typing import Any

import django

from .models import UserTaskStatus

# Django sends these signals with each backend's class as sender; a task without a record is not tracked.
HAS_TASKS = django.VERSION >= (6, 0)


def connect() -> None:
    if not HAS_TASKS:
        return
    from django.tasks.signals import task_finished, task_started

    task_started.connect(started, weak=False, dispatch_uid="realtime_tasks.djtasks.started")
    task_finished.connect(finished, weak=False, dispatch_uid="realtime_tasks.djtasks.finished")


def _record(task_result: Any) -> UserTaskStatus | None:
    return UserTaskStatus.objects.filter(task_id=str(task_result.id), is_container=False).first()


def started(sender: Any = None, task_result: Any = None, **kwargs: Any) -> None:
    """Called when a backend starts a task. On a canceled record ``start()`` raises
    ``TaskCanceledException``: a backend that sends this signal where it catches the task's errors (the
    database backend's worker does) then records the task as failed without running it."""
    record = _record(task_result)
    if record is not None:
        record.start()


def finished(sender: Any = None, task_result: Any = None, **kwargs: Any) -> None:
    """Called when a task has ended: its record succeeds or fails with the task's result."""
    from django.tasks import TaskResultStatus

    record = _record(task_result)
    if record is None:
        return
    if task_result.status == TaskResultStatus.SUCCESSFUL:
        record.succeed()
    elif task_result.status == TaskResultStatus.FAILED:
        # A record canceled already stays canceled: fail() leaves a finished record as it is.
        record.fail(_error_message(task_result))


def _error_message(task_result: Any) -> str:
    """The last line of the task's traceback ("ValueError: boom"), or the exception's class."""
    if not task_result.errors:
        return "The task failed."
    error = task_result.errors[-1]
    lines = [line for line in error.traceback.splitlines() if line.strip()]
    return str(lines[-1].strip() if lines else error.exception_class_path)
