from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.validators import URLValidator
from django.db import InterfaceError, OperationalError, connections, models, router, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from .conf import conf
from .exceptions import TaskCanceledException
from .progress import Progress, held_progress, steps_first
from .signals import changes_committed, status_changed, user_task_stopped

logger = logging.getLogger(__name__)


class UserTaskStatus(models.Model):
    """The status of one user-triggered Celery task, or of a chain, group or chord containing such tasks.

    Every method that changes a record locks the record and its ancestors (in one query, in a fixed order, so
    that concurrent updates of siblings never deadlock), applies the change to all of them, and sends
    ``status_changed``, ``changes_committed`` (and ``user_task_stopped``) once the transaction commits.
    """

    PENDING = "Pending"
    IN_PROGRESS = "In Progress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"
    RETRYING = "Retrying"

    STATE_TRANSLATIONS: ClassVar[dict[str, Any]] = {
        PENDING: _("Pending"),
        IN_PROGRESS: _("In Progress"),
        SUCCEEDED: _("Succeeded"),
        FAILED: _("Failed"),
        CANCELED: _("Canceled"),
        RETRYING: _("Retrying"),
    }
    TERMINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELED})

    CHAIN = "celery.chain"
    GROUP = "celery.group"
    CHORD = "celery.chord"

    uuid = models.UUIDField(default=uuid_module.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    task_id = models.CharField(
        max_length=128, unique=True, help_text="The Celery task id (or a canvas's own id)"
    )
    # Trees are deleted whole (by root, or with their user), so the links within a tree need no cascade:
    # Django's cascade would walk a 10,000-record tree one level at a time.
    parent = models.ForeignKey(
        "self",
        to_field="uuid",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="children",
        help_text="The chain, group or chord containing this record",
    )
    root = models.ForeignKey(
        "self",
        to_field="uuid",
        on_delete=models.DO_NOTHING,
        related_name="+",
        help_text="The top of this record's tree (itself for a top-level record)",
    )
    # The uuids of the ancestors, root first, joined by "/": one query finds and locks a whole lineage.
    path = models.TextField(blank=True, editable=False)
    position = models.PositiveIntegerField(default=0, help_text="Order among the parent's children")
    is_container = models.BooleanField(default=False)
    task_class = models.CharField(max_length=128)
    name = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=128, default=PENDING)
    completed_steps = models.PositiveBigIntegerField(default=0)
    total_steps = models.PositiveBigIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=1)
    # Whether the parent's success waits for this record's (a chain's final step, a chord's body, every
    # member of a group), and how many such children this record still waits for.
    completes_parent = models.BooleanField(default=True, editable=False)
    children_left = models.PositiveIntegerField(default=0, editable=False)
    version = models.PositiveBigIntegerField(default=1, editable=False)
    created = models.DateTimeField(default=now, editable=False)
    modified = models.DateTimeField(default=now, editable=False)
    started = models.DateTimeField(null=True, blank=True, editable=False)
    finished = models.DateTimeField(null=True, blank=True, editable=False)

    # Set on the record of a running task (its ``status``): the start and steps it holds back (progress.py).
    _progress: Progress | None = None

    class Meta:
        verbose_name_plural = "user task statuses"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["user", "-created"], condition=Q(parent=None), name="realtime_tasks_user_roots"
            ),
        ]
        permissions = (("cancel_usertaskstatus", "Can cancel user task trees"),)

    def __str__(self) -> str:
        return f"<UserTaskStatus: {self.name}>"

    @property
    def state_text(self) -> str:
        """The state, translated into the current language (custom states as they are)."""
        return str(self.STATE_TRANSLATIONS.get(self.state, self.state))

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL_STATES

    @property
    def lineage(self) -> list[uuid_module.UUID]:
        """The uuids of this record's ancestors, root first, then its own."""
        return [uuid_module.UUID(hex=part) for part in self.path.split("/") if part] + [self.uuid]

    # Public API, with django-user-tasks' names and meanings.

    def start(self) -> None:
        """Mark the task as running (and its pending ancestors with it).

        On a running task's own record the start is held back like its progress steps (see
        ``increment_completed_steps``), so that a short task is written once, when it ends.
        """
        if self._progress is not None:
            self._progress.hold_start()
            return
        with _Change(self) as change:
            self._apply_start(change, change.now)

    def _apply_start(self, change: _Change, at: datetime) -> None:
        me = change.me
        if me.state == self.CANCELED and not me.is_container:
            change.raise_after(TaskCanceledException)
            return
        if me.is_terminal:
            return
        change.set(me, state=self.IN_PROGRESS, started=me.started or at)
        # A custom state a previous step left on its containers ends when the next step starts.
        for ancestor in change.ancestors:
            if not ancestor.is_terminal:
                change.set(ancestor, state=self.IN_PROGRESS, started=ancestor.started or at)

    def increment_completed_steps(self, steps: int = 1) -> None:
        """Add ``steps`` to the completed steps of this record and its ancestors.

        Raises ``TaskCanceledException`` if the task has been canceled, so that a running task stops at its
        next progress call. On the record of a running task (its ``status``), steps that follow a write
        within ``REALTIME_TASKS_PROGRESS_WINDOW`` are written together when the window ends (progress.py).
        """
        if self._progress is not None:
            self._progress.add(steps)
        else:
            self._write_progress(None, steps)

    def _write_progress(self, started: datetime | None, steps: int) -> None:
        """Write a start held back (at ``started``) and ``steps`` completed steps, in one change."""
        with _Change(self) as change:
            if started is not None:
                self._apply_start(change, started)
            if steps:
                change.add_steps(change.lineage, completed_steps=steps)
                if change.me.state == self.CANCELED and not change.me.is_container:
                    change.raise_after(TaskCanceledException)

    @steps_first
    def increment_total_steps(self, steps: int) -> None:
        """Add ``steps`` to the total steps of this record and its ancestors."""
        with _Change(self) as change:
            change.add_steps(change.lineage, total_steps=steps)

    @steps_first
    def set_state(self, custom_state: str) -> None:
        """Set a custom in-progress state, such as "Sending email messages".

        The state propagates to a chain parent, and to a chord parent from its body, never to a group parent.
        """
        with _Change(self) as change:
            me = change.me
            if me.state == self.CANCELED and not me.is_container:
                change.raise_after(TaskCanceledException)
                return
            node = me
            while not node.is_terminal:
                change.set(node, state=custom_state)
                parent = change.parent_of(node)
                if parent is None or not _shares_state(parent, node):
                    break
                node = parent

    @steps_first
    def set_name(self, name: str) -> None:
        """Give this record and all of its ancestors the name ``name``."""
        with _Change(self) as change:
            for record in change.lineage:
                change.set(record, name=name)

    def succeed(self) -> None:
        """Mark the task as succeeded with all its steps, and its parent if that was the last it needed.

        A start and progress steps held back (see ``increment_completed_steps``) are written in the same
        transaction.
        """
        with held_progress(self) as (started, held), _Change(self) as change:
            me = change.me
            if started is not None and not me.is_terminal:
                self._apply_start(change, started)
            # Success tops the steps up to the total; held-back steps count where they go beyond it.
            steps = held
            if not (me.is_terminal or me.is_container):
                steps = max(held, me.total_steps - me.completed_steps)
            if steps:
                change.add_steps(change.lineage, completed_steps=steps)
            if me.is_terminal:
                return
            change.finish(me, self.SUCCEEDED)
            node = me
            while node.completes_parent and (parent := change.parent_of(node)) is not None:
                change.set(parent, children_left=max(parent.children_left - 1, 0))
                if parent.children_left or parent.is_terminal:
                    break
                change.finish(parent, self.SUCCEEDED)
                node = parent

    @steps_first
    def fail(self, message: str) -> None:
        """Mark the task as failed for ``message`` (kept as an "Error" artifact), and its ancestors."""
        with _Change(self) as change:
            for record in reversed(change.lineage):
                if record.is_terminal:
                    break
                change.finish(record, self.FAILED)
                change.artifacts.append(UserTaskArtifact(status_id=record.pk, name="Error", text=message))
        _cancel_unreachable(change.ended, change.rows)

    @steps_first
    def retry(self) -> None:
        """Mark the task as waiting for a retry; its containers stay in progress."""
        with _Change(self, lineage=False) as change:
            me = change.me
            if not me.is_terminal:
                change.set(me, state=self.RETRYING, attempts=me.attempts + 1)

    @steps_first
    def cancel(self) -> None:
        """Cancel this record, its unfinished descendants and its unfinished ancestors.

        Pending tasks are revoked; a running task stops at its next progress call.
        """
        subtree = UserTaskStatus.objects.filter(
            Q(pk=self.pk) | Q(root_id=self.root_id, path__contains=self.uuid.hex)
        )
        with _Change(self, rows=subtree) as change:
            to_revoke = [
                record.task_id
                for record in change.rows.values()
                if not record.is_container and record.state in (self.PENDING, self.RETRYING)
            ]
            for record in change.rows.values():
                if not record.is_terminal:
                    change.finish(record, self.CANCELED)
        if not change.ended:
            return  # finished already: nothing to cancel, and its ancestors go on
        if self.parent_id is not None:
            # The ancestors are locked in a second transaction: one transaction never takes locks in two
            # queries, so that no two can wait for each other.
            with _Change(self) as change:
                for ancestor in reversed(change.ancestors):
                    if ancestor.is_terminal:
                        break
                    change.finish(ancestor, self.CANCELED)
            _cancel_unreachable([change.me, *change.ended], change.rows)
        if to_revoke:
            transaction.on_commit(partial(_revoke, to_revoke), using=router.db_for_write(UserTaskStatus))


