"""``bench fleet``: one tree's leaf events applied by several processes at once, with no Celery in between.

The driver of a realtime contender records a group of many tasks (``tree``), then starts ``processes`` fresh
Python processes (``run``), each of which loads its share of the leaves (every ``processes``-th, by primary
key), waits at a barrier for the others, and calls ``start()`` then ``succeed()`` on each of its leaves. With
``batched`` (today's design), the records carry the process's writer as a task's ``status`` does in a worker
(``record._writer = batching.writer``), and the process flushes the writer at the end; without (the old
design), each call is its own transaction, as the old code wrote it. Broadcasting is off: only the write path
is measured. Each process reports when it passed the barrier and when it was done, its CPU time, and the
records ``user_task_stopped`` was sent for.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import uuid
from collections import Counter
from typing import Any


def tree(work: Any, leaves: int) -> dict[str, Any]:
    """Record a group of ``leaves`` tasks of a new user (nothing is published); its root's uuid."""
    from celery import group
    from django.contrib.auth.models import User

    from realtime_tasks.canvas import record_canvas
    from realtime_tasks.models import UserTaskStatus

    owner = User.objects.create(username=f"fleet-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    record_canvas(group(work.si(user_id=owner.pk) for _ in range(leaves)))
    built = time.perf_counter() - started
    root = UserTaskStatus.objects.get(user=owner, parent=None)
    return {"root": str(root.uuid), "build": built}


def run(root: str, processes: int, batched: bool, timeout: float) -> dict[str, Any]:
    """Apply every leaf's start and success from ``processes`` processes started together; check the tree."""
    from django.db import connections

    from realtime_tasks.models import UserTaskStatus

    connections.close_all()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(target=apply_share, args=(root, index, processes, batched, barrier, results))
        for index in range(processes)
    ]
    for child in children:
        child.start()
    reports = []
    deadline = time.monotonic() + timeout
    while len(reports) < processes:
        try:
            reports.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [c.exitcode for c in children if c.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                for child in children:
                    child.kill()
                raise RuntimeError(f"fleet processes failed (exit codes {dead}) or timed out") from None
    for child in children:
        child.join(timeout)
    failed = [r["error"] for r in reports if "error" in r]
    if failed:
        raise RuntimeError(failed[0])
    top = UserTaskStatus.objects.get(uuid=root)
    leaves = UserTaskStatus.objects.filter(parent=top)
    stopped: Counter[str] = Counter()
    for report in reports:
        stopped.update(report["stopped"])
    return {
        "events": 2 * leaves.count(),
        "leaves": leaves.count(),
        "start": min(r["start"] for r in reports),
        "end": max(r["end"] for r in reports),
        "cpu": sum(r["cpu"] for r in reports),
        "spans": [[r["start"], r["end"]] for r in reports],
        "state": top.state,
        "completed": top.completed_steps,
        "total": top.total_steps,
        "children_left": top.children_left,
        "leaves_succeeded": leaves.filter(state=UserTaskStatus.SUCCEEDED).count(),
        "stopped_records": len(stopped),
        "stopped_signals": sum(stopped.values()),
    }


def apply_share(root: str, index: int, processes: int, batched: bool, barrier: Any, results: Any) -> None:
    """One process of ``run``: its leaves' events, the time they took, what ``user_task_stopped`` said."""
    try:
        results.put(_apply_share(root, index, processes, batched, barrier))
    except Exception:
        import traceback

        barrier.abort()
        results.put({"error": traceback.format_exc()})


def _apply_share(root: str, index: int, processes: int, batched: bool, barrier: Any) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.conf import settings

    from realtime_tasks.models import UserTaskStatus
    from realtime_tasks.signals import user_task_stopped

    settings.REALTIME_TASKS_BROADCAST = False
    stopped: list[str] = []

    def note(status: Any, **_: Any) -> None:
        stopped.append(str(status.uuid))

    user_task_stopped.connect(note, weak=False)
    top = UserTaskStatus.objects.get(uuid=root)
    records = list(UserTaskStatus.objects.filter(parent=top).order_by("pk"))[index::processes]
    writer = None
    if batched:
        from realtime_tasks.batching import writer

        for record in records:
            record._writer = writer
    barrier.wait()
    start, cpu = time.time(), time.process_time()
    for record in records:
        record.start()
        record.succeed()
    if writer is not None and not writer.flush(timeout=600):
        raise RuntimeError("the writer did not finish within 600 s")
    return {"start": start, "end": time.time(), "cpu": time.process_time() - cpu, "stopped": stopped}
