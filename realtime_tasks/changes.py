"""The unit of work: events applied to status records in one transaction, with their roll-up.

Every change of a record goes through ``apply()``. The model's methods call it at once (in a web process, a
management command, a test); in a Celery worker, the process's writer (``batching.py``) calls it once per
window with every event its tasks produced. One call:

1. finds the records the events name (by uuid, or by Celery task id) and their ancestors' uuids from their
   paths (a path never changes, so it is read without a lock);
2. locks the leaves, then the containers (the ancestors and, for a cancel, the subtrees), each in primary-key
   order: every transaction takes its locks in the same order, so none waits for another that waits for it.
   A batch whose events all name running tasks by task id (a worker's usual batch) finds and locks its
   leaves in one query, on PostgreSQL its containers too (the ancestors read from the leaves' paths). When
   no event cancels and more than ``TOGETHER_MOST`` leaves change (a backlog), the leaves' changes are
   written before the containers are locked, so that other processes do not wait for a tree's containers
   through a long UPDATE;
3. applies the events in order to the locked rows, by the rules of docs/status-trees.md (sums, a terminal
   state entered once and never left, nothing moved backwards);
4. saves the changes, steps as relative increments: on PostgreSQL in one UPDATE for every record changed,
   elsewhere in one UPDATE per distinct change (records given the same change share it: a batch's roll-up
   is one per ancestor, not one per leaf); and advances the sequence of every tree it changed. These
   statements are SQL written by hand (docs/architecture.md says why);
5. once the transaction commits, copies the new values into the caller's instances and sends the signals:
   ``status_changed`` per record, ``changes_committed`` per tree, ``user_task_stopped`` per record that
   ended. The live layer is a receiver of ``changes_committed`` (``broadcast.Broadcaster.changes_committed``,
   connected in ``apps.py``), so a tree's change and its roll-up reach a browser in one message.
"""

from __future__ import annotations

import copy
import enum
import logging
import uuid as uuid_module
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import InterfaceError, OperationalError, connections, router, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils.timezone import now

from . import states
from .signals import changes_committed, status_changed, user_task_stopped

if TYPE_CHECKING:
    from .models import UserTaskStatus

logger = logging.getLogger(__name__)

# A change of at most this many leaves locks their containers with them and writes everything in one go; a
# bigger one (a backlog) writes its leaves before it locks their containers, so that a tree's containers are
# not held through a long UPDATE of leaves while other processes wait for them (bench fleet).
TOGETHER_MOST = 32


class Kind(enum.Enum):
    START = "start"
    STEPS = "steps"
    TOTAL = "total"
    STATE = "state"
    NAME = "name"
    SUCCEED = "succeed"
    FAIL = "fail"
    RETRY = "retry"
    CANCEL = "cancel"


@dataclass
class Event:
    """One thing that happened to a record: ``kind``, with its ``value`` (steps, a state, a name, a message,
    the time a task started).

    The record is named by ``uuid`` or by Celery ``task_id``. ``record`` is the caller's instance, brought up
    to date once the change commits. ``create`` makes the record when none has the task id (a task published
    past ``apply_async``): it is called before anything is locked.
    """

    kind: Kind
    value: Any = None
    uuid: uuid_module.UUID | None = None
    task_id: str | None = None
    record: UserTaskStatus | None = None
    create: Callable[[], Any] | None = None
    # A cancel that ends tasks which never ran revokes them (not done for the unreachable rest of a canvas).
    revoke: bool = True

    @classmethod
    def of(cls, record: UserTaskStatus, kind: Kind, value: Any = None, **options: Any) -> Event:
        if record._writer is not None or not record.is_read:
            # A running task's record (``task.status``), read or not: named by its task id, by which a
            # worker's batch finds and locks its leaves in one query.
            return cls(kind, value, task_id=record.task_id, record=record, **options)
        return cls(kind, value, uuid=record.uuid, record=record, **options)


