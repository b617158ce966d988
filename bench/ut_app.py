"""The django-user-tasks contender: its Celery app and tasks (settings ``bench.ut_settings``, protocol 1)."""

from __future__ import annotations

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.ut_settings")
django.setup()

from celery import Celery  # noqa: E402
from user_tasks.tasks import UserTask  # noqa: E402

from bench import marks  # noqa: E402

app = Celery("bench_ut")
app.config_from_object("django.conf:settings", namespace="CELERY")
marks.connect("ut")
marks.count_database_work("ut")


class WorkTask(UserTask):
    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return max(1, int(arguments_dict.get("steps") or 0))


# django-user-tasks imports a task by its name: it must be this module's attribute.
@app.task(base=WorkTask, bind=True, name="bench.ut_app.work")
def work(
    self: WorkTask,
    *previous: Any,
    user_id: int,
    steps: int = 0,
    interval: float = 0.0,
    run: str = "",
    report: bool = False,
    user_task_name: str = "",
) -> None:
    status = self.status
    marks.run_steps(status.increment_completed_steps, steps, interval, run, report)
