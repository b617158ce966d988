"""The django-realtime-tasks contenders' Celery app and tasks (settings ``bench.settings``): today's package,
or the old write path's (``BENCH_CONTENDER=old``, its package first on PYTHONPATH)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from celery import Celery  # noqa: E402

from bench import marks  # noqa: E402
from realtime_tasks.models import UserTaskStatus  # noqa: E402
from realtime_tasks.tasks import UserTask  # noqa: E402

CONTENDER = os.environ.get("BENCH_CONTENDER", "rt")
app = Celery(f"bench_{CONTENDER}")
app.config_from_object("django.conf:settings", namespace="CELERY")
marks.connect(CONTENDER)
marks.count_database_work(CONTENDER)


class Work(UserTask):
    name = "bench.rt_app.work"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return max(1, int(arguments_dict.get("steps") or 0))

    def run(
        self,
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


work = app.register_task(Work())


@app.task(name="bench.rt_app.fan")
def fan(uuids: list[str], rate: float, seconds: float, run: str) -> None:
    """Fan-out load: one progress step of the records ``uuids`` in turn, ``rate`` a second for ``seconds``.

    Reports ``[uuid, completed_steps, time]`` for every step, the time taken just before the call.
    """
    records = list(UserTaskStatus.objects.filter(uuid__in=uuids))
    sent = []
    start = time.time()
    for k in range(int(rate * seconds)):
        time.sleep(max(0.0, start + k / rate - time.time()))
        record = records[k % len(records)]
        at = time.time()
        record.increment_completed_steps()
        sent.append([str(record.uuid), record.completed_steps, at])
    marks.client().rpush(f"bench:{run}:report", json.dumps(sent))