@dataclass
class Outcome:
    """What a committed ``apply()`` did."""

    # Records whose task was canceled, named by an event that reports progress: the task must stop.
    canceled: set[uuid_module.UUID] = field(default_factory=set)
    # Events whose record does not exist (a tree deleted meanwhile).
    missing: list[Event] = field(default_factory=list)


class AmbiguousCommit(Exception):
    """The connection failed while committing: the change may or may not have been written."""


def apply(events: Sequence[Event], *, reconnect: bool = True) -> Outcome:
    """Apply ``events`` in one transaction (or inside the caller's); see the module's docstring.

    With ``reconnect``, a connection that fails before anything is committed (a restarted database, a
    proxy's timeout) is replaced once and the whole change tried again: nothing can count twice.
    """
    model = apps.get_model("realtime_tasks", "UserTaskStatus")
    using = router.db_for_write(model)
    retry = reconnect and not connections[using].in_atomic_block
    # A writer's usual batch: every event names a running task by its task id, and none cancels.
    fast = bool(events) and all(e.uuid is None and e.task_id and e.kind is not Kind.CANCEL for e in events)
    while True:
        work = _Work(model, events, using, fast=fast)
        try:
            with transaction.atomic(using=using):
                work.run()
                work.body_done = True
        except _NotAllLeaves:
            fast = False  # nothing was written: the batch goes the general way
            continue
        except (InterfaceError, OperationalError) as error:
            if work.body_done:
                raise AmbiguousCommit(str(error)) from error
            if not retry:
                raise
            retry = False
            connections[using].close()
            continue
        follow_up = work.unreachable()
        if follow_up:
            apply(follow_up, reconnect=reconnect)
        return work.outcome


