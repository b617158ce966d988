"""The demo's task of Django's own tasks framework (Django 6.0+), recorded through realtime_tasks'
``TrackingBackend`` (``TASKS`` in config/settings.py) and run by django-tasks-db's worker."""

from __future__ import annotations

import time
from typing import Any

from django.tasks import TaskContext, task

from realtime_tasks.djtasks import status


@task(takes_context=True)
def tidy_up(
    context: TaskContext[Any, Any], user_id: int, steps: int = 5, pause: float = 0.4, user_task_name: str = ""
) -> int:
    """Counts ``steps`` steps, ``pause`` seconds each: the record's bar moves live."""
    record = status(context, total_steps=steps)
    for _ in range(steps):
        time.sleep(pause)
        record.increment_completed_steps()
    return steps
