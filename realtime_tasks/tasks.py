from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.db.models import Q
from django.utils.timezone import now

from .batching import writer
from .conf import conf
from .models import UserTaskStatus

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        owner = next(klass for klass in cls.__mro__ if "apply_async" in vars(klass))
        if not issubclass(owner, UserTaskMixin):
            # Task listed before the mixin (the way django-user-tasks declares its own UserTask): Task's
            # apply_async would publish past the record, so the mixin's goes in front of it.
            publish = vars(owner)["apply_async"]

            @functools.wraps(publish)
            def apply_async(
                self: Any, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any
            ) -> Any:
                publishing = functools.partial(publish, self)
                return _record_then_publish(self, publishing, args, kwargs, task_id, options)

            cls.apply_async = apply_async  # type: ignore[method-assign]

    @property
    def status(self) -> UserTaskStatus:
        """The status record of the task's current run.

        In a worker, the record's changes are written with the other events of the worker process, once per
        ``REALTIME_TASKS_WRITE_WINDOW`` (batching.py); run eagerly, inside the caller's transaction, at once.
        """
        request = self.request
        cached: UserTaskStatus | None = getattr(request, "realtime_tasks_status", None)
        if cached is not None and cached.task_id == request.id:
            return cached
        # Read here: the request belongs to this thread, and the lookup may run on the writer's.
        lookup = functools.partial(self.find_or_record, request.id, request.args, request.kwargs)
        if request.is_eager or conf.WRITE_WINDOW <= 0:
            status = lookup()  # run eagerly, inside the caller's transaction: written at once
        else:
            # In a worker: read when a field is, on the writer's thread, whose connection outlives Celery's
            # closing of the task thread's; its changes go to the writer's batches.
            status = UserTaskStatus.of_running_task(request.id, writer, lookup)
        request.realtime_tasks_status = status
        return status

    def find_or_record(self, task_id: str, args: Any, kwargs: Any) -> UserTaskStatus:
        """The record of the task ``task_id``, created now if its publisher did not (``canvas.record_leaf``):
        a task published past ``apply_async`` (``send_task`` by name, eager mode)."""
        from .canvas import record_leaf

        found = UserTaskStatus.objects.filter(task_id=task_id).first()
        return found or record_leaf(self, task_id, args or (), kwargs or {}, lazily=True)

    def apply_async(
        self, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any
    ) -> Any:
        publish = super().apply_async  # type: ignore[misc]
        return _record_then_publish(self, publish, args, kwargs, task_id, options)


def _record_then_publish(
    task: Any,
    publish: Callable[..., Any],
    args: Any,
    kwargs: Any,
    task_id: str | None,
    options: dict[str, Any],
) -> Any:
    """Create the record of a task published on its own, then publish it.

    Not for a task inside a canvas being published (its tree is recorded whole), nor for the next step of a
    canvas that a worker publishes (Celery passes its ``parent_id``): that record exists already.
    """
    from celery.utils import uuid

    from .canvas import publishing, record_leaf

    if not publishing() and not (task_id and options.get("parent_id")):
        task_id = task_id or uuid()
        record_leaf(task, task_id, args or (), kwargs or {})
    return publish(args, kwargs, task_id=task_id, **options)


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
    return roots.delete_trees()


@shared_task
def reconcile_user_tasks() -> str:
    """Finish the records of tasks that ended without their end being written (see ``reconcile.py``).

    Schedule it with Celery beat every ``REALTIME_TASKS_RECONCILE_INTERVAL`` seconds; returns what it did.
    """
    from .reconcile import reconcile

    return str(reconcile())
