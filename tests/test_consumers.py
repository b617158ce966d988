"""The WebSocket consumer on the real Redis layer: snapshot, live changes, subscriptions, the periodic digest,
memberships and access that last, big trees in bounded frames, bad input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis
from asgiref.sync import sync_to_async
from celery import chain, group
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path

from realtime_tasks.broadcast import tree_group, user_group
from realtime_tasks.canvas import record_canvas
from realtime_tasks.conf import conf
from realtime_tasks.consumers import TaskStatusConsumer
from realtime_tasks.models import UserTaskStatus
from realtime_tasks.serializers import MAX_FRAME_BYTES, followed_sequences
from tests.asgi import application
from tests.conftest import ROOT, process_env
from tests.tasks import step

pytestmark = [pytest.mark.services, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")


@database_sync_to_async
def make_user(name: str, *, staff: bool = False, view: bool = False) -> User:
    user = User.objects.create_user(name, is_staff=staff)
    if view:
        user.user_permissions.add(Permission.objects.get(codename="view_usertaskstatus"))
    return user


@database_sync_to_async
def make_tree(user: User) -> UserTaskStatus:
    record_canvas(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    return UserTaskStatus.objects.filter(user=user, parent=None).latest("created")


@database_sync_to_async
def first_leaf(root: UserTaskStatus) -> UserTaskStatus:
    return UserTaskStatus.objects.get(parent=root, position=0)


@database_sync_to_async
def sequence_of(root: UserTaskStatus) -> int:
    return UserTaskStatus.objects.get(pk=root.pk).sequence


@database_sync_to_async
def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def connect(
    user: User | None = None,
    origin: tuple[bytes, bytes] = ORIGIN,
    client: Client | None = None,
    app: Any = None,
) -> WebsocketCommunicator:
    headers = [origin]
    if user is not None:
        client = client or await logged_in(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(app or application, "/ws/tasks/", headers=headers)


@pytest_asyncio.fixture(autouse=True)
async def close_sync_thread_connections() -> AsyncIterator[None]:
    """Close the database connection of the thread that runs database_sync_to_async, or the test database
    cannot be dropped at the end."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest_asyncio.fixture
async def ada() -> User:
    return await make_user("ada")


@pytest_asyncio.fixture
async def socket(ada: User) -> AsyncIterator[WebsocketCommunicator]:
    communicator = await connect(ada)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "snapshot"
    yield communicator
    await communicator.disconnect()


@pytest.fixture
def short_keepalive(settings: Any) -> float:
    """A keep-alive period of one second: digests, re-checks and refreshes every second."""
    settings.REALTIME_TASKS_KEEPALIVE = 1
    return 1.0


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout=timeout)  # type: ignore[no-any-return]


async def receive_other_than_digest(
    communicator: WebsocketCommunicator, timeout: float = 5
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (message := await receive(communicator, max(deadline - time.monotonic(), 0.01)))[
        "type"
    ] == "digest":
        pass
    return message


async def nothing_but_digests(communicator: WebsocketCommunicator, seconds: float) -> list[dict[str, Any]]:
    """Every message for ``seconds``, all of which must be digests."""
    deadline = time.monotonic() + seconds
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        # Not receive_output with a timeout: its timeout stops the application.
        if await communicator.receive_nothing(timeout=min(left, 0.1)):
            continue
        message = await receive(communicator)
        assert message["type"] == "digest", message
        seen.append(message)
    return seen


async def test_anonymous_connection_is_closed_with_4401() -> None:
    communicator = await connect()
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}


async def test_connection_from_another_origin_is_refused(ada: User) -> None:
    communicator = await connect(ada, origin=(b"origin", b"https://evil.example"))
    connected, _ = await communicator.connect()
    assert not connected


async def test_snapshot_holds_own_trees_only_with_their_sequences(ada: User) -> None:
    mine = await make_tree(ada)
    await make_tree(await make_user("bob"))
    communicator = await connect(ada)
    await communicator.connect()
    snapshot = await receive(communicator)
    assert [(tree["root"], tree["sequence"]) for tree in snapshot["trees"]] == [
        (str(mine.uuid), await sequence_of(mine))
    ]
    assert len(snapshot["trees"][0]["records"]) == 5
    await communicator.disconnect()


