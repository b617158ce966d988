"""The WebSocket consumer on the real Redis layer: snapshot, live changes, subscriptions, bad input."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis
from asgiref.sync import sync_to_async
from celery import chain, group
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.test import Client

from realtime_tasks.broadcast import STAFF_GROUP, user_group
from realtime_tasks.canvas import record_canvas
from realtime_tasks.conf import conf
from realtime_tasks.models import UserTaskStatus
from tests.asgi import application
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
    return UserTaskStatus.objects.get(parent=root.uuid, position=0)


@database_sync_to_async
def session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(user: User | None = None, origin: tuple[bytes, bytes] = ORIGIN) -> WebsocketCommunicator:
    headers = [origin]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    return WebsocketCommunicator(application, "/ws/tasks/", headers=headers)


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


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout=timeout)  # type: ignore[no-any-return]


async def test_anonymous_connection_is_closed_with_4401() -> None:
    communicator = await connect()
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}


async def test_connection_from_another_origin_is_refused(ada: User) -> None:
    communicator = await connect(ada, origin=(b"origin", b"https://evil.example"))
    connected, _ = await communicator.connect()
    assert not connected


async def test_snapshot_holds_own_trees_only(ada: User) -> None:
    mine = await make_tree(ada)
    await make_tree(await make_user("bob"))
    communicator = await connect(ada)
    await communicator.connect()
    snapshot = await receive(communicator)
    assert [tree["root"] for tree in snapshot["trees"]] == [str(mine.uuid)]
    assert len(snapshot["trees"][0]["records"]) == 5
    await communicator.disconnect()


async def test_committed_change_reaches_owner_with_versions(ada: User, socket: WebsocketCommunicator) -> None:
    root = await make_tree(ada)
    created = await receive(socket)
    assert created["type"] == "status"
    # The whole tree, published in one transaction, arrives in one message; so does each change's roll-up.
    assert [record["version"] for record in created["records"]] == [1] * 5
    leaf = await first_leaf(root)
    await database_sync_to_async(leaf.start)()
    changed = await receive(socket)
    assert {(r["uuid"], r["state"], r["version"]) for r in changed["records"]} == {
        (str(leaf.uuid), "In Progress", 2),
        (str(root.uuid), "In Progress", 2),
    }


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
        answers.append({**answer, "message": answer["message"].replace(root[:64], "<root>")})
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["code"] == "not_found"


async def test_subscribe_and_unsubscribe_own_tree(ada: User, socket: WebsocketCommunicator) -> None:
    root = await make_tree(ada)
    await receive(socket)  # its creation
    await socket.send_json_to({"type": "subscribe", "root": str(root.uuid)})
    tree = await receive(socket)
    assert (tree["type"], tree["root"], len(tree["records"])) == ("tree", str(root.uuid), 5)
    await socket.send_json_to({"type": "unsubscribe", "root": str(root.uuid)})
    assert await receive(socket) == {"type": "unsubscribed", "root": str(root.uuid)}
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
    await database_sync_to_async((await first_leaf(foreign)).start)()
    changed = await receive(communicator)
    assert {r["root"] for r in changed["records"]} == {str(foreign.uuid)}
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
    assert (await receive(socket))["type"] == "pong"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        (json.dumps([1, 2]), "unknown_type"),
        (json.dumps({"type": "launch"}), "unknown_type"),
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


async def test_disconnect_leaves_no_group_membership(ada: User) -> None:
    staff = await make_user("root", staff=True, view=True)
    foreign = await make_tree(ada)
    communicator = await connect(staff)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "subscribe", "root": str(foreign.uuid)})
    await receive(communicator)
    await communicator.disconnect()
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        for name in (user_group(staff.pk), STAFF_GROUP):
            assert await sync_to_async(client.zcard)(f"{prefix}:group:{name}") == 0
