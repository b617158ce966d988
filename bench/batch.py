"""``python -m bench.batch [--quick]``: the CPU time of one batch of a worker process's writer.

A group of 1,000 one-step tasks is recorded (``record_canvas``, no worker), then its tasks' events are applied
the way a writer applies them: batches of B tasks, each batch the start and the success of each of its tasks,
named by task id, in one ``changes.apply``. The figure is the calling thread's CPU time per batch (the
commit's announcement included, the broadcast's sending excluded: that runs on the broadcaster's thread), the
median of 3 runs. It is what the writer costs the worker process for every window it writes, so it is the
figure to watch when changing ``changes.py``.

It recreates the database ``bench_batch`` and sends its broadcasts to Redis db 8 (``BENCH_REDIS_URL``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench import runner

DATABASE = "bench_batch"
SIZES = (5, 15, 40)


def main() -> None:
    quick = "--quick" in sys.argv
    runner.recreate_database(DATABASE)
    os.environ.update(BENCH_DB=DATABASE, BENCH_QUEUE="bench-batch", DJANGO_SETTINGS_MODULE="bench.settings")
    migrate = [sys.executable, "-m", "django", "migrate", "-v", "0"]
    subprocess.run(migrate, cwd=runner.ROOT, env={**os.environ, "PYTHONPATH": str(runner.ROOT)}, check=True)

    from bench import rt_app  # sets Django up

    from celery import group  # isort: skip
    from django.contrib.auth.models import User  # isort: skip
    from django.utils.timezone import now  # isort: skip
    from realtime_tasks.canvas import record_canvas  # isort: skip
    from realtime_tasks.changes import Event, Kind, apply  # isort: skip
    from realtime_tasks.models import UserTaskStatus  # isort: skip

    user = User.objects.create_user("batch")
    tasks = 50 if quick else 1000

    def run(size: int) -> float:
        """Apply the group's events in batches of ``size`` tasks; the thread's CPU seconds per batch."""
        record_canvas(group(rt_app.work.si(user_id=user.pk) for _ in range(tasks)))
        root = UserTaskStatus.objects.get(user=user, parent=None, state=UserTaskStatus.PENDING)
        task_ids = list(UserTaskStatus.objects.filter(parent=root).values_list("task_id", flat=True))
        batches = [task_ids[start : start + size] for start in range(0, tasks, size)]
        started = time.thread_time()
        for batch in batches:
            events = [Event(Kind.START, now(), task_id=task_id) for task_id in batch]
            events += [Event(Kind.SUCCEED, task_id=task_id) for task_id in batch]
            apply(events)
        spent = time.thread_time() - started
        root.refresh_from_db()
        assert (root.state, root.completed_steps) == (UserTaskStatus.SUCCEEDED, tasks), root
        UserTaskStatus.objects.delete_trees()
        return spent / len(batches)

    run(SIZES[0])  # warm-up: connections, caches
    print("| tasks per batch | CPU per batch (ms) | CPU per task (ms) |\n|---|---|---|")
    for size in SIZES:
        per_batch = statistics.median(run(size) for _ in range(1 if quick else 3))
        print(f"| {size} | {per_batch * 1000:.2f} | {per_batch * 1000 / size:.3f} |", flush=True)


if __name__ == "__main__":
    main()
