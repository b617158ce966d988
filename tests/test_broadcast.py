"""Broadcasting: group names, and a channel layer that goes away and comes back (a private Redis)."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from celery import group
from channels.layers import get_channel_layer
from django.contrib.auth.models import User

from realtime_tasks.broadcast import user_group
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
