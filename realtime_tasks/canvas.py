"""Status records for Celery canvases, created when a canvas is published.

How the publisher learns a canvas's whole shape: from the canvas itself. Under message protocol 2 the first
message of a canvas describes only part of it (a group's members are separate messages, later chain steps
are published by workers), so ``apply_async`` of chains, groups and chords is wrapped: the outermost call
walks the canvas as written, gives every tracked task its Celery task id in advance (Celery keeps an id
that is already set, in every shape), and creates all the records in one bulk insert before anything is
published. Nested calls, and the calls by which workers publish later steps, find the records already there.
"""

from __future__ import annotations

import functools
import uuid as uuid_module
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from celery import Signature
from celery.canvas import _chain, _chord, group, maybe_signature, maybe_unroll_group  # type: ignore[attr-defined]
from celery.utils import uuid
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from .changes import ancestors, announce_created
from .exceptions import CanvasError
from .models import UserTaskStatus

_publishing: ContextVar[bool] = ContextVar("realtime_tasks_publishing", default=False)


def publishing() -> bool:
    """Whether the current call is inside the publication of a tracked canvas."""
    return _publishing.get()


def install() -> None:
    """Wrap ``apply_async`` of Celery's chain, group and chord so that publishing one records its tree."""
    for cls in (_chain, group, _chord):
        if not getattr(cls.apply_async, "realtime_tasks", False):
            cls.apply_async = _tracking(cls.apply_async)  # type: ignore[method-assign]


def _tracking(apply_async: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(apply_async)
    def wrapper(self: Signature, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if _publishing.get() or self.app.conf.task_always_eager:
            return apply_async(self, args, kwargs, **options)
        token = _publishing.set(True)
        try:
            record_canvas(self, body=(kwargs or {}).get("body"), task_id=options.get("task_id"))
            return apply_async(self, args, kwargs, **options)
        finally:
            _publishing.reset(token)

    wrapper.realtime_tasks = True  # type: ignore[attr-defined]
    return wrapper


def record_canvas(canvas: Signature, *, body: Signature | None = None, task_id: str | None = None) -> None:
    """Create the status records of ``canvas`` (a chain, group or chord) unless they exist already."""
    tree = _Tree()
    top = tree.chord(canvas, body, task_id) if isinstance(canvas, _chord) else tree.node(canvas, task_id)
    if top is None:
        return

    def recorded() -> bool:
        return bool(tree.preset_ids) and UserTaskStatus.objects.filter(task_id=tree.preset_ids[0]).exists()

    if recorded():
        return  # a worker publishing the next part of a canvas that is already recorded
    user_id = _owner(tree.user_ids)
    records = tree.flatten(top, user_id)
    try:
        with transaction.atomic():
            _insert(records)
            announce_created(records)
    except IntegrityError:
        # The canvas was published inside a transaction that had not committed when a worker ran its first
        # step: the insert waited for it, and its records are there now.
        if recorded():
            return
        raise


def record_leaf(
    task: Any, task_id: str, args: Iterable[Any], kwargs: dict[str, Any], *, lazily: bool = False
) -> UserTaskStatus:
    """Get or create the record of one task published outside a canvas.

    ``lazily`` is for a worker that starts a task whose record it cannot see: perhaps the publisher's
    transaction has not committed yet. The insert then waits for that transaction, and keeps its record if
    it commits.
    """
    if not lazily:
        existing = UserTaskStatus.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing  # a later step of a recorded canvas, or a retry
    tree = _Tree()
    record = tree.leaf(task, task_id, tuple(args), kwargs)
    user_id = tree.user_ids[0] if lazily else _owner(tree.user_ids)
    [record] = tree.flatten(record, user_id)
    UserTaskStatus.objects.bulk_create([record], ignore_conflicts=True)
    stored = UserTaskStatus.objects.get(task_id=task_id)
    if stored.uuid == record.uuid:
        announce_created([stored])
    return stored


def _insert(records: list[UserTaskStatus]) -> None:
    """Insert a tree's records (parents first): each learns its parent's primary key."""
    if connection.vendor == "postgresql":
        _copy(records)
        return
    by_uuid = {record.uuid: record for record in records}
    levels: dict[int, list[UserTaskStatus]] = {}
    for record in records:
        levels.setdefault(record.path.count("/"), []).append(record)
    for depth in sorted(levels):
        _link_parents(levels[depth], by_uuid)
        UserTaskStatus.objects.bulk_create(levels[depth], batch_size=1000)


def _copy(records: list[UserTaskStatus]) -> None:
    """The PostgreSQL way: the primary keys drawn from the table's sequence first, then every record in one
    COPY. A multi-row INSERT of a group of 1,000 tasks cost 10 times its CPU time, in the publisher (the
    adaptation of 21,000 parameters) and in the database (their parsing and planning); bench/README.md.
    Every value is one psycopg adapts as it is: uuids, aware datetimes, numbers, text."""
    meta = UserTaskStatus._meta
    quote = connection.ops.quote_name
    fields = meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(records)],
        )
        for record, (pk,) in zip(records, cursor.fetchall(), strict=True):
            record.pk = pk
        _link_parents(records, {record.uuid: record for record in records})
        columns = ", ".join(quote(str(field.column)) for field in fields)
        # COPY goes past Django's cursor wrapper: its errors are turned into Django's here (an IntegrityError
        # is what record_canvas recovers from).
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
        ):
            for record in records:
                copy.write_row([getattr(record, field.attname) for field in fields])
    for record in records:
        record._state.adding = False
        record._state.db = connection.alias


