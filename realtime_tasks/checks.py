from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import checks

from . import djtasks_checks
from .conf import conf

REDIS_LAYER = "channels_redis.core.RedisChannelLayer"
# channels-redis's receive blocks on Redis for up to 5 s: a shorter or equal read timeout ends it in error.
BLOCKING_READ_SECONDS = 5
# Settings that must be numbers of at least some value: (name, integers only, minimum).
NUMBERS = [
    ("BROADCAST_WINDOW", False, 0),
    ("WRITE_WINDOW", False, 0),
    ("RECONCILE_GRACE", False, 0),
    ("RECONCILE_INTERVAL", False, 1),
    ("SNAPSHOT_RECENT", True, 0),
    ("MAX_MESSAGE_BYTES", True, 1),
    ("MAX_MESSAGES_PER_SECOND", True, 1),
    ("MESSAGE_RECORDS", True, 1),
    ("KEEPALIVE", False, 0.1),
]


def register() -> None:
    checks.register(check_settings)
    checks.register(check_channel_layers)
    # Not tagged "database": it reads settings only, and Django runs database checks only when asked.
    checks.register(check_databases)
    djtasks_checks.register()


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if not isinstance(conf.MAX_AGE, timedelta):
        errors.append(
            checks.Error(
                f"REALTIME_TASKS_MAX_AGE must be a datetime.timedelta, not {conf.MAX_AGE!r}.",
                hint="For example: REALTIME_TASKS_MAX_AGE = timedelta(days=30)",
                id="realtime_tasks.E001",
            )
        )
    if conf.ARTIFACT_STORAGE not in settings.STORAGES:
        errors.append(
            checks.Error(
                f"REALTIME_TASKS_ARTIFACT_STORAGE is {conf.ARTIFACT_STORAGE!r}, not a key of STORAGES.",
                hint=f"Use one of: {', '.join(sorted(settings.STORAGES))}.",
                id="realtime_tasks.E002",
            )
        )
    for name, integer, minimum in NUMBERS:
        value = getattr(conf, name)
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
            errors.append(
                checks.Error(
                    f"REALTIME_TASKS_{name} must be {'an integer' if integer else 'a number'} of at least "
                    f"{minimum}, not {value!r}.",
                    id="realtime_tasks.E003",
                )
            )
    path = conf.WEBSOCKET_PATH
    if not (isinstance(path, str) and path.startswith("/") and path.endswith("/")):
        errors.append(
            checks.Error(
                f"REALTIME_TASKS_WEBSOCKET_PATH must be a path that starts and ends with '/', not {path!r}.",
                id="realtime_tasks.E004",
            )
        )
    return errors


def check_channel_layers(**kwargs: Any) -> list[checks.CheckMessage]:
    layers = getattr(settings, "CHANNEL_LAYERS", {})
    if "default" not in layers:
        if not conf.BROADCAST:
            return []
        return [
            checks.Error(
                "CHANNEL_LAYERS has no 'default' layer: status changes cannot reach any WebSocket.",
                hint="Configure channels_redis (see the README), or set REALTIME_TASKS_BROADCAST = False.",
                id="realtime_tasks.E005",
            )
        ]
    warnings: list[checks.CheckMessage] = []
    for alias, layer in layers.items():
        if layer.get("BACKEND") != REDIS_LAYER:
            continue
        for host in layer.get("CONFIG", {}).get("hosts", ["redis://localhost:6379"]):
            timeout = _read_timeout(host)
            if timeout is not None and timeout > BLOCKING_READ_SECONDS:
                continue
            shown = "the default" if timeout is None else f"{timeout:g} s"
            message = (
                f"A Redis host of the channel layer {alias!r} has a read timeout ({shown}) not longer than "
                f"the {BLOCKING_READ_SECONDS} s blocking read of channels-redis: idle WebSockets get closed."
            )
            hint = 'Give the host as {"address": "redis://...", "socket_timeout": 10}.'
            warnings.append(checks.Warning(message, hint=hint, id="realtime_tasks.W002"))
    return warnings


def _read_timeout(host: Any) -> float | None:
    """The ``socket_timeout`` that a channels-redis host sets, in its dict or in its URL, if any."""
    if isinstance(host, dict):
        if host.get("socket_timeout") is not None:
            return float(host["socket_timeout"])
        host = host.get("address")
    values = parse_qs(urlsplit(host).query).get("socket_timeout") if isinstance(host, str) else None
    return float(values[0]) if values else None


def check_databases(**kwargs: Any) -> list[checks.CheckMessage]:
    warnings: list[checks.CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        immediate = database.get("OPTIONS", {}).get("transaction_mode") == "IMMEDIATE"
        if database.get("ENGINE") == "django.db.backends.sqlite3" and not immediate:
            warnings.append(
                checks.Warning(
                    f"The SQLite database {alias!r} does not start its transactions IMMEDIATE: two workers "
                    "updating one task tree at once can fail with 'database is locked'.",
                    hint=f'Set DATABASES["{alias}"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE".',
                    id="realtime_tasks.W001",
                )
            )
    return warnings
