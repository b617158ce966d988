"""The WebSocket consumer: a user's task trees, live. The protocol is in docs/protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from .broadcast import MESSAGE_TYPE, OutageLog, broadcaster, tree_group, user_group
from .conf import conf
from .models import UserTaskStatus
from .serializers import followed_sequences, serialize_trees, snapshot_messages, tree_messages, user_snapshot

logger = logging.getLogger(__name__)

# Close codes, documented in docs/protocol.md.
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_TOO_MANY_MESSAGES = 4429
CLOSE_LAYER_FAILING = 4503

# Why a tree stops being sent (the ``reason`` of ``unsubscribed``).
REASON_REQUESTED = "requested"
REASON_FORBIDDEN = "forbidden"

# What the channel layer raises while its Redis is away.
LAYER_ERRORS = (RedisError, OSError)
layer_outage = OutageLog(
    "The channel layer is failing: WebSockets are closed (4503), their clients poll until they reconnect",
    "The channel layer works again for WebSockets",
)
# channels-redis's default, for a layer that does not say.
GROUP_EXPIRY = 86400


class TaskStatusConsumer(AsyncWebsocketConsumer):
    """Sends the user's trees on connect, then every change of them, and a digest of their sequences once per
    keep-alive period; answers subscribe, unsubscribe, resync and ping.

    A client message of type ``t`` is handled by the method ``on_t``: a subclass adds a message type, or
    changes one, by defining that method.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as error:
            # Changes can no longer reach this connection. Closed, its client reconnects (polling meanwhile)
            # and gets a snapshot once the layer is back: nothing is missed. Logged once per outage.
            layer_outage.failed(error)
            with contextlib.suppress(Exception):  # the connection may be gone already
                await send({"type": "websocket.close", "code": CLOSE_LAYER_FAILING})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes its sync thread's stale database connections before every handler: a hop to that
        # thread. A status message (a busy tree sends one per window) reads nothing, so it skips the hop, a
        # third of daphne's time per status message (py-spy); every handler that reads the database does so
        # through database_sync_to_async, which closes them there.
        if message["type"] == MESSAGE_TYPE:
            await self.task_status(message)
            return
        await super().dispatch(message)

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
        self.keeper = asyncio.get_running_loop().create_task(self._keep())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "keeper"):
            self.keeper.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            for root in self.foreign:
                await self.channel_layer.group_discard(tree_group(root), self.channel_name)
            # The trees' leases are left to expire: another connection may follow them too.

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
        handler = getattr(self, f"on_{kind}", None) if isinstance(kind, str) and kind.isidentifier() else None
        if handler is None:
            known = ", ".join(self.message_types())
            await self.send_error(
                "unknown_type", _("A message needs a type, one of: %(types)s.") % {"types": known}
            )
            return
        await handler(message)

    def message_types(self) -> list[str]:
        """The types of client message this consumer handles: its ``on_<type>`` methods."""
        return sorted(
            name[3:] for name in dir(self) if name.startswith("on_") and callable(getattr(self, name))
        )

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        """Called with ``{"type": "subscribe", "root": ...}``: answers the tree, and follows it."""
        root = await self._visible_root(message)
        if root is None:
            return
        key = str(root.uuid)
        if root.user_id == self.user.pk:
            self.muted.discard(key)
        elif key not in self.foreign:
            # Group first, lease second, tree last: a change committed after the tree was read is sent to
            # the group, one committed before is in the tree.
            await self.channel_layer.group_add(tree_group(key), self.channel_name)
            self.foreign.add(key)
            await database_sync_to_async(UserTaskStatus.objects.filter(pk=root.pk).follow)(self.lease())
        trees = await database_sync_to_async(serialize_trees)([root.uuid])
        if not trees:  # deleted meanwhile
            await self.send_not_found(key)
            return
        for part in tree_messages(trees[0]):
            await self.send_json(part)

    async def on_unsubscribe(self, message: dict[str, Any]) -> None:
        """Called with ``{"type": "unsubscribe", "root": ...}``: stops sending the tree."""
        root = await self._visible_root(message)
        if root is None:
            return
        key = str(root.uuid)
        if root.user_id == self.user.pk:
            self.muted.add(key)
        elif key in self.foreign:
            await self._leave(key)
        await self.send_json({"type": "unsubscribed", "root": key, "reason": REASON_REQUESTED})

    async def on_resync(self, message: dict[str, Any]) -> None:
        """Called with ``{"type": "resync"}``: answers a snapshot."""
        await self.send_snapshot()

    async def on_ping(self, message: dict[str, Any]) -> None:
        """Called with ``{"type": "ping"}``: answers ``pong``."""
        await self.send_json({"type": "pong", "time": time.time()})

    async def task_status(self, event: dict[str, Any]) -> None:
        """Called with the changes of one tree: an own one (the user group) or a followed one (its group)."""
        root = event["root"]
        own = event["owner"] == str(self.user.pk)
        if (root in self.muted) if own else (root not in self.foreign):
            return
        message = {
            "type": "status",
            "root": root,
            "sequences": event["sequences"],
            "records": event["records"],
        }
        if event.get("truncated"):
            message["truncated"] = True
        await self.send_json(message)

    async def send_snapshot(self) -> None:
        trees = await database_sync_to_async(self._snapshot_trees)()
        for message in snapshot_messages(trees):
            await self.send_json(message)

    def _snapshot_trees(self) -> list[dict[str, Any]]:
        trees = [tree for tree in user_snapshot(self.user) if tree["root"] not in self.muted]
        if self.foreign:
            trees += serialize_trees(map(uuid.UUID, sorted(self.foreign)))
        return trees

    async def send_error(self, code: str, message: str, **fields: Any) -> None:
        await self.send_json({"type": "error", "code": code, **fields, "message": message})

    async def send_not_found(self, root: Any) -> None:
        """The answer to a request naming a tree this user cannot see; it names the root as the request did
        (its first 64 characters), so that a client with several requests out knows which it answers."""
        named = str(root)[:64]
        await self.send_error(
            "not_found", _("No task tree %(root)s was found.") % {"root": repr(named)}, root=named
        )

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    def lease(self) -> float:
        """How long a followed tree's lease lasts: two keep-alive periods, refreshed every period."""
        return 2 * float(conf.KEEPALIVE)

    def period(self) -> float:
        """How often the connection sends its digest, re-checks its user and refreshes its groups: at least
        once per keep-alive period, and twice per channel-layer ``group_expiry``."""
        expiry = float(getattr(self.channel_layer, "group_expiry", GROUP_EXPIRY))
        return min(float(conf.KEEPALIVE), expiry / 2)

    async def _keep(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.period())
                if not await self.keep_alive():
                    return
        except LAYER_ERRORS as error:
            layer_outage.failed(error)
            await self.close(code=CLOSE_LAYER_FAILING)
        except Exception:
            # The connection can no longer promise its digest: closed, its client reconnects and resyncs.
            logger.exception("The keep-alive of a task WebSocket failed")
            await self.close(code=CLOSE_SERVER_ERROR)

    async def keep_alive(self) -> bool:
        """Called once per period: re-checks the user's access, refreshes the group memberships and the
        followed trees' leases, and sends the digest. Returns whether the connection stays open."""
        user, forbidden = await database_sync_to_async(self._check_access)(set(self.foreign))
        if user is None:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return False
        self.user = user
        for key in forbidden:
            await self._leave(key)
            await self.send_json({"type": "unsubscribed", "root": key, "reason": REASON_FORBIDDEN})
        await self.channel_layer.group_add(self.group, self.channel_name)
        for key in self.foreign:
            await self.channel_layer.group_add(tree_group(key), self.channel_name)
        trees = await database_sync_to_async(self._renew)(sorted(self.foreign), sorted(self.muted))
        await self.send_json({"type": "digest", "trees": trees})
        return True

    def _check_access(self, foreign: set[str]) -> tuple[Any, list[str]]:
        """The connection's user as the database knows them now (None once their session no longer
        authenticates them), and the foreign trees they may no longer see."""
        user = self._current_user()
        if user is None or not user.is_authenticated or user.pk != self.user.pk:
            return None, []
        if not foreign:
            return user, []
        visible = (
            UserTaskStatus.objects.visible_to(user).filter(uuid__in=foreign).values_list("uuid", flat=True)
        )
        return user, sorted(foreign - {str(key) for key in visible})

    def _current_user(self) -> Any:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if session is None or key is None:
            # Authenticated otherwise than by a session: the user as stored now.
            model = type(self.user)
            return model._default_manager.filter(pk=self.user.pk, is_active=True).first()
        # A fresh read of the session: logging out elsewhere flushes it, a password change voids its hash.
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        return auth.get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]

    def _find_root(self, root: str) -> UserTaskStatus | None:
        return UserTaskStatus.objects.visible_to(self.user).find_root(root)

    def _renew(self, foreign: list[str], muted: list[str]) -> dict[str, int]:
        UserTaskStatus.objects.filter(uuid__in=foreign).follow(self.lease())
        return followed_sequences(self.user, foreign, muted)

    async def _leave(self, key: str) -> None:
        self.foreign.discard(key)
        await self.channel_layer.group_discard(tree_group(key), self.channel_name)

    async def _visible_root(self, message: dict[str, Any]) -> UserTaskStatus | None:
        """The tree a message names, if this user may see it; otherwise an error, the same whether the tree
        is missing or someone else's."""
        root = message.get("root")
        if not isinstance(root, str):
            await self.send_error(
                "bad_message",
                _("A %(type)s message needs a root: a tree's uuid.") % {"type": message["type"]},
            )
            return None
        found = await database_sync_to_async(self._find_root)(root)
        if found is None:
            await self.send_not_found(root)
        return found

    def _within_rate(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return bool(self.window_count <= conf.MAX_MESSAGES_PER_SECOND)