def _shares_state(parent: UserTaskStatus, child: UserTaskStatus) -> bool:
    """Whether a custom state set on ``child`` propagates to ``parent``."""
    if parent.task_class == UserTaskStatus.CHAIN:
        return True
    return parent.task_class == UserTaskStatus.CHORD and child.completes_parent


def _revoke(task_ids: list[str]) -> None:
    from celery import current_app

    current_app.control.revoke(task_ids)


def _cancel_unreachable(ended: list[UserTaskStatus], rows: dict[uuid_module.UUID, UserTaskStatus]) -> None:
    """Cancel the records that can never start now that ``ended`` (a lineage, with ``rows``) failed or were
    canceled: the later steps of a chain whose step ended, and the body of a chord whose header ended.
    """
    unreachable = Q()
    for record in ended:
        parent = None if record.parent_id is None else rows.get(record.parent_id)
        if parent is None:
            continue
        if parent.task_class == UserTaskStatus.CHAIN:
            unreachable |= Q(parent_id=parent.uuid, position__gt=record.position)
        elif parent.task_class == UserTaskStatus.CHORD and not record.completes_parent:
            unreachable |= Q(parent_id=parent.uuid, completes_parent=True)
    if not unreachable:
        return
    root_id = ended[0].root_id
    heads = {uuid.hex for uuid in UserTaskStatus.objects.filter(unreachable).values_list("uuid", flat=True)}
    if not heads:
        return
    unfinished = UserTaskStatus.objects.filter(root__uuid=root_id).exclude(
        state__in=UserTaskStatus.TERMINAL_STATES
    )
    targets = [
        uuid
        for uuid, path in unfinished.values_list("uuid", "path")
        if uuid.hex in heads or not heads.isdisjoint(path.split("/"))
    ]
    with _Change(None, rows=UserTaskStatus.objects.filter(uuid__in=targets)) as change:
        for record in change.rows.values():
            if not record.is_terminal:
                change.finish(record, UserTaskStatus.CANCELED)


