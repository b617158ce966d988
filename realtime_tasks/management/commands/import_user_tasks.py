"""Copy a site's django-user-tasks records into this app's tables.

The records are read with plain SQL from django-user-tasks' tables (``user_tasks_usertaskstatus`` and
``user_tasks_usertaskartifact``), so the command works after ``user_tasks`` has left ``INSTALLED_APPS``,
as long as its tables are still in the database. Trees are copied whole, each in one transaction with the
other trees of its batch; a tree whose root's task id is here already is left as it is, so a second run adds
nothing. Records keep their uuids (so links into the REST API stay valid), task ids, users, states, steps
and times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.utils import timezone

from realtime_tasks.models import UserTaskArtifact, UserTaskStatus

STATUS_TABLE = "user_tasks_usertaskstatus"
ARTIFACT_TABLE = "user_tasks_usertaskartifact"
STATUS_COLUMNS = (
    "id",
    "parent_id",
    "uuid",
    "user_id",
    "task_id",
    "is_container",
    "task_class",
    "name",
    "state",
    "completed_steps",
    "total_steps",
    "attempts",
    "created",
    "modified",
)
ARTIFACT_COLUMNS = ("uuid", "status_id", "name", "file", "url", "text", "created", "modified")
# Look-ups of existing task ids and uuids go in chunks, under every database's limit of query parameters.
CHUNK = 500


@dataclass
class _Row:
    """One django-user-tasks status record, as read."""

    id: int
    parent_id: int | None
    uuid: uuid.UUID
    user_id: int
    task_id: str
    is_container: bool
    task_class: str
    name: str
    state: str
    completed_steps: int
    total_steps: int
    attempts: int
    created: datetime
    modified: datetime
    children: list[_Row] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Copy the status records and artifacts of django-user-tasks (its tables user_tasks_usertaskstatus "
        "and user_tasks_usertaskartifact) into this app's tables, whole trees at a time. Run it again at any "
        "time: trees copied already are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="About how many status records to write per transaction (whole trees; default 500).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be copied, and write nothing."
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database holding django-user-tasks' tables (default: 'default').",
        )
        parser.add_argument(
            "--source-storage",
            default=None,
            help=(
                "The key of STORAGES where django-user-tasks kept artifact files. Files missing from this "
                "app's artifact storage are copied from it. Default: 'user_task_artifacts' if STORAGES has "
                "it (django-user-tasks' own key), else 'default'."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, not {batch_size}.")
        self.dry_run: bool = options["dry_run"]
        self.source = connections[options["database"]]
        self.target = router.db_for_write(UserTaskStatus)
        tables = set(self.source.introspection.table_names())
        missing = [table for table in (STATUS_TABLE, ARTIFACT_TABLE) if table not in tables]
        if missing:
            raise CommandError(
                f"No django-user-tasks table {', '.join(missing)} in the database {options['database']!r}: "
                "nothing to import. Run the command before removing django-user-tasks' tables."
            )

        roots = self._read_trees()
        done = self._existing_task_ids([root.task_id for root in roots])
        todo = [root for root in roots if root.task_id not in done]
        total = sum(_size(root) for root in todo)
        verb = "Would copy" if self.dry_run else "Copying"
        self.stdout.write(
            f"{verb} {len(todo)} trees ({total} status records); {len(roots) - len(todo)} trees are here "
            "already."
        )
        copied = 0
        for batch in _batches(todo, batch_size):
            if not self.dry_run:
                with transaction.atomic(using=self.target):
                    self._write_trees(batch)
            copied += sum(_size(root) for root in batch)
            self._progress("status records", copied, total)

        self._copy_artifacts(options["source_storage"], batch_size)

    def _progress(self, what: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        percent = 100 * done // total if total else 100
        self.stdout.write(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what} ({percent}%)")

    def _select(self, table: str, columns: Iterable[str], order: str) -> Iterator[tuple[Any, ...]]:
        quote = self.source.ops.quote_name
        sql = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} ORDER BY {quote(order)}"
        with self.source.cursor() as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(1000):
                yield from rows

    def _read_trees(self) -> list[_Row]:
        """Every django-user-tasks record, linked to its children; the roots, oldest first."""
        rows: dict[int, _Row] = {}
        for values in self._select(STATUS_TABLE, STATUS_COLUMNS, "id"):
            row = _Row(**dict(zip(STATUS_COLUMNS, values, strict=True)))
            row.uuid = _uuid(row.uuid)
            row.is_container = bool(row.is_container)
            row.created, row.modified = _aware(row.created), _aware(row.modified)
            rows[row.id] = row
        roots = []
        for row in rows.values():
            parent = rows.get(row.parent_id) if row.parent_id is not None else None
            if parent is None:
                roots.append(row)
            else:
                parent.children.append(row)
        for row in rows.values():
            row.children.sort(key=lambda child: (child.created, child.id))
        roots.sort(key=lambda root: (root.created, root.id))
        return roots

    def _existing_task_ids(self, task_ids: list[str]) -> set[str]:
        found: set[str] = set()
        records = UserTaskStatus.objects.using(self.target)
        for start in range(0, len(task_ids), CHUNK):
            chunk = task_ids[start : start + CHUNK]
            found.update(records.filter(task_id__in=chunk).values_list("task_id", flat=True))
        return found

    def _write_trees(self, roots: list[_Row]) -> None:
        """Create the records of ``roots``' trees, one level at a time (a child needs its parent's key)."""
        level = [_Place(row=root) for root in roots]
        while level:
            records = [_record(place) for place in level]
            created = UserTaskStatus.objects.using(self.target).bulk_create(records)
            below = []
            for place, record in zip(level, created, strict=True):
                path = f"{place.path}{record.uuid.hex}/"
                for position, child in enumerate(place.row.children):
                    completes = _completes(place.row, child)
                    below.append(_Place(child, record, place.root or record, path, position, completes))
            level = below

    def _copy_artifacts(self, source_storage: str | None, batch_size: int) -> None:
        """Copy the artifacts not here yet whose record is here, with their files."""
        task_ids = {row[0]: row[1] for row in self._select(STATUS_TABLE, ("id", "task_id"), "id")}
        artifacts = [
            dict(zip(ARTIFACT_COLUMNS, row, strict=True))
            for row in self._select(ARTIFACT_TABLE, ARTIFACT_COLUMNS, "id")
        ]
        for artifact in artifacts:
            artifact["uuid"] = _uuid(artifact["uuid"])
        here = self._existing_uuids([artifact["uuid"] for artifact in artifacts])
        todo = [artifact for artifact in artifacts if artifact["uuid"] not in here]
        records = (
            dict(
                UserTaskStatus.objects.using(self.target)
                .filter(task_id__in={task_ids[artifact["status_id"]] for artifact in todo})
                .values_list("task_id", "pk")
            )
            if todo and not self.dry_run
            else {}
        )
        verb = "Would copy" if self.dry_run else "Copying"
        self.stdout.write(f"{verb} {len(todo)} artifacts; {len(here)} are here already.")
        files = _Files(source_storage)
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            if not self.dry_run:
                new = []
                for artifact in batch:
                    status_pk = records.get(task_ids[artifact["status_id"]])
                    if status_pk is None:
                        continue  # its tree could not be copied: nothing to attach it to
                    if artifact["file"]:
                        files.copy(artifact["file"])
                    new.append(
                        UserTaskArtifact(
                            uuid=artifact["uuid"],
                            status_id=status_pk,
                            name=artifact["name"],
                            file=artifact["file"] or None,
                            url=artifact["url"] or "",
                            text=artifact["text"] or "",
                            created=_aware(artifact["created"]),
                        )
                    )
                with transaction.atomic(using=self.target):
                    UserTaskArtifact.objects.using(self.target).bulk_create(new)
            self._progress("artifacts", start + len(batch), len(todo))

    def _existing_uuids(self, uuids: list[uuid.UUID]) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        artifacts = UserTaskArtifact.objects.using(self.target)
        for start in range(0, len(uuids), CHUNK):
            found.update(
                artifacts.filter(uuid__in=uuids[start : start + CHUNK]).values_list("uuid", flat=True)
            )
        return found


class _Files:
    """Copies artifact files from django-user-tasks' storage into this app's, when they differ."""

    def __init__(self, source: str | None) -> None:
        if source is None:
            source = "user_task_artifacts" if "user_task_artifacts" in settings.STORAGES else "default"
        if source not in settings.STORAGES:
            raise CommandError(f"--source-storage {source!r} is not a key of STORAGES.")
        self.source: Storage = storages[source]
        self.target: Storage = UserTaskArtifact._meta.get_field("file").storage

    def copy(self, name: str) -> None:
        if self.target.exists(name):
            return  # the same storage, or copied by an earlier run
        if not self.source.exists(name):
            raise CommandError(f"The artifact file {name!r} is in neither storage: it cannot be copied.")
        with self.source.open(name, "rb") as content:
            saved = self.target.save(name, content)
        if saved != name:
            raise CommandError(f"The artifact file {name!r} was saved as {saved!r}: names must be kept.")


@dataclass
class _Place:
    """Where a record goes: its parent and root (created already), path, position among its siblings, and
    whether its parent's success waits for it."""

    row: _Row
    parent: UserTaskStatus | None = None
    root: UserTaskStatus | None = None
    path: str = ""
    position: int = 0
    completes_parent: bool = True


