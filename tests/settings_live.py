"""The tests' settings with a keep-alive period of one second, for daphne processes whose digests a test
waits for."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

REALTIME_TASKS_KEEPALIVE = 1
