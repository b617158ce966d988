"""Times from the worker processes to the benchmark, through Redis. Shared by every contender's app.

Every task of a run gets a ``run`` keyword argument. When it has finished (``task_postrun``, which Celery
sends after ``task_success``, so after the trackers have marked the record succeeded) its worker pushes the
time onto ``bench:<run>:done``. A task may also push a report of its own onto ``bench:<run>:report``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import redis
from celery.signals import task_postrun, worker_ready

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
_client: redis.Redis | None = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(REDIS_URL)
    return _client


def connect(name: str) -> None:
    """Report finished tasks, and the worker being ready as ``bench:ready:<name>``."""

    def finished(kwargs: dict[str, Any] | None = None, **_: Any) -> None:
        run = (kwargs or {}).get("run")
        if run:
            client().rpush(f"bench:{run}:done", time.time())

    def ready(**_: Any) -> None:
        client().set(f"bench:ready:{name}", 1)

    task_postrun.connect(finished, weak=False, dispatch_uid="bench.finished")
    worker_ready.connect(ready, weak=False, dispatch_uid="bench.ready")


def run_steps(step: Callable[[], Any], steps: int, interval: float, run: str, report: bool) -> None:
    """Call ``step()`` ``steps`` times, every ``interval`` seconds or as fast as it goes; report the times
    (paced: when each call began and returned)."""
    times, returned = [], []
    start = time.time()
    for k in range(steps):
        if interval:
            time.sleep(max(0.0, start + k * interval - time.time()))
        times.append(time.time())
        step()
        returned.append(time.time())
    end = time.time()
    if report:
        data = {
            "start": start,
            "end": end,
            "times": times if interval else [],
            "returned": returned if interval else [],
        }
        client().rpush(f"bench:{run}:report", json.dumps(data))


def wait(run: str, kind: str, count: int, timeout: float) -> list[Any]:
    """The first ``count`` items of ``bench:<run>:<kind>``, parsed, once they are all there."""
    key = f"bench:{run}:{kind}"
    deadline = time.monotonic() + timeout
    while client().llen(key) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {client().llen(key)} of {count} {kind} marks after {timeout} s")
        time.sleep(0.01)
    return [json.loads(item) for item in client().lrange(key, 0, count - 1)]