def _link_parents(records: Iterable[UserTaskStatus], by_uuid: dict[uuid_module.UUID, UserTaskStatus]) -> None:
    """Give each of ``records`` its parent's primary key, from ``by_uuid``."""
    for record in records:
        if record.path:
            record.parent_id = by_uuid[ancestors(record.path)[-1]].pk


def _owner(user_ids: list[Any]) -> Any:
    owners = {str(user_id) for user_id in user_ids}
    if len(owners) > 1:
        raise CanvasError(
            f"All tracked tasks of a canvas must belong to one user; this one mixes users {sorted(owners)}"
        )
    return existing_user(user_ids[0])


def existing_user(user_id: Any) -> Any:
    """``user_id``, if it is the primary key of a user; else ``CanvasError`` (a ``ValueError``)."""
    try:
        exists = get_user_model().objects.filter(pk=user_id).exists()
    except (TypeError, ValueError, ValidationError):
        exists = False  # not even a primary key of the user model's type
    if not exists:
        raise CanvasError(f"Invalid user_id: no user has the primary key {user_id!r}")
    return user_id


class _Tree:
    """A canvas as Celery runs it, as unsaved records with their children (in order) and totals."""

    def __init__(self) -> None:
        self.user_ids: list[Any] = []
        self.preset_ids: list[str] = []
        self.children: dict[int, list[UserTaskStatus]] = {}
        # The first ``user_task_name`` found in each subtree, which names the containers above it.
        self.hints: dict[int, str] = {}

    def node(self, sig: Any, task_id: str | None = None) -> UserTaskStatus | None:
        sig = maybe_signature(sig)
        if isinstance(sig, _chain):
            return self.chain(sig, task_id)
        if isinstance(sig, group):
            return self.group(sig, task_id)
        if isinstance(sig, _chord):
            return self.chord(sig, None, task_id)
        from .tasks import UserTaskMixin

        task = sig.app.tasks.get(sig.task)
        if not isinstance(task, UserTaskMixin):
            return None  # not a user task, or not one this process knows
        if task_id is None and sig.options.get("task_id") is None:
            sig.set(task_id=uuid())
        else:
            sig.set(task_id=task_id or sig.options["task_id"])
            self.preset_ids.append(sig.options["task_id"])
        return self.leaf(task, sig.options["task_id"], tuple(sig.args), dict(sig.kwargs))

    def leaf(self, task: Any, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> UserTaskStatus:
        arguments = task.arguments_as_dict(*args, **kwargs)
        if "user_id" not in arguments:
            raise CanvasError(f"Each call of the user task {task.name} must include a user_id argument")
        self.user_ids.append(arguments["user_id"])
        record = UserTaskStatus(
            task_id=task_id,
            task_class=task.name,
            name=task.generate_name(arguments),
            total_steps=task.calculate_total_steps(arguments),
        )
        self.hints[id(record)] = kwargs.get("user_task_name") or ""
        return record

    def chain(self, sig: _chain, task_id: str | None) -> UserTaskStatus | None:
        steps: list[Any] = []
        for step in _spliced(sig.tasks):
            # Celery turns a group followed by another step into a chord, from the end of the chain.
            if isinstance(step, group) and steps:
                steps.append(_chord(step, body=steps.pop()))
            else:
                steps.append(step)
        steps.reverse()
        nodes = [
            self.node(step, task_id if index == len(steps) - 1 else None) for index, step in enumerate(steps)
        ]
        children = [node for node in nodes if node is not None]
        return self.container(UserTaskStatus.CHAIN, children, children[-1:])

    def group(self, sig: group, task_id: str | None) -> UserTaskStatus | None:
        children = [node for node in map(self.node, sig.tasks) if node is not None]
        record = self.container(UserTaskStatus.GROUP, children, children)
        if record is not None:
            record.task_id = task_id or sig.options.get("task_id") or uuid()
            sig.set(task_id=record.task_id)
        return record

    def chord(self, sig: _chord, body: Any, task_id: str | None) -> UserTaskStatus | None:
        header_tasks = sig.tasks.tasks if isinstance(sig.tasks, group) else sig.tasks
        members = [node for node in map(self.node, header_tasks) if node is not None]
        header = self.container(UserTaskStatus.GROUP, members, members)
        body_node = self.node(body if body is not None else sig.body, task_id)
        children = [node for node in (header, body_node) if node is not None]
        required = [body_node] if body_node is not None else children
        return self.container(UserTaskStatus.CHORD, children, required)

    def container(
        self, kind: str, children: list[UserTaskStatus], required: list[UserTaskStatus]
    ) -> UserTaskStatus | None:
        if not children:
            return None
        record = UserTaskStatus(
            task_id=uuid(),
            task_class=kind,
            is_container=True,
            total_steps=sum(child.total_steps for child in children),
            children_left=len(required),
        )
        completing = {id(child) for child in required}
        for position, child in enumerate(children):
            child.position = position
            child.completes_parent = id(child) in completing
        self.children[id(record)] = children
        self.hints[id(record)] = next((hint for hint in map(self.hints.get, map(id, children)) if hint), "")
        record.name = self.hints[id(record)]
        return record

    def flatten(self, top: UserTaskStatus, user_id: Any) -> list[UserTaskStatus]:
        """The records of the tree under ``top``, parents first, with their owner, root and path."""
        records = []
        pending = [(top, "")]
        while pending:
            record, path = pending.pop()
            record.user_id = user_id
            record.root_id = top.uuid
            record.path = path
            records.append(record)
            below = f"{path}{record.uuid.hex}/"
            pending.extend((child, below) for child in reversed(self.children.get(id(record), [])))
        return records


def _spliced(tasks: Iterable[Any]) -> list[Any]:
    """A chain's steps with nested chains spliced in and one-task groups unrolled, last step first."""
    steps: list[Any] = []
    for task in tasks:
        task = maybe_signature(task)
        if isinstance(task, _chain):
            steps.extend(reversed(_spliced(task.tasks)))
        elif isinstance(task, group):
            steps.append(maybe_unroll_group(task))
        else:
            steps.append(task)
    steps.reverse()
    return steps