async def test_committed_change_reaches_owner_with_versions_and_sequence(
    ada: User, socket: WebsocketCommunicator
) -> None:
    root = await make_tree(ada)
    created = await receive(socket)
    assert (created["type"], created["root"]) == ("status", str(root.uuid))
    # The whole tree, published in one transaction, arrives in one message; so does each change's roll-up.
    assert [record["version"] for record in created["records"]] == [1] * 5
    leaf = await first_leaf(root)
    await database_sync_to_async(leaf.start)()
    changed = await receive(socket)
    assert {(r["uuid"], r["state"], r["version"]) for r in changed["records"]} == {
        (str(leaf.uuid), "In Progress", 2),
        (str(root.uuid), "In Progress", 2),
    }
    assert changed["sequences"][-1] == await sequence_of(root)
    assert changed["sequences"][0] > created["sequences"][-1]


async def test_other_users_changes_never_arrive(socket: WebsocketCommunicator) -> None:
    bob = await make_user("bob")
    root = await make_tree(bob)
    await database_sync_to_async((await first_leaf(root)).start)()
    assert await socket.receive_nothing(timeout=0.5)


async def test_subscribe_to_foreign_tree_answers_as_for_a_missing_one(socket: WebsocketCommunicator) -> None:
    foreign = await make_tree(await make_user("bob"))
    await socket.receive_nothing(timeout=0.3)
    answers = []
    for root in (str(foreign.uuid), str(uuid.uuid4()), foreign.task_id, "realtime_tasks.user.2"):
        await socket.send_json_to({"type": "subscribe", "root": root})
        answer = await receive(socket)
        assert answer["root"] == root[:64]
        answers.append(
            {**answer, "root": "<root>", "message": answer["message"].replace(root[:64], "<root>")}
        )
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["code"] == "not_found"


async def test_subscribe_and_unsubscribe_own_tree(ada: User, socket: WebsocketCommunicator) -> None:
    root = await make_tree(ada)
    await receive(socket)  # its creation
    await socket.send_json_to({"type": "subscribe", "root": str(root.uuid)})
    tree = await receive(socket)
    assert (tree["type"], tree["root"], tree["part"], tree["parts"], len(tree["records"])) == (
        "tree",
        str(root.uuid),
        1,
        1,
        5,
    )
    assert tree["sequence"] == await sequence_of(root)
    await socket.send_json_to({"type": "unsubscribe", "root": str(root.uuid)})
    assert await receive(socket) == {"type": "unsubscribed", "root": str(root.uuid), "reason": "requested"}
    await database_sync_to_async((await first_leaf(root)).start)()
    assert await socket.receive_nothing(timeout=0.5)


async def test_staff_with_view_permission_follows_any_tree() -> None:
    staff = await make_user("root", staff=True, view=True)
    foreign = await make_tree(await make_user("bob"))
    communicator = await connect(staff)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "subscribe", "root": str(foreign.uuid)})
    assert (await receive(communicator))["type"] == "tree"
    # The subscription took a lease on the tree, so that its changes go to the tree's group.
    lease = await database_sync_to_async(lambda: UserTaskStatus.objects.get(pk=foreign.pk).followed_until)()
    assert lease is not None
    await database_sync_to_async((await first_leaf(foreign)).start)()
    changed = await receive(communicator)
    assert changed["root"] == str(foreign.uuid)
    assert {r["root"] for r in changed["records"]} == {str(foreign.uuid)}
    await communicator.disconnect()


async def test_staff_following_one_foreign_tree_receives_only_its_messages(short_keepalive: float) -> None:
    staff = await make_user("root", staff=True, view=True)
    bob = await make_user("bob")
    followed, other = await make_tree(bob), await make_tree(bob)
    mine = await make_tree(await make_user("cy"))
    communicator = await connect(staff)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "subscribe", "root": str(followed.uuid)})
    assert (await receive(communicator))["type"] == "tree"
    for root in (followed, other, mine, other, followed):
        leaf = await first_leaf(root)
        await database_sync_to_async(leaf.start)()
        await database_sync_to_async(leaf.succeed)()
    # Every tree ends with its final change: once the followed tree's arrived, the others' would have too.
    seen: dict[str, int] = {}
    final = await sequence_of(followed)
    while True:
        message = await receive_other_than_digest(communicator)
        assert message["type"] == "status"
        seen[message["root"]] = seen.get(message["root"], 0) + 1
        if message["sequences"][-1] == final:
            break
    assert await nothing_but_digests(communicator, 2 * short_keepalive)
    assert list(seen) == [str(followed.uuid)]
    assert 1 <= seen[str(followed.uuid)] <= 4
    await communicator.disconnect()


