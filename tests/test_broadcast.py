"""Broadcasting: group names, who a change is sent to, the switch to the server's loop, and a channel layer
that goes away and comes back (a private Redis)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from celery import chain, group
from channels.layers import get_channel_layer
from django.contrib.auth.models import User

from realtime_tasks.broadcast import Broadcaster, tree_group, user_group
from realtime_tasks.canvas import record_canvas
from realtime_tasks.models import UserTaskStatus
from tests.conftest import PrivateRedis
from tests.tasks import step


@pytest.mark.parametrize(
    ("user_id", "group_name"),
    [
        (7, "realtime_tasks.user.7"),
        ("3f0c1a52-3f63-4f38-9a4a-2c0d6c4f4b10", "realtime_tasks.user.3f0c1a52-3f63-4f38-9a4a-2c0d6c4f4b10"),
        ("ada@example.com", "realtime_tasks.user." + hashlib.sha256(b"ada@example.com").hexdigest()[:40]),
        ("x" * 200, "realtime_tasks.user." + hashlib.sha256(b"x" * 200).hexdigest()[:40]),
    ],
)
def test_user_group_names_are_valid_channel_layer_names(user_id: Any, group_name: str) -> None:
    assert user_group(user_id) == group_name


def receive_one(channel: str) -> dict[str, Any]:
    layer = get_channel_layer()
    assert layer is not None
    return async_to_sync(layer.receive)(channel)  # type: ignore[no-any-return]


@pytest.mark.django_db(transaction=True)
def test_redis_outage_fails_no_change_is_logged_once_and_recovers(
    private_redis: PrivateRedis, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [private_redis.url]},
        }
    }
    settings.REALTIME_TASKS_BROADCAST_WINDOW = 0.0
    user = User.objects.create_user("ada")
    record_canvas(group(step.si(user_id=user.pk, steps=100) for _ in range(3)))
    leaves = list(UserTaskStatus.objects.filter(is_container=False))
    caplog.set_level(logging.WARNING, logger="realtime_tasks.broadcast")

    private_redis.stop()
    for leaf in leaves:
        leaf.start()
        for _ in range(5):
            leaf.increment_completed_steps()
    time.sleep(1)  # the broadcasts fail in the background
    assert UserTaskStatus.objects.get(parent=None).completed_steps == 15
    failures = [r for r in caplog.records if "failing" in r.getMessage()]
    assert len(failures) == 1

    private_redis.start()
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user.pk), channel)
    leaves[0].succeed()
    message = receive_one(channel)
    assert {record["uuid"]: record["completed_steps"] for record in message["records"]}[
        str(leaves[0].uuid)
    ] == 100
    deadline = time.monotonic() + 5
    while not any("work again" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_tree_group_names_are_valid_channel_layer_names() -> None:
    root = uuid.UUID("3f0c1a52-3f63-4f38-9a4a-2c0d6c4f4b10")
    assert tree_group(root) == tree_group(str(root)) == "realtime_tasks.tree.3f0c1a523f634f389a4a2c0d6c4f4b10"


def receive_within(channel: str, seconds: float) -> dict[str, Any]:
    layer = get_channel_layer()
    assert layer is not None

    async def receive() -> dict[str, Any]:
        return await asyncio.wait_for(layer.receive(channel), seconds)  # type: ignore[no-any-return]

    return async_to_sync(receive)()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_change_goes_to_the_tree_group_only_while_a_follower_holds_its_lease(settings: Any) -> None:
    settings.REALTIME_TASKS_BROADCAST_WINDOW = 0.0
    user = User.objects.create_user("ada")
    layer = get_channel_layer()
    assert layer is not None
    owner, follower = async_to_sync(layer.new_channel)(), async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user.pk), owner)
    record_canvas(chain(step.si(user_id=user.pk), step.si(user_id=user.pk)))
    assert receive_within(owner, 10)["sequences"] == [1]  # its creation
    root = UserTaskStatus.objects.get(parent=None)
    leaf = UserTaskStatus.objects.get(parent=root, position=0)
    async_to_sync(layer.group_add)(tree_group(root.uuid), follower)

    leaf.start()  # nobody holds a lease: sent to the owner's group only
    started = receive_within(owner, 10)
    UserTaskStatus.objects.filter(pk=root.pk).follow(30)
    leaf.succeed()  # a lease is held: sent to both
    succeeded = receive_within(owner, 10)
    # A channel receives in order: had the start gone to the tree's group, it would come first.
    assert receive_within(follower, 10) == succeeded
    assert succeeded["sequences"][0] > started["sequences"][-1]
    assert {r["uuid"]: r["state"] for r in succeeded["records"]}[str(leaf.uuid)] == "Succeeded"


@pytest.mark.django_db(transaction=True)
def test_adopt_moves_what_waits_to_the_servers_loop_and_leaves_nothing_on_the_old_one(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.REALTIME_TASKS_BROADCAST_WINDOW = 60
    user = User.objects.create_user("ada")
    record_canvas(group(step.si(user_id=user.pk) for _ in range(2)))
    root = UserTaskStatus.objects.get(parent=None)
    leaves = list(UserTaskStatus.objects.filter(parent=root).order_by("position"))
    broadcaster = Broadcaster()
    # The first change of the tree goes out at once, on the broadcaster's own loop; the second waits for
    # its window (a minute) there.
    broadcaster.changes_committed(statuses=[leaves[0], root], root=root, sequence=2)
    old = broadcaster._queue
    assert old is not None
    deadline = time.monotonic() + 10
    while root.uuid not in old.next_slot:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    broadcaster.changes_committed(statuses=[leaves[1], root], root=root, sequence=3)

    async def serve() -> dict[str, Any]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(user_group(user.pk), channel)
        broadcaster.adopt(asyncio.get_running_loop())
        return await asyncio.wait_for(layer.receive(channel), 10)  # type: ignore[no-any-return]

    message = asyncio.run(serve())
    assert message["sequences"] == [3]
    assert [record["uuid"] for record in message["records"]] == [str(leaves[1].uuid), str(root.uuid)]
    assert (old.waiting, old.timers) == ({}, {})


class Clock:
    """``time`` for the broadcast module: a monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class Handle:
    """A timer or a task that the test never runs."""

    def cancel(self) -> None:
        pass

    def add_done_callback(self, callback: Any) -> None:
        pass


