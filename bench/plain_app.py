"""Plain Celery, no Django: progress is ``update_state()`` into the Redis result backend, as celery-progress's
``ProgressRecorder`` does it."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from bench import marks

app = Celery("bench_plain", broker=marks.REDIS_URL, backend=marks.REDIS_URL)
app.conf.task_default_queue = "bench-plain"
app.conf.broker_connection_retry_on_startup = True
marks.connect("plain")


@app.task(bind=True, name="bench.plain_app.work")
def work(
    self: Task,  # type: ignore[type-arg]
    *previous: Any,
    user_id: int,
    steps: int = 0,
    interval: float = 0.0,
    run: str = "",
    report: bool = False,
    user_task_name: str = "",
) -> None:
    marks.run_result_steps(self, steps, interval, run, report)
