from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.db.models import Q
from django.utils.timezone import now

from .conf import conf
from .models import UserTaskStatus, delete_trees
from .progress import hold_progress

_signatures: dict[type[Any], inspect.Signature] = {}


def _run_signature(cls: type[Any]) -> inspect.Signature:
    """The signature of a task class's ``run``, without ``self`` for a bound task."""
    if cls not in _signatures:
        parameters = list(inspect.signature(cls.run).parameters.values())
        if not isinstance(inspect.getattr_static(cls, "run"), staticmethod):
            parameters = parameters[1:]
        _signatures[cls] = inspect.Signature(parameters)
    return _signatures[cls]


class UserTaskMixin:
    """Mixin for user-triggered Celery tasks: each call gets a ``UserTaskStatus`` record.

    The task must take a ``user_id`` argument (positional or keyword): the record belongs to that user. A
    ``user_task_name`` keyword argument names the chain, group or chord containing the task.
    """

    request: Any
    name: str
    run: Callable[..., Any]

    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        """Called to name the task's record; by default the task class's name."""
        return cls.__name__.split(".")[-1]

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        """Called to give the task's record its total steps; by default 1."""
        return 1

    @classmethod
    def arguments_as_dict(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The task's arguments by name, whether they were given by position or by keyword.

        Arguments a canvas fills in when it runs (the result of a previous chain step) may be missing.
        """
        bound = _run_signature(cls).bind_partial(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    @property
    def status(self) -> UserTaskStatus:
        """The status record of the task's current run."""
        task_id = self.request.id
        cached: UserTaskStatus | None = getattr(self.request, "realtime_tasks_status", None)
        if cached is not None and cached.task_id == task_id:
            return cached
        try:
            status = UserTaskStatus.objects.get(task_id=task_id)
        except UserTaskStatus.DoesNotExist:
            # Published without going through apply_async (send_task by name, or eager mode): record it now.
            from .canvas import record_leaf

            status = record_leaf(
                self, task_id, self.request.args or (), self.request.kwargs or {}, lazily=True
            )
        # Run eagerly, the task is inside its caller's transaction: no other thread may write for it.
        hold_progress(status, 0 if self.request.is_eager else conf.PROGRESS_WINDOW)
        self.request.realtime_tasks_status = status
        return status

    def apply_async(
        self, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any
    ) -> Any:
        from celery.utils import uuid

        from .canvas import publishing, record_leaf

        if not publishing():
            task_id = task_id or uuid()
            record_leaf(self, task_id, args or (), kwargs or {})
        return super().apply_async(args, kwargs, task_id=task_id, **options)  # type: ignore[misc]


class UserTask(UserTaskMixin, Task):  # type: ignore[misc,type-arg]
    """Base class for user-triggered Celery tasks (see ``UserTaskMixin``)."""

    abstract = True


@shared_task
def purge_old_user_tasks() -> int:
    """Delete the trees created more than ``REALTIME_TASKS_MAX_AGE`` ago, with their artifact files, unless
    they are still running (unfinished and changed within that age).

    Returns the number of records deleted.
    """
    limit = now() - conf.MAX_AGE
    # A root changes with every step below it: an old root still changing belongs to a tree still running.
    roots = UserTaskStatus.objects.filter(
        Q(state__in=UserTaskStatus.TERMINAL_STATES) | Q(modified__lt=limit), parent=None, created__lt=limit
    )
    return delete_trees(roots)
