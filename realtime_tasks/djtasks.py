"""Status records for tasks of Django's own tasks framework (``django.tasks``, Django 6.0 and later).

Name ``TrackingBackend`` in ``TASKS`` with the alias of the site's real backend in ``OPTIONS["WRAPS"]``: every
task enqueued through it gets a ``UserTaskStatus`` record, and the framework's signals move it
(``djtasks_receivers.py``). Inside a task, ``status(context)`` returns the record. See docs/django-tasks.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import router, transaction
from django.tasks import Task, TaskContext, TaskResult, task_backends
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.signals import task_enqueued

from .canvas import existing_user
from .models import UserTaskStatus


@dataclass
class _Enqueuing:
    task: Task[Any, Any]
    user_id: Any
    name: str
    record: UserTaskStatus | None = None


# The enqueue under way in this context: the backend's ``task_enqueued`` signal creates its record, before a
# backend that runs the task at once (ImmediateBackend) starts it.
_enqueuing: ContextVar[_Enqueuing | None] = ContextVar("realtime_tasks_enqueuing", default=None)


class TrackingBackend(BaseTaskBackend):
    """A task backend that records each task it enqueues for its user, then hands it to the backend whose
    alias is ``OPTIONS["WRAPS"]``.

    The task's ``user_id`` argument names the owner; an optional ``user_task_name`` argument names the record
    (the function's name by default).
    """

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        wraps = self.options.get("WRAPS")
        if not isinstance(wraps, str) or not wraps:
            raise ImproperlyConfigured(
                f"TASKS[{alias!r}] uses TrackingBackend: its OPTIONS need 'WRAPS', the alias of the backend "
                "that runs the tasks."
            )
        if wraps == alias:
            raise ImproperlyConfigured(f"TASKS[{alias!r}] cannot wrap itself: name another backend in WRAPS.")
        self.wraps = wraps

    @property
    def wrapped(self) -> BaseTaskBackend:
        """The backend that runs the tasks."""
        backend = task_backends[self.wraps]
        if isinstance(backend, TrackingBackend):
            raise ImproperlyConfigured(
                f"TASKS[{self.alias!r}] wraps {self.wraps!r}, another TrackingBackend: wrap the real backend."
            )
        return backend

    # What the wrapped backend supports, this one does.
    @property
    def supports_defer(self) -> bool:  # type: ignore[override]
        return self.wrapped.supports_defer

    @property
    def supports_async_task(self) -> bool:  # type: ignore[override]
        return self.wrapped.supports_async_task

    @property
    def supports_get_result(self) -> bool:  # type: ignore[override]
        return self.wrapped.supports_get_result

    @property
    def supports_priority(self) -> bool:  # type: ignore[override]
        return self.wrapped.supports_priority

    def validate_task(self, task: Task[Any, Any]) -> None:
        self.wrapped.validate_task(task)

    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any, Any]:
        arguments = _arguments(task, args, kwargs)
        if "user_id" not in arguments:
            raise ValueError(
                f"{task.module_path} is enqueued through the tracking backend {self.alias!r}, so it needs a "
                "user_id argument: the user who owns its status record."
            )
        user_id = existing_user(arguments["user_id"])
        name = str(arguments.get("user_task_name") or task.name)
        # One transaction: a worker that sees the task also sees its record, and a failed enqueue leaves none.
        with (
            transaction.atomic(using=router.db_for_write(UserTaskStatus)),
            _enqueue(task, user_id, name) as now,
        ):
            result: TaskResult[Any, Any] = self.wrapped.enqueue(task, args, kwargs)
            if now.record is None:
                # The backend sent no task_enqueued signal: record the task now.
                _create(now, result)
        return result

    def get_result(self, result_id: str) -> TaskResult[Any, Any]:
        return self.wrapped.get_result(result_id)

    def check(self, **kwargs: Any) -> list[Any]:
        # The configuration is checked by realtime_tasks' own checks (djtasks_checks.py).
        return []


def status(context: TaskContext[Any, Any], total_steps: int | None = None) -> UserTaskStatus:
    """The status record of the running task whose context is ``context`` (``@task(takes_context=True)``).

    With ``total_steps``, the record's total becomes that many steps. Its ``increment_completed_steps()``
    raises ``TaskCanceledException`` once the record is canceled, which stops the task.
    """
    task_id = str(context.task_result.id)
    try:
        record = UserTaskStatus.objects.get(task_id=task_id, is_container=False)
    except UserTaskStatus.DoesNotExist:
        raise LookupError(
            f"Task {task_id} ({context.task_result.task.module_path}) has no status record: enqueue it "
            "through a backend named in TASKS with realtime_tasks.djtasks.TrackingBackend."
        ) from None
    if total_steps is not None:
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"total_steps must be a whole number of at least 1, not {total_steps!r}.")
        if total_steps != record.total_steps:
            record.increment_total_steps(total_steps - record.total_steps)
            record.refresh_from_db()
    return record


def _arguments(task: Task[Any, Any], args: Any, kwargs: Any) -> dict[str, Any]:
    """The task's arguments by name, whether given by position or by keyword."""
    signature = inspect.signature(task.func)
    try:
        if task.takes_context:
            bound = signature.bind_partial(None, *args, **kwargs)
        else:
            bound = signature.bind_partial(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{task.module_path} cannot take these arguments: {error}") from None
    return dict(bound.arguments)


@contextmanager
def _enqueue(task: Task[Any, Any], user_id: Any, name: str) -> Iterator[_Enqueuing]:
    now = _Enqueuing(task=task, user_id=user_id, name=name)
    token = _enqueuing.set(now)
    try:
        yield now
    finally:
        _enqueuing.reset(token)


def _create(now: _Enqueuing, result: TaskResult[Any, Any]) -> None:
    # A record made by hand: it is its own root, and its creation is announced once the enqueue commits.
    now.record = UserTaskStatus.objects.create(
        user_id=now.user_id,
        task_id=str(result.id),
        task_class=now.task.module_path,
        name=now.name,
        total_steps=1,
    )


def enqueued(sender: Any, task_result: TaskResult[Any, Any], **kwargs: Any) -> None:
    """Called by the wrapped backend when it has stored the task: its record is created in the same
    transaction, before the task can start."""
    now = _enqueuing.get()
    if now is not None and now.record is None and task_result.task.func is now.task.func:
        _create(now, task_result)


task_enqueued.connect(enqueued, weak=False, dispatch_uid="realtime_tasks.djtasks.enqueued")