async def test_staff_without_view_permission_cannot_follow_others() -> None:
    staff = await make_user("root", staff=True)
    foreign = await make_tree(await make_user("bob"))
    communicator = await connect(staff)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "subscribe", "root": str(foreign.uuid)})
    assert (await receive(communicator))["code"] == "not_found"
    await communicator.disconnect()


async def test_resync_sends_a_fresh_snapshot(ada: User, socket: WebsocketCommunicator) -> None:
    root = await make_tree(ada)
    await receive(socket)
    await database_sync_to_async((await first_leaf(root)).start)()
    await receive(socket)
    await socket.send_json_to({"type": "resync"})
    snapshot = await receive(socket)
    states = {record["uuid"]: record["state"] for record in snapshot["trees"][0]["records"]}
    assert states[str(root.uuid)] == "In Progress"


async def test_ping_is_answered(socket: WebsocketCommunicator) -> None:
    await socket.send_json_to({"type": "ping"})
    answer = await receive(socket)
    assert answer["type"] == "pong"
    assert abs(answer["time"] - time.time()) < 60


class EchoConsumer(TaskStatusConsumer):
    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "time": 0, "echo": message.get("echo")})

    async def on_hello(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "hello"})


async def test_a_subclass_overrides_and_adds_message_handlers(ada: User) -> None:
    app = URLRouter([path("ws/tasks/", EchoConsumer.as_asgi())])  # type: ignore[arg-type]
    from channels.auth import AuthMiddlewareStack

    communicator = await connect(ada, app=AuthMiddlewareStack(app))
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "ping", "echo": 7})
    assert await receive(communicator) == {"type": "pong", "time": 0, "echo": 7}
    await communicator.send_json_to({"type": "hello"})
    assert await receive(communicator) == {"type": "hello"}
    await communicator.send_json_to({"type": "nothing"})
    error = await receive(communicator)
    assert "hello, ping, resync, subscribe, unsubscribe" in error["message"]
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        (json.dumps([1, 2]), "unknown_type"),
        (json.dumps({"type": "launch"}), "unknown_type"),
        (json.dumps({"type": "__init__"}), "unknown_type"),
        (json.dumps({"type": "ping pong"}), "unknown_type"),
        (json.dumps({"no": "type"}), "unknown_type"),
        (json.dumps({"type": "subscribe"}), "bad_message"),
        (json.dumps({"type": "subscribe", "root": 12}), "bad_message"),
    ],
)
async def test_bad_message_gets_an_error_and_the_connection_lives(
    frame: str, code: str, socket: WebsocketCommunicator
) -> None:
    await socket.send_to(text_data=frame)
    error = await receive(socket)
    assert (error["type"], error["code"]) == ("error", code)
    assert error["message"]
    await socket.send_json_to({"type": "ping"})
    assert (await receive(socket))["type"] == "pong"


@pytest.mark.parametrize(
    ("send", "code"),
    [
        ({"bytes_data": b"\x00\x01"}, 1003),
        ({"text_data": json.dumps({"type": "ping", "pad": "x" * 5000})}, 1009),
    ],
)
async def test_binary_or_oversized_frame_closes_with_its_code(
    send: dict[str, Any], code: int, socket: WebsocketCommunicator
) -> None:
    await socket.send_to(**send)
    assert await socket.receive_output() == {"type": "websocket.close", "code": code}


async def test_flood_closes_that_connection_only(ada: User, socket: WebsocketCommunicator) -> None:
    other = await connect(ada)
    await other.connect()
    await receive(other)
    for _ in range(conf.MAX_MESSAGES_PER_SECOND + 1):
        await socket.send_json_to({"type": "ping"})
    outputs = [await socket.receive_output() for _ in range(conf.MAX_MESSAGES_PER_SECOND + 1)]
    assert outputs[-1] == {"type": "websocket.close", "code": 4429}
    await other.send_json_to({"type": "ping"})
    assert (await receive(other))["type"] == "pong"
    await other.disconnect()


