"""Celery signal receivers that move the records of running tasks, in worker processes.

In the process running a task, its events go to the process's writer (batching.py) by task id: the task's
record is not even read unless its code asks for ``self.status``. Elsewhere (the worker's main process,
reporting a task lost with its process or revoked before it ran; eager runs) they are written at once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import Any

from celery import Task
from celery.canvas import _chain, _chord, group, maybe_signature  # type: ignore[attr-defined]
from celery.signals import (
    task_failure,
    task_prerun,
    task_retry,
    task_revoked,
    task_success,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from django.db import connections
from django.utils.timezone import now

from .batching import writer
from .changes import Event, Kind
from .exceptions import TaskCanceledException
from .models import UserTaskStatus
from .tasks import UserTaskMixin

logger = logging.getLogger(__name__)


def connect() -> None:
    task_prerun.connect(started, weak=False, dispatch_uid="realtime_tasks.started")
    task_success.connect(succeeded, weak=False, dispatch_uid="realtime_tasks.succeeded")
    task_failure.connect(failed, weak=False, dispatch_uid="realtime_tasks.failed")
    task_retry.connect(retrying, weak=False, dispatch_uid="realtime_tasks.retrying")
    task_revoked.connect(revoked, weak=False, dispatch_uid="realtime_tasks.revoked")
    # A process that stops writes what it holds first.
    worker_process_shutdown.connect(flush, weak=False, dispatch_uid="realtime_tasks.flush_process")
    worker_shutdown.connect(flush, weak=False, dispatch_uid="realtime_tasks.flush_worker")
    worker_ready.connect(reconcile_at_start, weak=False, dispatch_uid="realtime_tasks.reconcile")


def started(sender: Task[Any, Any] | None = None, task: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    if isinstance(task, UserTaskMixin):
        # Canceled before it started: the revoke stops it, or its first progress call does.
        # Marks the process that runs the task: only there do its events go to the writer.
        task.request.realtime_tasks_running = True
        with contextlib.suppress(TaskCanceledException):
            _record_event(task, task.request.id, Kind.START, now())


def succeeded(sender: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    if isinstance(sender, UserTaskMixin):
        _record_event(sender, sender.request.id, Kind.SUCCEED)


def failed(
    sender: Task[Any, Any] | None = None, task_id: str | None = None, exception: Any = None, **kwargs: Any
) -> None:
    # Also sent by the worker's main process when a child process dies under the task (WorkerLostError).
    if isinstance(exception, TaskCanceledException) or sender is None:
        return
    message = str(exception) or type(exception).__name__
    if isinstance(sender, UserTaskMixin):
        _record_event(sender, task_id, Kind.FAIL, message)
    else:
        _fail_untracked(sender, f"{sender.name} failed: {message}")


def retrying(sender: Task[Any, Any] | None = None, request: Any = None, **kwargs: Any) -> None:
    if isinstance(sender, UserTaskMixin):
        _record_event(sender, request.id, Kind.RETRY)


def revoked(
    sender: Task[Any, Any] | None = None, request: Any = None, expired: bool = False, **kwargs: Any
) -> None:
    if isinstance(sender, UserTaskMixin):
        message = "The task expired before it ran" if expired else "The task was revoked"
        _record_event(sender, request.id, Kind.FAIL, message)


def flush(**kwargs: Any) -> None:
    writer.flush()


def reconcile_at_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts finishes what a dead one left unwritten (in a thread: the worker goes on)."""
    from .reconcile import reconcile

    threading.Thread(target=_quietly(reconcile), name="realtime-tasks-reconcile", daemon=True).start()


def _quietly(function: Any) -> Any:
    def run() -> None:
        try:
            function()
        except Exception:
            logger.exception("Reconciling task records failed")
        finally:
            connections.close_all()

    return run


def _record_event(task: UserTaskMixin, task_id: str | None, kind: Kind, value: Any = None) -> None:
    if task_id is None:
        return
    request = task.request
    running_here = request.id == task_id and getattr(request, "realtime_tasks_running", False)
    if not running_here:
        # The worker's main process, reporting a task lost with its pool process or revoked before it ran:
        # at once (it forks pool processes, so it keeps no writer thread).
        found = UserTaskStatus.objects.filter(task_id=task_id).first()
        if found is not None:
            found._change(kind, value, at_once=True)
        return
    status = task.status
    if status._writer is None:  # run eagerly, or not batching: at once
        status._change(kind, value, at_once=True)
        return
    create = None
    if kind is Kind.START and not status.is_read:
        # Its record, not read yet, may not exist: created when its publisher did not.
        create = functools.partial(task.find_or_record, task_id, request.args, request.kwargs)
    writer.submit(Event.of(status, kind, value, create=create))


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
    pks = {record.pk for record in held_up}
    for record in held_up:
        if record.parent_id not in pks:  # canceling a record cancels what is below it
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
