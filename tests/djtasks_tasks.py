"""django.tasks tasks for tests/test_djtasks.py (Django 6.0+): run by the database worker, or at once."""

from __future__ import annotations

import time
from typing import Any

from django.tasks import TaskContext, task

from realtime_tasks.djtasks import status


@task(takes_context=True)
def count_steps(context: TaskContext, user_id: Any, steps: int, user_task_name: str = "") -> int:
    record = status(context, total_steps=steps)
    for _ in range(steps):
        record.increment_completed_steps()
    return steps


@task
def explode(user_id: Any) -> None:
    raise ValueError("boom for the test")


@task(takes_context=True)
def until_canceled(context: TaskContext, user_id: Any) -> None:
    record = status(context, total_steps=1_000_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record.increment_completed_steps()  # raises TaskCanceledException once the record is canceled
        time.sleep(0.02)
    raise RuntimeError("until_canceled was never canceled")
