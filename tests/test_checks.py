from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import Error, Warning, run_checks

from realtime_tasks.checks import check_databases

pytestmark = pytest.mark.core


def ids(**kwargs: Any) -> list[str]:
    return [
        message.id for message in run_checks(**kwargs) if (message.id or "").startswith("realtime_tasks.")
    ]


def test_default_settings_pass() -> None:
    assert ids(databases=["default"]) == []


def test_max_age_must_be_a_timedelta(settings: Any) -> None:
    settings.REALTIME_TASKS_MAX_AGE = 30
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E001"]
    assert isinstance(message, Error)
    assert "must be a datetime.timedelta, not 30" in message.msg


def test_artifact_storage_must_be_a_storages_key(settings: Any) -> None:
    settings.REALTIME_TASKS_ARTIFACT_STORAGE = "s3"
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E002"]
    assert isinstance(message, Error)
    assert "'s3', not a key of STORAGES" in message.msg


def test_sqlite_without_immediate_transactions_is_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Changed in place: overriding DATABASES through the settings fixture is not supported by Django.
    monkeypatch.setitem(django_settings.DATABASES, "legacy", {"ENGINE": "django.db.backends.sqlite3"})
    # This check alone: the models' checks would open the database they do not know.
    [message] = [m for m in check_databases() if m.id == "realtime_tasks.W001"]
    assert isinstance(message, Warning)
    assert "'legacy'" in message.msg


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BROADCAST_WINDOW", "50ms"),
        ("BROADCAST_WINDOW", -1),
        ("WRITE_WINDOW", None),
        ("RECONCILE_INTERVAL", 0),
        ("SNAPSHOT_RECENT", 2.5),
        ("MAX_MESSAGE_BYTES", 0),
        ("MAX_MESSAGES_PER_SECOND", True),
    ],
)
def test_numeric_settings_must_be_numbers_in_range(settings: Any, name: str, value: Any) -> None:
    setattr(settings, f"REALTIME_TASKS_{name}", value)
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E003"]
    assert f"REALTIME_TASKS_{name} must be" in message.msg
    assert f"not {value!r}" in message.msg


def test_websocket_path_must_start_and_end_with_a_slash(settings: Any) -> None:
    settings.REALTIME_TASKS_WEBSOCKET_PATH = "ws/tasks"
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E004"]
    assert "'ws/tasks'" in message.msg


def test_missing_channel_layer_is_an_error_unless_broadcasting_is_off(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {}
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E005"]
    assert isinstance(message, Error)
    settings.REALTIME_TASKS_BROADCAST = False
    assert "realtime_tasks.E005" not in ids()


@pytest.mark.parametrize(
    ("hosts", "warned"),
    [
        (None, True),  # channels-redis's default host
        (["redis://127.0.0.1:6379/0"], True),
        ([("127.0.0.1", 6379)], True),
        ([{"address": "redis://127.0.0.1:6379/0", "socket_timeout": 5}], True),
        ([{"address": "redis://127.0.0.1:6379/0", "socket_timeout": 10}], False),
        (["redis://127.0.0.1:6379/0?socket_timeout=10"], False),
    ],
)
def test_redis_host_without_a_long_read_timeout_is_warned(settings: Any, hosts: Any, warned: bool) -> None:
    config = {} if hosts is None else {"hosts": hosts}
    backend = "channels_redis.core.RedisChannelLayer"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": config}}
    messages = [m for m in run_checks() if m.id == "realtime_tasks.W002"]
    assert len(messages) == warned
    if warned:
        assert isinstance(messages[0], Warning)
        assert "idle WebSockets get closed" in messages[0].msg
