from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings


class Settings:
    """Settings of the app, read from Django's settings on every access so that tests can override them."""

    @property
    def MAX_AGE(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_MAX_AGE", timedelta(days=30))

    @property
    def ARTIFACT_STORAGE(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_ARTIFACT_STORAGE", "default")

    @property
    def BROADCAST(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_BROADCAST", True)

    @property
    def BROADCAST_WINDOW(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_BROADCAST_WINDOW", 0.1)

    @property
    def WRITE_WINDOW(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_WRITE_WINDOW", 0.05)

    @property
    def RECONCILE_GRACE(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_RECONCILE_GRACE", 10.0)

    @property
    def RECONCILE_INTERVAL(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_RECONCILE_INTERVAL", 60.0)

    @property
    def RECONCILE_LOST_AFTER(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_RECONCILE_LOST_AFTER", timedelta(days=1))

    @property
    def SNAPSHOT_RECENT(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_SNAPSHOT_RECENT", 10)

    @property
    def MAX_MESSAGE_BYTES(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_MAX_MESSAGE_BYTES", 4096)

    @property
    def MAX_MESSAGES_PER_SECOND(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_MAX_MESSAGES_PER_SECOND", 20)

    @property
    def MESSAGE_RECORDS(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_MESSAGE_RECORDS", 500)

    @property
    def KEEPALIVE(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_KEEPALIVE", 25)

    @property
    def WEBSOCKET_PATH(self) -> Any:
        return getattr(settings, "REALTIME_TASKS_WEBSOCKET_PATH", "/ws/tasks/")


conf = Settings()