@dataclass(frozen=True)
class _Added:
    """Steps added to a field, saved relative to the stored value."""

    steps: int


class _Change:
    """One atomic change of a set of records, locked in uuid order, saved in one query when it ends.

    Signals for the records it changed are sent once the transaction commits.
    """

    def __init__(
        self,
        record: UserTaskStatus | None,
        *,
        lineage: bool = True,
        rows: models.QuerySet[UserTaskStatus] | None = None,
    ) -> None:
        self.record = record
        if rows is None:
            assert record is not None
            uuids = record.lineage if lineage else [record.uuid]
            rows = UserTaskStatus.objects.filter(uuid__in=uuids)
        self.query = rows
        self.using = router.db_for_write(UserTaskStatus)
        self.now = now()
        self.changed: dict[uuid_module.UUID, set[str]] = {}
        # Steps added per record and field: saved as F(field) + n, so that one UPDATE serves a whole lineage.
        self.added: dict[uuid_module.UUID, dict[str, int]] = {}
        self.ended: list[UserTaskStatus] = []
        self.artifacts: list[UserTaskArtifact] = []
        self._raise: type[Exception] | None = None

    def __enter__(self) -> _Change:
        connection = connections[self.using]
        retry = not connection.in_atomic_block
        while True:
            try:
                return self._lock()
            except (InterfaceError, OperationalError):
                if not retry:
                    raise
                # The connection dropped (a restarted database, a proxy's timeout) before this change wrote
                # anything: one new connection, one more try, and nothing can count twice.
                retry = False
                connection.close()

    def _lock(self) -> _Change:
        self._atomic = transaction.atomic(using=self.using)
        self._atomic.__enter__()
        try:
            self.rows = {row.uuid: row for row in self.query.select_for_update().order_by("uuid")}
        except BaseException as error:
            self._atomic.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self._save()
        self._atomic.__exit__(exc_type, exc, tb)
        if exc_type is None:
            if self.record is not None and self.record.uuid in self.rows:
                _copy_fields(self.rows[self.record.uuid], self.record)
            if self._raise is not None:
                raise self._raise

    @property
    def me(self) -> UserTaskStatus:
        assert self.record is not None
        try:
            return self.rows[self.record.uuid]
        except KeyError:
            raise UserTaskStatus.DoesNotExist(f"No status record {self.record.uuid}") from None

    @property
    def lineage(self) -> list[UserTaskStatus]:
        """The locked record and its ancestors, root first."""
        return [self.rows[uuid] for uuid in self.me.lineage if uuid in self.rows]

    @property
    def ancestors(self) -> list[UserTaskStatus]:
        return self.lineage[:-1]

    def parent_of(self, record: UserTaskStatus) -> UserTaskStatus | None:
        return None if record.parent_id is None else self.rows.get(record.parent_id)

    def set(self, record: UserTaskStatus, **values: Any) -> None:
        fields = self.changed.setdefault(record.uuid, set())
        for field, value in values.items():
            if getattr(record, field) != value:
                setattr(record, field, value)
                fields.add(field)
        if not fields:
            del self.changed[record.uuid]

    def add_steps(self, records: Iterable[UserTaskStatus], **steps: int) -> None:
        for record in records:
            added = self.added.setdefault(record.uuid, {})
            for field, value in steps.items():
                setattr(record, field, getattr(record, field) + value)
                added[field] = added.get(field, 0) + value

    def finish(self, record: UserTaskStatus, state: str) -> None:
        self.set(record, state=state, finished=self.now)
        self.ended.append(record)

    def raise_after(self, exception: type[Exception]) -> None:
        """Raise ``exception`` once the change is saved."""
        self._raise = exception

    def _save(self) -> None:
        uuids = self.changed.keys() | {uuid for uuid, added in self.added.items() if any(added.values())}
        if not uuids:
            return
        # Records given the same change share one UPDATE: an increment is one query for the whole lineage.
        batches: dict[tuple[tuple[str, Any], ...], list[int]] = {}
        for uuid in uuids:
            record = self.rows[uuid]
            values = {field: getattr(record, field) for field in self.changed.get(uuid, ())}
            values.update({field: _Added(n) for field, n in self.added.get(uuid, {}).items() if n})
            batches.setdefault(tuple(sorted(values.items())), []).append(record.pk)
            record.version += 1
            record.modified = self.now
        for change, pks in batches.items():
            expressions = {field: F(field) + v.steps if isinstance(v, _Added) else v for field, v in change}
            UserTaskStatus.objects.using(self.using).filter(pk__in=pks).update(
                **expressions, version=F("version") + 1, modified=self.now
            )
        records = [self.rows[uuid] for uuid in uuids]
        if self.artifacts:
            UserTaskArtifact.objects.using(self.using).bulk_create(self.artifacts)
        transaction.on_commit(partial(_announce, records, list(self.ended)), using=self.using)


