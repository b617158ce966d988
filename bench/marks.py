"""Times from the worker processes to the benchmark, through Redis. Shared by every contender's app.

Every task of a run gets a ``run`` keyword argument. When it has finished (``task_postrun``, which Celery
sends after ``task_success``, so after the trackers have marked the record succeeded) its worker pushes the
time onto ``bench:<run>:done``. A task may also push a report of its own onto ``bench:<run>:report``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from celery.signals import task_postrun, worker_init, worker_ready

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
        # Which tracker package the worker runs (the old contender's copy or the repository's), for its log.
        tracker = sys.modules.get("realtime_tasks") or sys.modules.get("user_tasks")
        print(f"{name} worker ready, tracker from {getattr(tracker, '__file__', None)}", file=sys.stderr)

    task_postrun.connect(finished, weak=False, dispatch_uid="bench.finished")
    worker_ready.connect(ready, weak=False, dispatch_uid="bench.ready")


# What this worker process's tracker did to the database: connections opened, statements run, transactions
# (atomic blocks committed, and statements run outside one, each its own transaction).
COUNTS = {"connections": 0, "queries": 0, "transactions": 0}
_reporting = 0


def count_database_work(name: str) -> None:
    """Count COUNTS in every thread of a worker's processes (not in the driver, which imports the same app),
    and keep them in Redis as the hash ``bench:counts:<name>`` (one field per process, written at most every
    0.2 s): one call per statement, no Redis round trip on the way."""
    from django.db.backends.signals import connection_created

    def created(connection: Any, **_: Any) -> None:
        COUNTS["connections"] += 1
        if getattr(connection, "bench_counted", False):
            return
        connection.bench_counted = True
        connection.execute_wrappers.append(_count_statement)
        commit = connection.commit

        def counted_commit() -> None:
            COUNTS["transactions"] += 1
            commit()

        connection.commit = counted_commit
        _report(name)

    def worker(**_: Any) -> None:
        connection_created.connect(created, weak=False, dispatch_uid="bench.count")

    worker_init.connect(worker, weak=False, dispatch_uid="bench.count")


def _count_statement(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    COUNTS["queries"] += 1
    if not context["connection"].in_atomic_block:
        COUNTS["transactions"] += 1
    return execute(sql, params, many, context)


def _report(name: str) -> None:
    global _reporting
    if _reporting == os.getpid():
        return
    _reporting = os.getpid()  # a forked process inherits the flag but not the thread

    def run() -> None:
        sent: dict[str, int] = {}
        while True:
            if sent != COUNTS:
                sent = dict(COUNTS)
                client().hset(f"bench:counts:{name}", str(os.getpid()), json.dumps(sent))
            time.sleep(0.2)

    threading.Thread(target=run, name="bench-counts", daemon=True).start()


def counts(name: str) -> dict[str, int]:
    """COUNTS summed over the worker processes of contender ``name``."""
    total = {key: 0 for key in COUNTS}
    for value in client().hgetall(f"bench:counts:{name}").values():
        for key, n in json.loads(value).items():
            total[key] += n
    return total


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


def plain_work(
    task: Any,
    *previous: Any,
    user_id: int,
    steps: int = 0,
    interval: float = 0.0,
    run: str = "",
    report: bool = False,
    user_task_name: str = "",
) -> None:
    """The plain Celery contenders' task (bound, registered by each of their apps): a progress step is
    ``update_state()`` into the result backend, as celery-progress's ``ProgressRecorder`` does it."""
    done = iter(range(1, steps + 1))

    def step() -> None:
        task.update_state(state="PROGRESS", meta={"current": next(done), "total": steps})

    run_steps(step, steps, interval, run, report)


def wait(run: str, kind: str, count: int, timeout: float) -> list[Any]:
    """The first ``count`` items of ``bench:<run>:<kind>``, parsed, once they are all there."""
    key = f"bench:{run}:{kind}"
    deadline = time.monotonic() + timeout
    while client().llen(key) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {client().llen(key)} of {count} {kind} marks after {timeout} s")
        time.sleep(0.01)
    return [json.loads(item) for item in client().lrange(key, 0, count - 1)]
