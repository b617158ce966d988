from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.validators import URLValidator
from django.db import models, router, transaction
from django.db.models import F, Q
from django.utils.timezone import now

from . import states
from .changes import Event, Kind, ancestors, apply, copy_fields
from .changes import announce_created as announce_created
from .conf import conf
from .exceptions import TaskCanceledException
from .managers import UserTaskStatusQuerySet

if TYPE_CHECKING:
    from .batching import Writer

logger = logging.getLogger(__name__)


class UserTaskStatus(models.Model):
    """The status of one user-triggered Celery task, or of a chain, group or chord containing such tasks.

    Its methods change the record and roll the change up to its ancestors through ``changes.apply``: at once,
    or, on the record of a task running in a Celery worker (``task.status``), with the other events of the
    worker process in its next batch (``batching.py``). Signals are sent once the change is committed.
    """

    PENDING = states.PENDING
    IN_PROGRESS = states.IN_PROGRESS
    SUCCEEDED = states.SUCCEEDED
    FAILED = states.FAILED
    CANCELED = states.CANCELED
    RETRYING = states.RETRYING
    STATE_TRANSLATIONS: ClassVar[dict[str, Any]] = states.TRANSLATIONS
    TERMINAL_STATES = states.TERMINAL

    CHAIN = states.CHAIN
    GROUP = states.GROUP
    CHORD = states.CHORD

    uuid = models.UUIDField(default=uuid_module.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    task_id = models.CharField(
        max_length=128, unique=True, help_text="The Celery task id (or a canvas's own id)"
    )
    # Trees are deleted whole (by root, or with their user), so the links within a tree need no cascade:
    # Django's cascade would walk a 10,000-record tree one level at a time.
    parent = models.ForeignKey(
        "self",
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
    # The uuids of the ancestors, root first, each followed by "/": one query finds and locks a whole lineage.
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
    # On a root: advanced by every committed change of the tree, so that a client can tell it missed one.
    sequence = models.PositiveBigIntegerField(default=1, editable=False)
    # On a root: until when staff connections follow the tree (the live layer sends it to them until then).
    followed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(default=now, editable=False)
    modified = models.DateTimeField(default=now, editable=False)
    started = models.DateTimeField(null=True, blank=True, editable=False)
    finished = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserTaskStatusQuerySet.as_manager()

    # Set on the record of a task running in a Celery worker (its ``status``): the process's writer, which
    # writes the record's events in batches, whether a batch found the task canceled, and how to read the
    # record when one of its fields is first asked for (see ``of_running_task``).
    _writer: Writer | None = None
    _canceled = False
    _read: Callable[[], UserTaskStatus] | None = None

    class Meta:
        verbose_name_plural = "user task statuses"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["user", "-created"], condition=Q(parent=None), name="realtime_tasks_user_roots"
            ),
            # The reconciler's candidates: unfinished tasks that have not changed for a while.
            models.Index(
                fields=["modified"],
                condition=~Q(state__in=sorted(states.TERMINAL)) & Q(is_container=False),
                name="realtime_tasks_unfinished",
            ),
        ]
        permissions = (("cancel_usertaskstatus", "Can cancel user task trees"),)

    def __str__(self) -> str:
        return f"<UserTaskStatus: {self.name}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves the record; a new one made by hand gets its root and path, and counts for its parent.

        A container made by hand succeeds when every child attached to it has succeeded.
        """
        if not self._state.adding or self.root_id is not None:
            super().save(*args, **kwargs)
            return
        parent = self.parent
        if parent is None:
            self.root_id, self.path = self.uuid, ""
        else:
            self.root_id, self.path = parent.root_id, f"{parent.path}{parent.uuid.hex}/"
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            if parent is not None and self.completes_parent:
                type(self)._default_manager.using(using).filter(pk=parent.pk).update(
                    children_left=F("children_left") + 1
                )
                parent.children_left += 1
            announce_created([self])

    @classmethod
    def of_running_task(
        cls, task_id: str, writer: Writer, read: Callable[[], UserTaskStatus]
    ) -> UserTaskStatus:
        """The record of a task running in a worker, not read from the database until one of its fields is
        asked for (then by ``read``, on the writer's thread): a task that only reports progress through it
        costs no query of its own; its events name it by task id."""
        record = cls.from_db(router.db_for_read(cls), ["task_id"], [task_id])
        record._writer, record._read = writer, read
        return record

    @property
    def is_read(self) -> bool:
        """False for the record of a running task whose fields have not been read yet."""
        return "id" in self.__dict__

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        """Reads the record; the first field asked of a running task's record reads all of them."""
        if self.is_read or self._read is None:
            super().refresh_from_db(using, fields, from_queryset)
            return
        copy_fields(self._writer.call(self._read) if self._writer is not None else self._read(), self)

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
        return [*ancestors(self.path), self.uuid]

    # Public API, with django-user-tasks' names and meanings.

    def start(self) -> None:
        """Mark the task as running (and its pending ancestors with it)."""
        self._change(Kind.START, now())

    def increment_completed_steps(self, steps: int = 1) -> None:
        """Add ``steps`` to the completed steps of this record and its ancestors.

        Raises ``TaskCanceledException`` if the task has been canceled, so that a running task stops at its
        next progress call (in a worker: once a batch has found it canceled, at most one window later).
        """
        self._change(Kind.STEPS, steps)

    def increment_total_steps(self, steps: int) -> None:
        """Add ``steps`` to the total steps of this record and its ancestors."""
        self._change(Kind.TOTAL, steps)

    def set_state(self, custom_state: str) -> None:
        """Set a custom in-progress state, such as "Sending email messages".

        The state propagates to a chain parent, and to a chord parent from its body, never to a group parent.
        """
        self._change(Kind.STATE, custom_state)

    def set_name(self, name: str) -> None:
        """Give this record and all of its ancestors the name ``name``."""
        self._change(Kind.NAME, name)

    def succeed(self) -> None:
        """Mark the task as succeeded with all its steps, and its parent if that was the last it needed."""
        self._change(Kind.SUCCEED)

    def fail(self, message: str) -> None:
        """Mark the task as failed for ``message`` (kept as an "Error" artifact), and its ancestors."""
        self._change(Kind.FAIL, message)

    def retry(self) -> None:
        """Mark the task as waiting for a retry, its steps back to 0; its containers stay in progress."""
        self._change(Kind.RETRY)

    def cancel(self) -> None:
        """Cancel this record, its unfinished descendants and its unfinished ancestors.

        Pending tasks are revoked; a running task stops at its next progress call. Written at once, in a
        worker too.
        """
        self._change(Kind.CANCEL, at_once=True)

    def _change(self, kind: Kind, value: Any = None, *, at_once: bool = False) -> None:
        progress = kind in (Kind.STEPS, Kind.STATE)
        if self._writer is not None and not at_once:
            if self._canceled and progress:
                raise TaskCanceledException(f"The task {self.task_id} was canceled")
            self._writer.submit(Event.of(self, kind, value))
            return
        outcome = apply([Event.of(self, kind, value)])
        if outcome.missing:
            raise UserTaskStatus.DoesNotExist(f"No status record {self.uuid}")
        if self.uuid in outcome.canceled and kind is not Kind.CANCEL:
            raise TaskCanceledException(f"The task of {self.uuid} was canceled")


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