def _copy_fields(source: UserTaskStatus, target: UserTaskStatus) -> None:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _announce(changed: list[UserTaskStatus], ended: list[UserTaskStatus]) -> None:
    # The change is committed: a receiver that fails must neither fail the task nor silence the others.
    for record in changed:
        _send(status_changed, record.uuid, status=record)
    if changed:
        _send(changes_committed, changed[0].root_id, statuses=changed)
    for record in ended:
        _send(user_task_stopped, record.uuid, status=record)


def _send(signal: Signal, about: uuid_module.UUID, **kwargs: Any) -> None:
    for receiver, result in signal.send_robust(sender=UserTaskStatus, **kwargs):
        if isinstance(result, Exception):
            logger.error("%r failed for %s", receiver, about, exc_info=result)


def announce_created(records: list[UserTaskStatus]) -> None:
    """Send ``status_changed`` for new records once the current transaction commits."""
    transaction.on_commit(partial(_announce, records, []), using=router.db_for_write(UserTaskStatus))


def delete_trees(roots: models.QuerySet[UserTaskStatus]) -> int:
    """Delete the whole trees of the root records ``roots``, with their artifacts' files.

    Returns the number of status records deleted. Records are only ever deleted by whole trees.
    """
    trees = UserTaskStatus.objects.filter(root_id__in=roots.values("uuid"))
    artifacts = UserTaskArtifact.objects.filter(status__in=trees).exclude(file="").exclude(file=None)
    files = [name for name in artifacts.values_list("file", flat=True) if name]
    with transaction.atomic():
        _, deleted = trees.delete()
    storage = UserTaskArtifact._meta.get_field("file").storage
    for name in files:
        storage.delete(name)
    return deleted.get(UserTaskStatus._meta.label, 0)


def _artifact_storage() -> Storage:
    return storages[conf.ARTIFACT_STORAGE]


class UserTaskArtifact(models.Model):
    """An output of a task for its user: a file, a URL, or text (an error message is one named "Error")."""

    uuid = models.UUIDField(default=uuid_module.uuid4, unique=True, editable=False)
    status = models.ForeignKey(UserTaskStatus, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=255, default="Output")
    file = models.FileField(
        null=True, blank=True, storage=_artifact_storage, upload_to="user_tasks/%Y/%m/%d/"
    )
    url = models.TextField(blank=True, validators=[URLValidator()])
    text = models.TextField(blank=True)
    created = models.DateTimeField(default=now, editable=False)
    modified = models.DateTimeField(auto_now=True, editable=False)

    def __str__(self) -> str:
        if self.file:
            content = self.file.name or ""
        elif self.url:
            content = self.url
        else:
            content = self.text if len(self.text) <= 50 else self.text[:47] + "..."
        return f"<UserTaskArtifact: ({self.name}) {content}>"
