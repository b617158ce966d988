"""Committed status changes, coalesced per tree, sent to their owner's channel-layer group.

One broadcaster per process runs one event loop, in a thread of its own, or the ASGI server's loop when the
channel layer lives in memory (the in-memory layer only delivers on the loop that reads it). Every committed
change, in any thread, hands it the records it changed; the loop sends the first change of a tree at
once, then at most one message per tree per window, carrying the newest committed version of every record
that changed. The records of one change always travel in the same message.
Delivery is never relied upon: a send that fails is logged once per outage and clients resync.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
import uuid
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from .conf import conf
from .models import UserTaskStatus
from .serializers import serialize_changed

logger = logging.getLogger(__name__)

STAFF_GROUP = "realtime_tasks.staff"
# Consumers handle these as task_status (the owner's connections) and task_staff_status (staff).
MESSAGE_TYPE = "task.status"
STAFF_MESSAGE_TYPE = "task.staff_status"


def user_group(user_id: Any) -> str:
    """The channel-layer group of one user's connections.

    Group names allow ASCII letters, digits, "-", "_" and "." only, and fewer than 100 characters: a
    primary key that does not fit is hashed.
    """
    text = str(user_id)
    if not (text.replace("-", "").replace("_", "").isalnum() and text.isascii() and len(text) <= 64):
        text = hashlib.sha256(text.encode()).hexdigest()[:40]
    return f"realtime_tasks.user.{text}"


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


class Broadcaster:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        # Touched on the loop only: changes waiting per tree, flushes scheduled, last send per tree.
        self._waiting: dict[uuid.UUID, tuple[Any, dict[str, dict[str, Any]]]] = {}
        self._scheduled: set[uuid.UUID] = set()
        self._sent: dict[uuid.UUID, float] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._outage = OutageLog(
            "Status broadcasts are failing; clients will resync when they recover",
            "Status broadcasts work again",
        )

    def changes_committed(self, statuses: list[UserTaskStatus], **kwargs: Any) -> None:
        """Receives ``changes_committed``, in whatever thread committed the changes.

        A change's records are noted in one step of the loop, so a message never carries only part of them
        (a leaf that finished without its parent's new count).
        """
        if not conf.BROADCAST:
            return
        changes = [(status.root_id, status.user_id, serialize_changed(status)) for status in statuses]
        self._running_loop().call_soon_threadsafe(self._note, changes)

    def adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by a consumer on the ASGI server's loop: an in-memory layer must be sent to from there."""
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            with self._lock:
                self._loop, self._pid = loop, os.getpid()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked worker process inherits the object but not the thread running its loop.
            if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
                self._loop, self._pid = asyncio.new_event_loop(), os.getpid()
                thread = threading.Thread(
                    target=self._loop.run_forever, name="realtime-tasks-broadcast", daemon=True
                )
                thread.start()
            return self._loop

    def _note(self, changes: list[tuple[uuid.UUID, Any, dict[str, Any]]]) -> None:
        for root, user_id, payload in changes:
            _, records = self._waiting.setdefault(root, (user_id, {}))
            known = records.get(payload["uuid"])
            if known is None or known["version"] < payload["version"]:
                records[payload["uuid"]] = payload
            if root not in self._scheduled:
                self._scheduled.add(root)
                delay = self._sent.get(root, float("-inf")) + conf.BROADCAST_WINDOW - time.monotonic()
                asyncio.get_running_loop().call_later(max(delay, 0.0), self._flush, root)

    def _flush(self, root: uuid.UUID) -> None:
        self._scheduled.discard(root)
        user_id, records = self._waiting.pop(root)
        now = time.monotonic()
        self._sent[root] = now
        loop = asyncio.get_running_loop()
        # Forgotten once its window has passed, unless the tree was sent again meanwhile.
        loop.call_later(conf.BROADCAST_WINDOW, self._forget, root, now)
        # Held until done: the loop keeps only weak references to its tasks.
        sending = loop.create_task(self._send(user_id, list(records.values())))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    def _forget(self, root: uuid.UUID, sent_at: float) -> None:
        if self._sent.get(root) == sent_at:
            del self._sent[root]

    async def _send(self, user_id: Any, records: list[dict[str, Any]]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await layer.group_send(user_group(user_id), {"type": MESSAGE_TYPE, "records": records})
            await layer.group_send(STAFF_GROUP, {"type": STAFF_MESSAGE_TYPE, "records": records})
        except Exception as error:
            self._outage.failed(error)
            return
        self._outage.worked()


broadcaster = Broadcaster()