def group_members(name: str) -> int:
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        return int(client.zcard(f"{prefix}:group:{name}"))


async def test_disconnect_leaves_no_group_membership(ada: User) -> None:
    staff = await make_user("root", staff=True, view=True)
    foreign = await make_tree(ada)
    communicator = await connect(staff)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "subscribe", "root": str(foreign.uuid)})
    await receive(communicator)
    assert await sync_to_async(group_members)(tree_group(foreign.uuid)) == 1
    await communicator.disconnect()
    for name in (user_group(staff.pk), tree_group(foreign.uuid)):
        assert await sync_to_async(group_members)(name) == 0


async def test_digest_tells_the_sequence_of_every_followed_tree_each_period(
    ada: User, short_keepalive: float
) -> None:
    running, muted = await make_tree(ada), await make_tree(ada)
    communicator = await connect(ada)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "unsubscribe", "root": str(muted.uuid)})
    await receive(communicator)
    started = time.monotonic()
    digests = [await receive(communicator, timeout=2 * short_keepalive) for _ in range(3)]
    assert time.monotonic() - started < 4 * short_keepalive
    for digest in digests:
        assert digest == {"type": "digest", "trees": {str(running.uuid): await sequence_of(running)}}
    await communicator.disconnect()


async def test_a_digest_costs_one_query(ada: User) -> None:
    mine, muted = await make_tree(ada), await make_tree(ada)
    foreign = await make_tree(await make_user("bob"))

    def digest() -> tuple[int, dict[str, int]]:
        with CaptureQueriesContext(connection) as queries:
            trees = followed_sequences(ada, [str(foreign.uuid)], [str(muted.uuid)])
        return len(queries), trees

    assert await database_sync_to_async(digest)() == (1, {str(mine.uuid): 1, str(foreign.uuid): 1})


# Run in a process of its own, whose channel layer is a Redis that is not there: the change is committed,
# its broadcast fails and is dropped (the worker logs it). Exits 0 once the broadcaster saw the failure.
COMMIT_ELSEWHERE = """
import sys, time, django
django.setup()
from realtime_tasks.broadcast import broadcaster
from realtime_tasks.models import UserTaskStatus
UserTaskStatus.objects.get(uuid=sys.argv[1]).start()
deadline = time.monotonic() + 20
while not broadcaster._outage._failing:
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.05)
"""


async def test_broadcast_dropped_on_its_way_is_noticed_through_the_digest(
    ada: User, short_keepalive: float
) -> None:
    root = await make_tree(ada)
    communicator = await connect(ada)
    await communicator.connect()
    [tree] = (await receive(communicator))["trees"]
    leaf = await first_leaf(root)
    name = await database_sync_to_async(lambda: str(connection.settings_dict["NAME"]))()
    env = process_env(REALTIME_TASKS_TEST_CHANNEL_LAYER_URL="redis://127.0.0.1:9/0")
    env["REALTIME_TASKS_WORKER_DATABASE"] = name
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMMIT_ELSEWHERE, str(leaf.uuid), cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    assert await asyncio.wait_for(worker.wait(), 60) == 0
    committed = time.monotonic()
    # No status: the broadcast was lost. Within one period the digest shows the tree moved on (the digest
    # before it may have been read before the commit).
    while (digest := await receive(communicator, timeout=2 * short_keepalive))["trees"][tree["root"]] == tree[
        "sequence"
    ]:
        assert digest["type"] == "digest"
    assert digest["type"] == "digest"
    assert digest["trees"][tree["root"]] > tree["sequence"]
    assert time.monotonic() - committed < 2 * short_keepalive
    # The client re-fetches that tree alone, on the same connection, and shows the committed state.
    await communicator.send_json_to({"type": "subscribe", "root": tree["root"]})
    fetched = await receive_other_than_digest(communicator)
    assert fetched["sequence"] == digest["trees"][tree["root"]]
    states = {record["uuid"]: record["state"] for record in fetched["records"]}
    assert states[str(leaf.uuid)] == states[str(root.uuid)] == "In Progress"
    await communicator.disconnect()