class _Work:
    def __init__(
        self, model: type[UserTaskStatus], events: Sequence[Event], using: str, *, fast: bool = False
    ) -> None:
        self.model = model
        self.events = events
        self.using = using
        self.fast = fast
        self.now = now()
        self.outcome = Outcome()
        self.body_done = False
        self.rows: dict[uuid_module.UUID, UserTaskStatus] = {}
        self.by_task_id: dict[str, UserTaskStatus] = {}
        self.by_pk: dict[int, UserTaskStatus] = {}
        self.changed: dict[uuid_module.UUID, set[str]] = {}
        # Steps added per record and field, saved as F(field) + n.
        self.added: dict[uuid_module.UUID, dict[str, int]] = {}
        self.ended: list[UserTaskStatus] = []
        self.artifacts: list[Any] = []
        self.to_revoke: list[tuple[str, str]] = []
        self.mine: dict[uuid_module.UUID, list[UserTaskStatus]] = {}

    @property
    def objects(self) -> Any:
        return self.model._default_manager.using(self.using)

    # Finding and locking.

    def run(self) -> None:
        if self.fast:
            task_ids = list({event.task_id for event in self.events if event.task_id})
            split = len(task_ids) > TOGETHER_MOST
            above = self.lock_tasks(task_ids, with_ancestors=not split)
        else:
            wanted, leaves_only = self.find()
            self.lock(wanted, containers=False)
            split = leaves_only and len(self.rows) > TOGETHER_MOST
        if split:
            # Every event names a task (none cancels): the leaves' changes do not depend on their containers.
            # They are written first, and the containers locked last, just for their roll-up and the commit.
            leaves = {uuid: copy.copy(row) for uuid, row in self.rows.items()}
            self.apply()
            self.save_rows(lambda record: True)
            self.reset(leaves)
        if self.fast:
            for row in self.locked("uuid", above, containers=True):  # none left when locked together
                self.keep(row)
        else:
            self.lock(wanted, containers=True)
        self.apply()
        self.save(written=(lambda record: not record.is_container) if split else None)

    def apply(self) -> None:
        for event in self.events:
            record = self.target(event)
            if record is None:
                self.outcome.missing.append(event)
                continue
            getattr(self, f"_{event.kind.value}")(record, event)

    def reset(self, rows: dict[uuid_module.UUID, UserTaskStatus]) -> None:
        """Back to ``rows`` as they were locked, nothing applied yet."""
        self.rows, self.by_pk, self.by_task_id = {}, {}, {}
        for row in rows.values():
            self.keep(row)
        self.changed, self.added, self.ended, self.artifacts, self.to_revoke = {}, {}, [], [], []
        self.outcome = Outcome()

    def keep(self, row: UserTaskStatus) -> None:
        self.rows[row.uuid] = row
        self.by_pk[row.pk] = row
        self.by_task_id[row.task_id] = row

    def lock_tasks(self, task_ids: list[str], *, with_ancestors: bool) -> set[uuid_module.UUID]:
        """``find()`` and ``lock()`` of the leaves, for a batch whose events all name running tasks by task id
        (a writer's usual batch): their records, locked in one query; ``with_ancestors``, on PostgreSQL the
        same query locks their ancestors after them, reading their uuids from the leaves' paths itself.
        Returns the uuids of the ancestors still to lock. Raises ``_NotAllLeaves`` when a task id names no
        leaf (a record to create, a tree deleted meanwhile): the batch goes the general way."""
        together = with_ancestors and self.connection.vendor == "postgresql"
        for row in self.locked("task_id", task_ids, with_ancestors=together):
            self.keep(row)
        leaves = [row for row in self.rows.values() if not row.is_container]
        if len(leaves) != len(task_ids):
            raise _NotAllLeaves
        return {ancestor for row in leaves for ancestor in ancestors(row.path)} - self.rows.keys()

    def locked(
        self, column: str, values: Iterable[Any], *, containers: bool = False, with_ancestors: bool = False
    ) -> list[UserTaskStatus]:
        """The leaves, or containers, whose ``column`` holds one of ``values``, locked in primary-key order;
        ``with_ancestors`` (PostgreSQL only), the leaves' ancestors too, locked after them. Written by hand,
        as the updates below: the ORM builds the same SELECT at twice the cost."""
        field: Any = self.model._meta.get_field(column)
        params = [field.get_db_prep_value(value, self.connection) for value in values]
        if not params:
            return []
        quote = self.connection.ops.quote_name
        table, name = quote(self.model._meta.db_table), quote(field.column)
        is_container = quote("is_container")
        condition, params = self.one_of(name, params)
        where = f"{condition} AND {is_container if containers else f'NOT {is_container}'}"
        if with_ancestors:
            # The leaves' ancestors, whose uuids their paths hold ("<hex>/<hex>/"), found by the same query.
            above = (
                f"SELECT part::uuid FROM {table} AS leaf, unnest(string_to_array(leaf.{quote('path')}, '/')) "
                f"AS part WHERE leaf.{condition} AND NOT leaf.{is_container} AND part <> ''"
            )
            where = f"({where}) OR ({is_container} AND {quote('uuid')} = ANY(ARRAY({above})))"
            params += params
        lock = " FOR UPDATE" if self.connection.features.has_select_for_update else ""
        columns, names, converted = _columns(self.model, self.using)
        sql = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {is_container}, {quote('id')}{lock}"
        with self.cursor() as cursor:
            cursor.execute(sql, params)
            rows: Iterable[Any] = cursor.fetchall()
        if converted:
            meta: Any = self.model._meta
            compiler_class = self.connection.ops.compiler("SQLCompiler")
            compiler = compiler_class(self.objects.query, self.connection, self.using)
            converters = compiler.get_converters([f.get_col(meta.db_table) for f in meta.concrete_fields])
            rows = compiler.apply_converters(rows, converters)
        return [self.model.from_db(self.using, names, row) for row in rows]

    def one_of(self, column: str, values: list[Any]) -> tuple[str, list[Any]]:
        """SQL saying that ``column`` holds one of ``values``, and its parameters. On PostgreSQL one array:
        the statement's text is the same whatever the batch's size, so psycopg parses it once."""
        if self.connection.vendor == "postgresql":
            return f"{column} = ANY(%s)", [values]
        return f"{column} IN ({', '.join(['%s'] * len(values))})", values

    def find(self) -> tuple[Q, bool]:
        """The rows the events need (the records they name, their ancestors, the subtrees they cancel), and
        whether every event names a task (a leaf) and none cancels."""
        # uuid -> (path, root uuid, is a container) of every record the events name.
        known: dict[uuid_module.UUID, tuple[str, uuid_module.UUID, bool]] = {
            event.uuid: (event.record.path, event.record.root_id, event.record.is_container)
            for event in self.events
            if event.uuid is not None and event.record is not None and event.record.pk is not None
        }
        uuids = {event.uuid for event in self.events if event.uuid is not None} - known.keys()
        task_ids = {event.task_id for event in self.events if event.uuid is None and event.task_id}
        found: dict[str, uuid_module.UUID] = {}
        if uuids or task_ids:
            query = self.objects.filter(Q(uuid__in=uuids) | Q(task_id__in=task_ids))
            fields = ("uuid", "task_id", "path", "root_id", "is_container")
            for uuid, task_id, path, root, container in query.values_list(*fields):
                known[uuid] = (path, root, container)
                found[task_id] = uuid
            for event in self.events:
                if event.create and event.task_id and event.task_id not in found:
                    record = event.create()
                    known[record.uuid] = (record.path, record.root_id, record.is_container)
                    found[record.task_id] = record.uuid
        lineages = {ancestor for path, *_ in known.values() for ancestor in ancestors(path)}
        wanted = Q(uuid__in={*known, *lineages})
        leaves_only = not any(container for *_, container in known.values())
        for event in self.events:
            uuid = event.uuid or found.get(event.task_id or "")
            if event.kind is Kind.CANCEL:
                leaves_only = False
                if uuid in known:
                    wanted |= Q(root_id=known[uuid][1], path__contains=uuid.hex)
        return wanted, leaves_only

    def lock(self, wanted: Q, *, containers: bool) -> None:
        """Lock the ``wanted`` leaves, or containers, in primary-key order.

        Every change locks its leaves before its containers, each in primary-key order: no two changes can
        wait for each other.
        """
        rows = self.objects.select_for_update().filter(wanted, is_container=containers).order_by("pk")
        for row in rows:
            self.keep(row)

    def target(self, event: Event) -> UserTaskStatus | None:
        if event.uuid is not None:
            return self.rows.get(event.uuid)
        return self.by_task_id.get(event.task_id or "")

    def lineage(self, record: UserTaskStatus) -> list[UserTaskStatus]:
        """``record``'s ancestors, root first, then the record itself."""
        return [*(self.rows[uuid] for uuid in ancestors(record.path) if uuid in self.rows), record]

    def parent_of(self, record: UserTaskStatus) -> UserTaskStatus | None:
        return None if record.parent_id is None else self.by_pk.get(record.parent_id)

    # The events: SEMANTICS.md's rules, on locked rows.

    def _stopped_by_cancel(self, record: UserTaskStatus) -> bool:
        if record.state == states.CANCELED and not record.is_container:
            self.outcome.canceled.add(record.uuid)
            return True
        return False

    def _start(self, record: UserTaskStatus, event: Event) -> None:
        if self._stopped_by_cancel(record) or record.is_terminal:
            return
        at: datetime = event.value or self.now
        # A custom state a previous step left on its containers ends when the next step starts.
        for node in self.lineage(record):
            if not node.is_terminal:
                self.assign(node, state=states.IN_PROGRESS, started=node.started or at)

    def _steps(self, record: UserTaskStatus, event: Event) -> None:
        self.add_steps(self.lineage(record), completed_steps=event.value)
        self._stopped_by_cancel(record)

    def _total(self, record: UserTaskStatus, event: Event) -> None:
        self.add_steps(self.lineage(record), total_steps=event.value)

    def _state(self, record: UserTaskStatus, event: Event) -> None:
        if self._stopped_by_cancel(record):
            return
        node: UserTaskStatus | None = record
        while node is not None and not node.is_terminal:
            self.assign(node, state=event.value)
            parent = self.parent_of(node)
            node = parent if parent is not None and _shares_state(parent, node) else None

    def _name(self, record: UserTaskStatus, event: Event) -> None:
        for node in self.lineage(record):
            self.assign(node, name=event.value)

    def _succeed(self, record: UserTaskStatus, event: Event) -> None:
        if record.is_terminal:
            return
        if not record.is_container and record.total_steps > record.completed_steps:
            self.add_steps(self.lineage(record), completed_steps=record.total_steps - record.completed_steps)
        self.finish(record, states.SUCCEEDED)
        node = record
        while node.completes_parent and (parent := self.parent_of(node)) is not None:
            self.assign(parent, children_left=max(parent.children_left - 1, 0))
            if parent.children_left or parent.is_terminal:
                break
            self.finish(parent, states.SUCCEEDED)
            node = parent

    def _fail(self, record: UserTaskStatus, event: Event) -> None:
        for node in reversed(self.lineage(record)):
            if node.is_terminal:
                break
            self.finish(node, states.FAILED)
            self.artifacts.append(_artifact_model()(status_id=node.pk, name="Error", text=event.value))

    def _retry(self, record: UserTaskStatus, event: Event) -> None:
        if record.is_terminal:
            return
        # An attempt starts the task's steps again: no record counts a failed attempt's steps.
        if record.completed_steps:
            self.add_steps(self.lineage(record), completed_steps=-record.completed_steps)
        self.assign(record, state=states.RETRYING, attempts=record.attempts + 1)

    def _cancel(self, record: UserTaskStatus, event: Event) -> None:
        if record.is_terminal:
            return  # finished already: nothing to cancel, and its ancestors go on
        below = [row for row in self.rows.values() if record.uuid.hex in row.path.split("/")]
        for node in [record, *below]:
            if node.is_terminal:
                continue
            if event.revoke and not node.is_container and node.state in (states.PENDING, states.RETRYING):
                self.to_revoke.append((node.task_id, node.task_class))
            self.finish(node, states.CANCELED)
        for ancestor in reversed(self.lineage(record)[:-1]):
            if ancestor.is_terminal:
                break
            self.finish(ancestor, states.CANCELED)

    # Recording what changed.

    def assign(self, record: UserTaskStatus, **values: Any) -> None:
        fields = self.changed.setdefault(record.uuid, set())
        for name, value in values.items():
            if getattr(record, name) != value:
                setattr(record, name, value)
                fields.add(name)
        if not fields:
            del self.changed[record.uuid]

    def add_steps(self, records: Iterable[UserTaskStatus], **steps: int) -> None:
        for record in records:
            added = self.added.setdefault(record.uuid, {})
            for name, value in steps.items():
                setattr(record, name, getattr(record, name) + value)
                added[name] = added.get(name, 0) + value

    def finish(self, record: UserTaskStatus, state: str) -> None:
        self.assign(record, state=state, finished=self.now)
        self.ended.append(record)

    # Saving, and announcing once committed.

    def changed_uuids(self) -> set[uuid_module.UUID]:
        return set(self.changed) | {uuid for uuid, added in self.added.items() if any(added.values())}

    def save_rows(self, which: Callable[[UserTaskStatus], bool]) -> None:
        """Write the changes of the changed records that ``which`` accepts.

        On PostgreSQL in one ``UPDATE ... FROM unnest(...)``, each record given every field that any of them
        changed (a field it did not change, its locked row's own value). Elsewhere in one UPDATE per group
        of records that change the same fields to the same values (a batch's roll-up into an ancestor is one).
        """
        records = [record for uuid in self.changed_uuids() if which(record := self.rows[uuid])]
        groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[UserTaskStatus]] = {}
        for record in records:
            fields = tuple(sorted(self.changed.get(record.uuid, ())))
            added = tuple(sorted(name for name, n in self.added.get(record.uuid, {}).items() if n))
            groups.setdefault((fields, added), []).append(record)
        if self.connection.vendor == "postgresql" and groups:
            every_field = set().union(*(fields for fields, _ in groups))
            every_added = set().union(*(added for _, added in groups))
            self.update_from_arrays(records, tuple(sorted(every_field)), tuple(sorted(every_added)))
            return
        for (fields, added), same in groups.items():
            self.update(same, fields, added)

    def save(self, written: Callable[[UserTaskStatus], bool] | None = None) -> None:
        """Write the changes (but those of the records ``written`` accepts: saved already), advance the
        trees' sequences, add the artifacts, and announce it all once committed."""
        uuids = self.changed_uuids()
        if not uuids:
            return

        def unsaved(record: UserTaskStatus) -> bool:
            return written is None or not written(record)

        changed = [self.rows[uuid] for uuid in uuids]
        trees: dict[uuid_module.UUID, list[UserTaskStatus]] = {}
        for record in changed:
            trees.setdefault(record.root_id, []).append(record)
        roots = [self.rows[root] for root in trees if root in self.rows]
        # A root whose own change is still to be written advances its sequence in the same UPDATE.
        apart = [root for root in roots if root.uuid not in uuids or not unsaved(root)]
        for root in roots:
            if root not in apart:
                self.added.setdefault(root.uuid, {})["sequence"] = 1
        self.save_rows(unsaved)
        if apart:
            sequence = self.connection.ops.quote_name("sequence")
            self.update_rows([root.pk for root in apart], [f"{sequence} = {sequence} + 1"], [])
        for record in changed:
            record.version += 1
            record.modified = self.now
        for root in roots:
            root.sequence += 1
        if self.artifacts:
            _artifact_model()._default_manager.using(self.using).bulk_create(self.artifacts)
        # The caller's instances show what it changed at once (as a saved model does), and signals carry them.
        self.mine = self.instances()
        for record in changed:
            for instance in self.mine.get(record.uuid, ()):
                copy_fields(record, instance)
        transaction.on_commit(partial(self.announce, changed, trees), using=self.using)

    def values(
        self, record: UserTaskStatus, fields: tuple[str, ...], added: tuple[str, ...]
    ) -> tuple[Any, ...]:
        """``record``'s ``fields`` as they are, then the steps it adds to each of ``added``."""
        steps = self.added.get(record.uuid, {})
        return (*(getattr(record, name) for name in fields), *(steps.get(name, 0) for name in added))

    def update(self, records: list[UserTaskStatus], fields: tuple[str, ...], added: tuple[str, ...]) -> None:
        """Save ``fields`` of ``records`` as they are, and add their steps in ``added`` to what is stored: one
        UPDATE per distinct set of values."""
        alike: dict[tuple[Any, ...], list[int]] = {}
        for record in records:
            alike.setdefault(self.values(record, fields, added), []).append(record.pk)
        # SQL written by hand: the ORM builds the same statement at several times the cost.
        quote = self.connection.ops.quote_name
        meta = self.model._meta
        columns: list[Any] = [meta.get_field(name) for name in (*fields, *added)]
        names = [quote(column.column) for column in columns]
        assignments = [f"{name} = %s" for name in names[: len(fields)]]
        assignments += [f"{name} = {name} + %s" for name in names[len(fields) :]]
        assignments += [f"{quote('version')} = {quote('version')} + 1", f"{quote('modified')} = %s"]
        for same, pks in alike.items():
            params = [
                column.get_db_prep_save(value, self.connection)
                for column, value in zip(columns[: len(fields)], same, strict=False)
            ]
            self.update_rows(pks, assignments, [*params, *same[len(fields) :], self.prepared_now])

    @property
    def connection(self) -> Any:
        return connections[self.using]

    def cursor(self) -> Any:
        """A cursor for the batch's statements. On psycopg 3 one that binds their parameters on the server:
        the default (client-side binding) quotes every value of their arrays into the statement's text, in
        Python, which cost the writer more than the rest of sending them."""
        connection = self.connection
        if connection.vendor != "postgresql":
            return connection.cursor()
        from django.db.backends.postgresql import base

        server_binding = getattr(base, "ServerBindingCursor", None)  # psycopg 3 only
        if server_binding is None:
            return connection.cursor()
        connection.ensure_connection()
        # Wrapped as connection.cursor() wraps its own: logged, counted, checked for the thread.
        return connection._prepare_cursor(server_binding(connection.connection))

    @property
    def prepared_now(self) -> Any:
        return self.model._meta.get_field("modified").get_db_prep_save(self.now, self.connection)

    def update_rows(self, pks: list[int], assignments: list[str], params: list[Any]) -> None:
        """UPDATE the rows ``pks`` with ``assignments`` (SQL; their values in ``params``)."""
        quote = self.connection.ops.quote_name
        condition, ids = self.one_of(quote("id"), pks)
        sql = f"UPDATE {quote(self.model._meta.db_table)} SET {', '.join(assignments)} WHERE {condition}"
        with self.cursor() as cursor:
            cursor.execute(sql, [*params, *ids])

    def update_from_arrays(
        self,
        records: list[UserTaskStatus],
        fields: tuple[str, ...],
        added: tuple[str, ...],
    ) -> None:
        """``update()`` in one UPDATE ... FROM unnest(...) whatever the records' values: one array per column,
        so that the statement is the same whatever the number of records."""
        connection = self.connection
        quote = connection.ops.quote_name
        meta = self.model._meta
        columns: list[Any] = [meta.get_field(name) for name in (*fields, *added)]
        key = quote("id")
        names = [quote(column.column) for column in columns]
        # Steps added are bigints (a retry adds a negative number).
        casts = ["bigint", *(c.db_type(connection) for c in columns[: len(fields)]), *["bigint"] * len(added)]
        assignments = [f"{name} = v.{name}" for name in names[: len(fields)]]
        assignments += [f"{name} = t.{name} + v.{name}" for name in names[len(fields) :]]
        version, modified = quote("version"), quote("modified")
        assignments += [f"{version} = t.{version} + 1", f"{modified} = %s"]
        arrays = ", ".join(f"%s::{cast}[]" for cast in casts)
        sql = (
            f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(assignments)} "
            f"FROM unnest({arrays}) AS v({', '.join([key, *names])}) WHERE t.{key} = v.{key}"
        )
        rows = [self.values(record, fields, added) for record in records]
        params: list[Any] = [self.now, [record.pk for record in records]]
        for index, column in enumerate(columns[: len(fields)]):
            params.append([column.get_db_prep_save(row[index], connection) for row in rows])
        params += [[row[index] for row in rows] for index in range(len(fields), len(columns))]
        with self.cursor() as cursor:
            cursor.execute(sql, params)

    def announce(self, changed: list[UserTaskStatus], trees: dict[uuid_module.UUID, list[Any]]) -> None:
        def mine(record: UserTaskStatus) -> UserTaskStatus:
            return next(iter(self.mine.get(record.uuid, ())), record)

        # The change is committed: a receiver that fails must neither fail the task nor silence the others.
        # status_changed carries each record as this change left it; user_task_stopped the caller's instance,
        # as django-user-tasks does, so that what a receiver marks on it is seen by the caller.
        for record in changed:
            self.send(status_changed, record.uuid, status=record)
        for root_uuid, records in trees.items():
            root = self.rows.get(root_uuid)
            sequence = None if root is None else root.sequence
            self.send(changes_committed, root_uuid, statuses=records, root=root, sequence=sequence)
        for record in self.ended:
            self.send(user_task_stopped, record.uuid, status=mine(record))
        if self.to_revoke:
            _revoke(self.to_revoke)

    def send(self, signal: Signal, about: Any, **kwargs: Any) -> None:
        for receiver, result in signal.send_robust(sender=self.model, **kwargs):
            if isinstance(result, Exception):
                logger.error("%r failed for %s", receiver, about, exc_info=result)

    def instances(self) -> dict[uuid_module.UUID, list[UserTaskStatus]]:
        """The caller's instances of the records changed: the events' own, and the parents cached on them."""
        found: dict[uuid_module.UUID, list[UserTaskStatus]] = {}
        for event in self.events:
            instance: Any = event.record
            while instance is not None:
                row = (
                    self.rows.get(instance.uuid)
                    if instance.is_read
                    else self.by_task_id.get(instance.task_id)
                )
                if row is not None:
                    same = found.setdefault(row.uuid, [])
                    if not any(known is instance for known in same):
                        same.append(instance)
                instance = instance._state.fields_cache.get("parent")
        return found

    def unreachable(self) -> list[Event]:
        """Cancels of what can never start now that records ended: the later steps of a chain whose step
        failed or was canceled, and the body of a chord whose header did."""
        heads: list[UserTaskStatus] = []
        for record in self.ended:
            if record.state == states.SUCCEEDED or (parent := self.parent_of(record)) is None:
                continue
            if parent.task_class == states.CHAIN:
                query = Q(parent_id=parent.pk, position__gt=record.position)
            elif parent.task_class == states.CHORD and not record.completes_parent:
                query = Q(parent_id=parent.pk, completes_parent=True)
            else:
                continue
            heads += self.objects.filter(query).exclude(state__in=states.TERMINAL)
        return [Event(Kind.CANCEL, uuid=head.uuid, revoke=False) for head in heads]


