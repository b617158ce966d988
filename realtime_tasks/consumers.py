"""The WebSocket consumer: a user's task trees, live. The protocol is in docs/protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from .broadcast import STAFF_GROUP, OutageLog, broadcaster, user_group
from .conf import conf
from .serializers import find_tree, serialize_trees, user_snapshot

# Close codes, documented in docs/protocol.md.
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_TOO_BIG = 1009
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_TOO_MANY_MESSAGES = 4429
CLOSE_LAYER_FAILING = 4503

# What the channel layer raises while its Redis is away.
LAYER_ERRORS = (RedisError, OSError)
layer_outage = OutageLog(
    "The channel layer is failing: WebSockets are closed (4503), their clients poll until they reconnect",
    "The channel layer works again for WebSockets",
)


class TaskStatusConsumer(AsyncWebsocketConsumer):
    """Sends the user's trees on connect, then every change of them; answers subscribe, unsubscribe,
    resync and ping."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as error:
            # Changes can no longer reach this connection. Closed, its client reconnects (polling meanwhile)
            # and gets a snapshot once the layer is back: nothing is missed. Logged once per outage.
            layer_outage.failed(error)
            with contextlib.suppress(Exception):  # the connection may be gone already
                await send({"type": "websocket.close", "code": CLOSE_LAYER_FAILING})

    async def connect(self) -> None:
        self.user: Any = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            # Accepted first: a close before accepting reaches the browser as a failed handshake, no code.
            await self.accept()
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        broadcaster.adopt(asyncio.get_running_loop())
        self.group = user_group(self.user.pk)
        # Foreign trees a staff member subscribed to, and own trees the client unsubscribed from.
        self.foreign: set[str] = set()
        self.muted: set[str] = set()
        self.window_start = time.monotonic()
        self.window_count = 0
        await self.channel_layer.group_add(self.group, self.channel_name)
        layer_outage.worked()
        await self.accept()
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            if self.foreign:
                await self.channel_layer.group_discard(STAFF_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self._within_rate():
            await self.close(code=CLOSE_TOO_MANY_MESSAGES)
            return
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        if len(text_data.encode()) > conf.MAX_MESSAGE_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_json", _("The message is not valid JSON."))
            return
        kind = message.get("type") if isinstance(message, dict) else None
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            known = ", ".join(sorted(self.HANDLERS))
            await self.send_error(
                "unknown_type", _("A message needs a type, one of: %(types)s.") % {"types": known}
            )
            return
        await handler(self, message)

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        root = await self._visible_root(message)
        if root is None:
            return
        if root.user_id == self.user.pk:
            self.muted.discard(str(root.uuid))
        elif not self.foreign:
            await self.channel_layer.group_add(STAFF_GROUP, self.channel_name)
        if root.user_id != self.user.pk:
            self.foreign.add(str(root.uuid))
        [tree] = await database_sync_to_async(serialize_trees)([root.uuid])
        await self.send_json({"type": "tree", **tree})

    async def on_unsubscribe(self, message: dict[str, Any]) -> None:
        root = await self._visible_root(message)
        if root is None:
            return
        key = str(root.uuid)
        if root.user_id == self.user.pk:
            self.muted.add(key)
        else:
            self.foreign.discard(key)
            if not self.foreign:
                await self.channel_layer.group_discard(STAFF_GROUP, self.channel_name)
        await self.send_json({"type": "unsubscribed", "root": key})

    async def on_resync(self, message: dict[str, Any]) -> None:
        await self.send_snapshot()

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "time": time.time()})

    HANDLERS: ClassVar[dict[str, Callable[[Any, dict[str, Any]], Awaitable[None]]]] = {
        "subscribe": on_subscribe,
        "unsubscribe": on_unsubscribe,
        "resync": on_resync,
        "ping": on_ping,
    }

    async def task_status(self, event: dict[str, Any]) -> None:
        """Called with changes of the user's own trees (the user group)."""
        await self._forward([r for r in event["records"] if r["root"] not in self.muted])

    async def task_staff_status(self, event: dict[str, Any]) -> None:
        """Called with changes of everyone's trees (the staff group), for the foreign trees subscribed to."""
        await self._forward([r for r in event["records"] if r["root"] in self.foreign])

    async def _forward(self, records: list[dict[str, Any]]) -> None:
        if records:
            await self.send_json({"type": "status", "records": records})

    async def send_snapshot(self) -> None:
        trees = await database_sync_to_async(user_snapshot)(self.user)
        trees = [tree for tree in trees if tree["root"] not in self.muted]
        if self.foreign:
            trees += await database_sync_to_async(serialize_trees)(map(uuid.UUID, self.foreign))
        await self.send_json({"type": "snapshot", "trees": trees})

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def _visible_root(self, message: dict[str, Any]) -> Any:
        """The tree a message names, if this user may see it; otherwise an error, the same whether the tree
        is missing or someone else's."""
        root = message.get("root")
        if not isinstance(root, str):
            await self.send_error(
                "bad_message",
                _("A %(type)s message needs a root: a tree's uuid.") % {"type": message["type"]},
            )
            return None
        found = await database_sync_to_async(find_tree)(self.user, root)
        if found is None:
            await self.send_error(
            "not_found", _("No task tree %(root)s was found.") % {"root": repr(str(root)[:64])}
        )
        return found

    def _within_rate(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return bool(self.window_count <= conf.MAX_MESSAGES_PER_SECOND)