async def test_connection_open_longer_than_group_expiry_still_receives_changes(
    ada: User, settings: Any
) -> None:
    layer_settings = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**layer_settings, "CONFIG": {**layer_settings["CONFIG"], "group_expiry": 3}}
    }
    root = await make_tree(ada)
    communicator = await connect(ada)
    await communicator.connect()
    await receive(communicator)
    # A membership nobody refreshes, beside the connection's: it expires.
    layer = get_channel_layer()
    assert layer is not None
    probe = await layer.new_channel()
    await layer.group_add(user_group(ada.pk), probe)
    await nothing_but_digests(communicator, 7)
    await database_sync_to_async((await first_leaf(root)).start)()
    changed = await receive_other_than_digest(communicator)
    assert (changed["type"], changed["root"]) == ("status", str(root.uuid))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(probe), 1)
    await communicator.disconnect()


async def test_logout_closes_the_connection_within_the_period(ada: User, short_keepalive: float) -> None:
    client = await logged_in(ada)
    communicator = await connect(ada, client=client)
    await communicator.connect()
    await receive(communicator)
    await database_sync_to_async(client.logout)()
    deadline = time.monotonic() + 2 * short_keepalive + 1
    while (output := await communicator.receive_output(timeout=deadline - time.monotonic()))[
        "type"
    ] == "websocket.send":
        assert json.loads(output["text"])["type"] == "digest"
    assert output == {"type": "websocket.close", "code": 4401}


async def test_lost_view_permission_mutes_foreign_trees_within_the_period(short_keepalive: float) -> None:
    staff = await make_user("root", staff=True, view=True)
    foreign = await make_tree(await make_user("bob"))
    communicator = await connect(staff)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "subscribe", "root": str(foreign.uuid)})
    assert (await receive(communicator))["type"] == "tree"
    await database_sync_to_async(staff.user_permissions.clear)()
    assert await receive_other_than_digest(communicator, timeout=2 * short_keepalive + 1) == {
        "type": "unsubscribed",
        "root": str(foreign.uuid),
        "reason": "forbidden",
    }
    assert await sync_to_async(group_members)(tree_group(foreign.uuid)) == 0
    await database_sync_to_async((await first_leaf(foreign)).start)()
    digests = await nothing_but_digests(communicator, 2 * short_keepalive)
    assert digests
    assert all(str(foreign.uuid) not in digest["trees"] for digest in digests)
    await communicator.disconnect()


@database_sync_to_async
def make_big_group(user: User, size: int) -> UserTaskStatus:
    record_canvas(group(step.si(user_id=user.pk) for _ in range(size)))
    return UserTaskStatus.objects.filter(user=user, parent=None).latest("created")


async def test_ten_thousand_task_group_never_makes_a_frame_over_1_mb(
    ada: User, socket: WebsocketCommunicator
) -> None:
    frames: list[dict[str, Any]] = []

    async def frame() -> dict[str, Any]:
        output = await socket.receive_output(timeout=60)
        assert len(output["text"].encode()) <= MAX_FRAME_BYTES
        message: dict[str, Any] = json.loads(output["text"])
        frames.append(message)
        return message

    root = await make_big_group(ada, 10_000)
    # Its creation: too many records for one message, so the root alone, marked truncated.
    created = await frame()
    assert (created["type"], created["truncated"], [r["uuid"] for r in created["records"]]) == (
        "status",
        True,
        [str(root.uuid)],
    )
    await socket.send_json_to({"type": "subscribe", "root": str(root.uuid)})
    parts = [await frame()]
    while parts[-1]["part"] < parts[-1]["parts"]:
        parts.append(await frame())
    assert [part["part"] for part in parts] == list(range(1, 22))  # 500 records a part
    records = [record for part in parts for record in part["records"]]
    assert len(records) == 10_001
    seen = set()
    for record in records:  # parents before children, across the parts
        assert record["parent"] is None or record["parent"] in seen
        seen.add(record["uuid"])
    await socket.send_json_to({"type": "resync"})
    snapshot = await frame()
    [listed] = snapshot["trees"]
    assert listed == {
        "root": str(root.uuid),
        "sequence": parts[0]["sequence"],
        "records": [],
        "parts": len(parts),
    }
    again = [await frame() for _ in range(len(parts))]
    assert again == parts
    assert len(frames) == 2 + 2 * len(parts)
