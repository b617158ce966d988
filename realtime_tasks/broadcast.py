"""Committed status changes, coalesced per tree, sent to the channel-layer groups that follow the tree.

One broadcaster per process runs one event loop, in a thread of its own, or the ASGI server's loop when the
channel layer lives in memory (the in-memory layer only delivers on the loop that reads it). Every committed
change of a tree, in any thread, hands it the records it changed, the tree's root and the tree's new
sequence; the loop sends the first change of a tree at once, then, while the tree keeps changing, one
message per window at most, carrying the newest committed version of every record that changed and the
sequences of the changes it holds. The windows follow one another as slots of one message each: a message
sent late in its slot (after a batch that committed a little late) leaves the next slot where it was, so
the lateness of one message does not carry over to the next ones of a tree that changes about once per
window. The records of one change always travel in the same message.

A change goes to its owner's group, and also to the tree's own group while a staff connection follows the
tree (the root's ``followed_until`` lease): a change nobody else follows is sent once.
Delivery is never relied upon: a send that fails is logged once per outage, and clients notice what they
missed through the sequences and the consumer's digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.utils import timezone

from .conf import conf
from .models import UserTaskStatus
from .serializers import RECORDS_BYTES, serialize_changed, size

logger = logging.getLogger(__name__)

# Consumers handle it as task_status, whichever group it came through.
MESSAGE_TYPE = "task.status"


def user_group(user_id: Any) -> str:
    """The channel-layer group of one user's connections.

    Group names allow ASCII letters, digits, "-", "_" and "." only, and fewer than 100 characters: a
    primary key that does not fit is hashed.
    """
    text = str(user_id)
    if not (text.replace("-", "").replace("_", "").isalnum() and text.isascii() and len(text) <= 64):
        text = hashlib.sha256(text.encode()).hexdigest()[:40]
    return f"realtime_tasks.user.{text}"


def tree_group(root: uuid.UUID | str) -> str:
    """The channel-layer group of the connections following a tree that is not their user's."""
    return f"realtime_tasks.tree.{uuid.UUID(str(root)).hex}"


