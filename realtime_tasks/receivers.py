"""Celery signal receivers that move the records of running tasks, in worker processes."""

from __future__ import annotations

import contextlib
from typing import Any

from celery import Task
from celery.signals import task_failure, task_prerun, task_retry, task_revoked, task_success

from .exceptions import TaskCanceledException
from .models import UserTaskStatus
from .tasks import UserTaskMixin


def connect() -> None:
    task_prerun.connect(started, weak=False, dispatch_uid="realtime_tasks.started")
    task_success.connect(succeeded, weak=False, dispatch_uid="realtime_tasks.succeeded")
    task_failure.connect(failed, weak=False, dispatch_uid="realtime_tasks.failed")
    task_retry.connect(retrying, weak=False, dispatch_uid="realtime_tasks.retrying")
    task_revoked.connect(revoked, weak=False, dispatch_uid="realtime_tasks.revoked")


def started(sender: Task[Any, Any] | None = None, task: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    if isinstance(task, UserTaskMixin):
        # Canceled before it started: the revoke stops it, or its first progress call does.
        with contextlib.suppress(TaskCanceledException):
            task.status.start()


def succeeded(sender: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    if isinstance(sender, UserTaskMixin):
        sender.status.succeed()


def failed(
    sender: Task[Any, Any] | None = None, task_id: str | None = None, exception: Any = None, **kwargs: Any
) -> None:
    # Also sent by the worker's main process when a child process dies under the task (WorkerLostError).
    if isinstance(sender, UserTaskMixin) and not isinstance(exception, TaskCanceledException):
        _fail(task_id, str(exception) or type(exception).__name__)


def retrying(sender: Task[Any, Any] | None = None, request: Any = None, **kwargs: Any) -> None:
    if isinstance(sender, UserTaskMixin):
        status = UserTaskStatus.objects.filter(task_id=request.id).first()
        if status is not None:
            status.retry()


def revoked(
    sender: Task[Any, Any] | None = None, request: Any = None, expired: bool = False, **kwargs: Any
) -> None:
    if isinstance(sender, UserTaskMixin):
        _fail(request.id, "The task expired before it ran" if expired else "The task was revoked")


def _fail(task_id: str | None, message: str) -> None:
    status = UserTaskStatus.objects.filter(task_id=task_id).first()
    if status is not None:
        status.fail(message)