class _NotAllLeaves(Exception):
    """A batch's fast way does not fit it: one of its task ids names no leaf."""


@lru_cache(maxsize=4096)
def ancestors(path: str) -> tuple[uuid_module.UUID, ...]:
    """The uuids of the ancestors named by a record's ``path``, root first. Cached: the leaves of a container
    share their path, and a batch reads each one's several times."""
    return tuple(uuid_module.UUID(hex=part) for part in path.split("/") if part)


@lru_cache(maxsize=16)
def _columns(model: type[UserTaskStatus], using: str) -> tuple[str, list[str], bool]:
    """What ``_Work.locked()`` reads: its columns' SQL, their attribute names in order, and whether the
    database converts any of their values (not PostgreSQL's; the converters themselves belong to one
    thread's connection, so they are not kept)."""
    connection = connections[using]
    meta: Any = model._meta
    fields = meta.concrete_fields
    compiler = connection.ops.compiler("SQLCompiler")(model._default_manager.none().query, connection, using)
    converted = bool(compiler.get_converters([f.get_col(meta.db_table) for f in fields]))
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return columns, [f.attname for f in fields], converted


def _artifact_model() -> Any:
    return apps.get_model("realtime_tasks", "UserTaskArtifact")


def _shares_state(parent: UserTaskStatus, child: UserTaskStatus) -> bool:
    """Whether a custom state set on ``child`` propagates to ``parent``."""
    if parent.task_class == states.CHAIN:
        return True
    return parent.task_class == states.CHORD and child.completes_parent


