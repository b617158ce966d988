"""``python -m bench.batch [--quick]``: the CPU time of one batch of a worker process's writer.

A group of 1,000 one-step tasks is recorded (``record_canvas``, no worker), then its tasks' events are applied
the way a writer applies them: batches of B tasks, each batch the start and the success of each of its tasks,
named by task id, in one ``changes.apply``. The figures are the calling thread's CPU time per batch (the
commit's announcement included, the broadcast's sending excluded: that runs on the broadcaster's thread) and
that of its connection's PostgreSQL backend (read from /proc: the database runs on this machine), the medians
of 3 runs. They are what the writer costs the worker process and the database for every window it writes, so
they are the figures to watch when changing ``changes.py``.

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
    from django.db import connection  # isort: skip
    from django.utils.timezone import now  # isort: skip
    from realtime_tasks.canvas import record_canvas  # isort: skip
    from realtime_tasks.changes import Event, Kind, apply  # isort: skip
    from realtime_tasks.models import UserTaskStatus  # isort: skip

    user = User.objects.create_user("batch")
    tasks = 50 if quick else 1000

    def run(size: int) -> tuple[float, float]:
        """Apply the group's events in batches of ``size`` tasks; CPU seconds per batch of the thread and of
        its connection's PostgreSQL backend."""
        record_canvas(group(rt_app.work.si(user_id=user.pk) for _ in range(tasks)))
        root = UserTaskStatus.objects.get(user=user, parent=None, state=UserTaskStatus.PENDING)
        task_ids = list(UserTaskStatus.objects.filter(parent=root).values_list("task_id", flat=True))
        batches = [task_ids[start : start + size] for start in range(0, tasks, size)]
        backend = backend_pid()
        started, backend_started = time.thread_time(), runner.process(backend)[2]
        for batch in batches:
            events = [Event(Kind.START, now(), task_id=task_id) for task_id in batch]
            events += [Event(Kind.SUCCEED, task_id=task_id) for task_id in batch]
            apply(events)
        spent = time.thread_time() - started
        backend_spent = runner.process(backend)[2] - backend_started
        root.refresh_from_db()
        assert (root.state, root.completed_steps) == (UserTaskStatus.SUCCEEDED, tasks), root
        UserTaskStatus.objects.delete_trees()
        return spent / len(batches), backend_spent / len(batches)

    def backend_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    run(SIZES[0])  # warm-up: connections, caches
    print("| tasks per batch | writer CPU per batch (ms) | per task (ms) | PostgreSQL CPU per batch (ms) |")
    print("|---|---|---|---|")
    for size in SIZES:
        runs = [run(size) for _ in range(1 if quick else 3)]
        writer = statistics.median(spent for spent, _ in runs)
        database = statistics.median(spent for _, spent in runs)
        cells = [f"{writer * 1000:.2f}", f"{writer * 1000 / size:.3f}", f"{database * 1000:.2f}"]
        print(f"| {size} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