def _record(place: _Place) -> UserTaskStatus:
    """This app's record of ``place.row``, with its place in the tree and its roll-up counters."""
    row = place.row
    required = [child for child in row.children if _completes(row, child)]
    finished = row.modified if row.state in UserTaskStatus.TERMINAL_STATES else None
    record = UserTaskStatus(
        uuid=row.uuid,
        user_id=row.user_id,
        task_id=row.task_id,
        is_container=row.is_container,
        task_class=row.task_class,
        name=row.name,
        state=row.state,
        completed_steps=row.completed_steps,
        total_steps=row.total_steps,
        attempts=row.attempts,
        created=row.created,
        modified=row.modified,
        finished=finished,
        sequence=1,
        parent=place.parent,
        path=place.path,
        position=place.position,
        completes_parent=place.completes_parent,
        children_left=sum(1 for child in required if child.state != UserTaskStatus.SUCCEEDED),
    )
    # By key: the root of a root is the record itself, which is not saved yet.
    record.root_id = (place.root or record).uuid
    return record


def _completes(parent: _Row, child: _Row) -> bool:
    """Whether ``parent``'s success waits for ``child``'s, by the kind of ``parent``."""
    if parent.task_class == UserTaskStatus.CHAIN:
        return child is parent.children[-1]
    if parent.task_class == UserTaskStatus.CHORD:
        # The body; the header tasks hang below a celery.group child that does not complete the chord.
        bodies = [other for other in parent.children if other.task_class != UserTaskStatus.GROUP]
        return child in bodies if bodies else child is parent.children[-1]
    # A group, or a container made by hand: every child (django-user-tasks' rule).
    return True


def _size(root: _Row) -> int:
    return 1 + sum(_size(child) for child in root.children)


def _batches(roots: list[_Row], size: int) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    count = 0
    for root in roots:
        batch.append(root)
        count += _size(root)
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value  # type: ignore[no-any-return]