def copy_fields(source: UserTaskStatus, target: UserTaskStatus) -> None:
    """Give ``target`` every stored value of ``source`` (two instances of one record)."""
    if source is target:
        return
    for model_field in source._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))


def _revoke(tasks: list[tuple[str, str]]) -> None:
    """Revoke the tasks (id, name) that Celery runs: not those of another queue (django.tasks)."""
    from celery import current_app

    task_ids = [task_id for task_id, name in tasks if name in current_app.tasks]
    if task_ids:
        current_app.control.revoke(task_ids)


def announce_created(records: list[UserTaskStatus]) -> None:
    """Send the signals of new records (one published canvas, or one record) once the transaction commits.

    A record added by hand to an existing tree advances that tree's sequence, like any change of it.
    """
    if not records:
        return
    model = type(records[0])
    using = router.db_for_write(model)
    work = _Work(model, [], using)
    trees: dict[uuid_module.UUID, list[Any]] = {}
    for record in records:
        work.rows[record.uuid] = record
        trees.setdefault(record.root_id, []).append(record)
    elsewhere = [root for root in trees if root not in work.rows]
    if elsewhere:
        roots = model._default_manager.using(using).filter(uuid__in=elsewhere)
        roots.update(sequence=F("sequence") + 1)
        work.rows.update((root.uuid, root) for root in roots)
    transaction.on_commit(partial(work.announce, records, trees), using=using)
