"""Celery signal receivers that move the records of running tasks, in worker processes."""

from __future__ import annotations

import contextlib
from typing import Any

from celery import Task
from celery.canvas import _chain, _chord, group, maybe_signature  # type: ignore[attr-defined]
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
    if isinstance(exception, TaskCanceledException) or sender is None:
        return
    message = str(exception) or type(exception).__name__
    if isinstance(sender, UserTaskMixin):
        _fail(sender, task_id, message)
    else:
        _fail_untracked(sender, f"{sender.name} failed: {message}")


def retrying(sender: Task[Any, Any] | None = None, request: Any = None, **kwargs: Any) -> None:
    if isinstance(sender, UserTaskMixin):
        status = _record(sender, request.id)
        if status is not None:
            status.retry()


def revoked(
    sender: Task[Any, Any] | None = None, request: Any = None, expired: bool = False, **kwargs: Any
) -> None:
    if isinstance(sender, UserTaskMixin):
        _fail(sender, request.id, "The task expired before it ran" if expired else "The task was revoked")


def _record(task: UserTaskMixin, task_id: str | None) -> UserTaskStatus | None:
    """The record of ``task_id``: in the process running it, the task's own ``status``, with the progress
    steps it holds back; elsewhere (the worker's main process, reporting a lost or revoked task), the
    database's."""
    if task_id is not None and task.request.id == task_id:
        return task.status
    return UserTaskStatus.objects.filter(task_id=task_id).first()


def _fail(task: UserTaskMixin, task_id: str | None, message: str) -> None:
    status = _record(task, task_id)
    if status is not None:
        status.fail(message)


def _fail_untracked(task: Task[Any, Any], message: str) -> None:
    """A task without a record failed inside a canvas: what it held up will never run.

    That is the rest of its chain and its chord's body, which Celery carries in the request, the next step
    last. The container of the failed task (the parent of the next step's records) fails with ``message``,
    and every record held up ends ``Canceled``: nothing is left ``Pending``.
    """
    request: Any = task.request
    following = [*reversed(request.chain or []), *([request.chord] if request.chord else [])]
    steps = [_task_ids(maybe_signature(step, app=task.app)) for step in following]
    held_up = list(
        UserTaskStatus.objects.filter(task_id__in=set().union(*steps)).exclude(
            state__in=UserTaskStatus.TERMINAL_STATES
        )
    )
    if not held_up:
        return
    # The records of the first step held up that has some: their shared ancestors, root first, end with that
    # step's top record, whose parent is the failed task's container.
    next_step = next(ids for ids in steps if any(record.task_id in ids for record in held_up))
    lineages = [record.lineage for record in held_up if record.task_id in next_step]
    shared = [column[0] for column in zip(*lineages, strict=False) if len(set(column)) == 1]
    if len(shared) > 1:
        UserTaskStatus.objects.get(uuid=shared[-2]).fail(message)
    uuids = {record.uuid for record in held_up}
    for record in held_up:
        if record.parent_id not in uuids:  # canceling a record cancels what is below it
            record.cancel()


def _task_ids(signature: Any) -> set[str]:
    """The task ids (and group ids) in a signature, nested canvases included."""
    ids = {signature.options["task_id"]} if signature.options.get("task_id") else set()
    if isinstance(signature, _chord):
        header = signature.tasks
        parts = [*(header.tasks if isinstance(header, group) else header), signature.body]
    elif isinstance(signature, _chain | group):
        parts = list(signature.tasks)
    else:
        parts = []
    # A step that Celery has turned into the head of the rest of its chain carries that rest in its options.
    parts += signature.options.get("chain") or []
    for part in parts:
        ids |= _task_ids(maybe_signature(part, app=signature.app))
    return ids