class OutageLog:
    """Logs a failing channel layer once per outage, however many sends or connections fail during it."""

    def __init__(self, failing: str, recovered: str) -> None:
        self._failing_message = failing
        self._recovered_message = recovered
        self._failing = False

    def failed(self, error: BaseException) -> None:
        if not self._failing:
            self._failing = True
            logger.error(self._failing_message, exc_info=error)

    def worked(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning(self._recovered_message)


@dataclass
class _Waiting:
    """What waits to be sent of one tree."""

    owner: str
    root: dict[str, Any] | None = None
    sequences: set[int] = field(default_factory=set)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False
    followed_until: datetime | None = None

    def add(self, change: _Change) -> None:
        if change.root is not None and (self.root is None or self.root["version"] < change.root["version"]):
            self.root = change.root
        self.sequences.add(change.sequence)
        if change.followed_until is not None:
            self.followed_until = max(self.followed_until or change.followed_until, change.followed_until)
        self.truncated = self.truncated or change.truncated
        if self.truncated:
            self.records.clear()
            return
        for payload in change.records:
            known = self.records.get(payload["uuid"])
            if known is None or known["version"] < payload["version"]:
                self.records[payload["uuid"]] = payload
        self.truncated = len(self.records) > conf.MESSAGE_RECORDS
        if self.truncated:
            self.records.clear()

    def message(self, root: uuid.UUID) -> dict[str, Any]:
        records = list(self.records.values())
        truncated = self.truncated or size(records) > RECORDS_BYTES
        message: dict[str, Any] = {
            "type": MESSAGE_TYPE,
            "owner": self.owner,
            "root": str(root),
            "sequences": sorted(self.sequences),
            "records": [self.root] if truncated and self.root is not None else records,
        }
        if truncated:
            message["truncated"] = True
        return message


@dataclass
class _Change:
    """One committed change of one tree, serialized in the thread that committed it."""

    root_uuid: uuid.UUID
    owner: str
    sequence: int
    root: dict[str, Any] | None
    records: list[dict[str, Any]]
    truncated: bool
    followed_until: datetime | None


class _Queue:
    """The changes waiting on one event loop. Touched on that loop only."""

    def __init__(self, loop: asyncio.AbstractEventLoop, outage: OutageLog) -> None:
        self.loop = loop
        self.outage = outage
        self.waiting: dict[uuid.UUID, _Waiting] = {}
        self.timers: dict[uuid.UUID, asyncio.Handle] = {}
        # When each tree that sent lately may send again: one slot per window while it keeps changing.
        self.next_slot: dict[uuid.UUID, float] = {}
        self.sending: set[asyncio.Task[None]] = set()
        # Set once the broadcaster moved to another loop: what still arrives here is handed on.
        self.moved_to: _Queue | None = None

    def note(self, changes: list[_Change]) -> None:
        if self.moved_to is not None:
            self.moved_to.loop.call_soon_threadsafe(self.moved_to.note, changes)
            return
        for change in changes:
            self.waiting.setdefault(change.root_uuid, _Waiting(change.owner)).add(change)
            if change.root_uuid not in self.timers:
                delay = self.next_slot.get(change.root_uuid, float("-inf")) - time.monotonic()
                self.timers[change.root_uuid] = self.loop.call_later(
                    max(delay, 0.0), self.flush, change.root_uuid
                )

    def move(self, target: _Queue) -> None:
        """Hand everything waiting to ``target`` (on its loop) and cancel the flushes scheduled here."""
        self.moved_to = target
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        waiting, self.waiting = self.waiting, {}
        target.loop.call_soon_threadsafe(target.take, waiting)

    def take(self, waiting: dict[uuid.UUID, _Waiting]) -> None:
        for root, pending in waiting.items():
            self.waiting[root] = pending
            if root not in self.timers:
                self.timers[root] = self.loop.call_soon(self.flush, root)

    def flush(self, root: uuid.UUID) -> None:
        self.timers.pop(root, None)
        pending = self.waiting.pop(root, None)
        if pending is None:
            return
        now, window = time.monotonic(), conf.BROADCAST_WINDOW
        # The next slot follows this message's slot, not the moment it went out: a tree that changes about
        # once per window is not held back by however late its previous message was (a writer's batch that
        # committed a little late), which would otherwise carry over to every later message. A message
        # more than a window after its slot starts the slots afresh.
        slot = self.next_slot.get(root)
        start = slot if slot is not None and slot > now - window else now
        self.next_slot[root] = start + window
        # Forgotten once it would start afresh anyway, unless the tree was sent again meanwhile.
        self.loop.call_later(start + 2 * window - now, self._forget, root, start + window)
        followed = pending.followed_until is not None and pending.followed_until > timezone.now()
        # Held until done: the loop keeps only weak references to its tasks.
        sending = self.loop.create_task(self._send(pending.owner, root, pending.message(root), followed))
        self.sending.add(sending)
        sending.add_done_callback(self.sending.discard)

    def _forget(self, root: uuid.UUID, slot: float) -> None:
        if self.next_slot.get(root) == slot:
            del self.next_slot[root]

    async def _send(self, owner: str, root: uuid.UUID, message: dict[str, Any], followed: bool) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await layer.group_send(user_group(owner), message)
            if followed:
                await layer.group_send(tree_group(root), message)
        except Exception as error:
            self.outage.failed(error)
            return
        self.outage.worked()


class Broadcaster:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: _Queue | None = None
        self._pid = 0
        # A forked child inherits the lock, maybe held by another thread of the parent at the fork.
        os.register_at_fork(after_in_child=self._forked)
        self._outage = OutageLog(
            "Status broadcasts are failing; clients will notice what they missed and re-fetch it",
            "Status broadcasts work again",
        )

    def _forked(self) -> None:
        self._lock = threading.Lock()

    def changes_committed(
        self, statuses: list[UserTaskStatus], root: UserTaskStatus, sequence: int, **kwargs: Any
    ) -> None:
        """Receives ``changes_committed`` (one committed change of one tree), in whatever thread committed it.

        A change's records are noted in one step of the loop, so a message never carries only part of them
        (a leaf that finished without its parent's new count). A change of more records than a message
        holds is not serialized: its message says it was truncated, and clients fetch the tree.
        """
        if not conf.BROADCAST:
            return
        truncated = len(statuses) > conf.MESSAGE_RECORDS
        records = [] if truncated else [serialize_changed(status) for status in statuses]
        change = _Change(
            root_uuid=root.uuid,
            owner=str(root.user_id),
            sequence=sequence,
            root=serialize_changed(root),
            records=records,
            truncated=truncated,
            followed_until=root.followed_until,
        )
        queue = self._current_queue()
        queue.loop.call_soon_threadsafe(queue.note, [change])

    def adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by a consumer on the ASGI server's loop: an in-memory layer must be sent to from there.

        What waits on the broadcaster's own loop moves to ``loop``, nothing stays scheduled there.
        """
        if not isinstance(get_channel_layer(), InMemoryChannelLayer):
            return
        with self._lock:
            old = self._queue
            if old is not None and old.loop is loop and self._pid == os.getpid():
                return
            self._queue, self._pid = _Queue(loop, self._outage), os.getpid()
            if old is not None and not old.loop.is_closed():
                old.loop.call_soon_threadsafe(old.move, self._queue)

    def _current_queue(self) -> _Queue:
        with self._lock:
            queue = self._queue
            # A forked worker process inherits the object but not the thread running its loop.
            if queue is None or self._pid != os.getpid() or queue.loop.is_closed():
                loop = asyncio.new_event_loop()
                queue = self._queue = _Queue(loop, self._outage)
                self._pid = os.getpid()
                threading.Thread(
                    target=loop.run_forever, name="realtime-tasks-broadcast", daemon=True
                ).start()
            return queue


broadcaster = Broadcaster()
