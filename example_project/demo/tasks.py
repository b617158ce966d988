"""The demo's user tasks."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

from realtime_tasks.tasks import UserTask


class Work(UserTask):
    """Names a record after its ``label`` and counts ``steps`` steps."""

    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        return str(arguments_dict["label"])

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["steps"])


@shared_task(base=Work, bind=True, name="demo.work")
def work(
    self: Work,
    *previous: Any,
    user_id: int,
    label: str = "Work",
    steps: int = 5,
    pause: float = 0.1,
    fail: str = "",
    retries: int = 0,
    user_task_name: str = "",
) -> str:
    for _ in range(steps):
        time.sleep(pause)
        self.status.increment_completed_steps()
    if fail:
        raise RuntimeError(fail)
    if self.request.retries < retries:
        raise self.retry(countdown=1, max_retries=retries)
    return label