class Loop:
    """The part of an event loop that a ``_Queue`` uses, recording what it schedules and sends."""

    def __init__(self) -> None:
        self.timers: list[tuple[float, Any, tuple[Any, ...]]] = []
        self.sent = 0

    def call_later(self, delay: float, callback: Any, *args: Any) -> Handle:
        self.timers.append((delay, callback, args))
        return Handle()

    def create_task(self, coroutine: Any) -> Handle:
        coroutine.close()  # what it would send is not this test's concern
        self.sent += 1
        return Handle()


def test_a_message_sent_late_in_its_slot_does_not_hold_the_next_ones_back(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """A tree changing once per window, each change a little late (a writer's batch committing after its
    window): every message goes out as its change arrives; the slots stay a window apart and start afresh
    after a quiet spell."""
    from realtime_tasks import broadcast

    settings.REALTIME_TASKS_BROADCAST_WINDOW = 0.1
    clock, loop = Clock(), Loop()
    monkeypatch.setattr(broadcast, "time", clock)
    queue = broadcast._Queue(loop, broadcast.OutageLog("failing", "recovered"))  # type: ignore[arg-type]
    root = uuid.uuid4()

    def change(at: float) -> float:
        """The change arriving ``at`` seconds after the first; the delay the queue gave its message."""
        clock.now = 1000.0 + at
        record = {"uuid": str(root), "version": int(at * 1000)}
        queue.note([broadcast._Change(root, "7", 1, record, [record], False, None)])
        delay, flush, args = loop.timers[-1]
        assert flush == queue.flush
        flush(*args)
        return delay  # type: ignore[no-any-return]

    assert change(0.0) == 0.0  # the first at once
    # 30 ms late for its slot (0.1): sent at once, and the next slot is still 0.2, not 0.23.
    assert change(0.13) == 0.0
    assert queue.next_slot[root] == pytest.approx(1000.2)
    assert change(0.2) == 0.0
    # Early for its slot: held until the slot begins.
    assert change(0.25) == pytest.approx(0.05)
    assert loop.sent == 4
    # A quiet spell longer than a window: the slots start afresh from the next change.
    assert change(0.8) == 0.0
    assert queue.next_slot[root] == pytest.approx(1000.9)
