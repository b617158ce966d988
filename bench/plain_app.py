"""Plain Celery, no Django: progress is ``update_state()`` into the Redis result backend, as celery-progress's
``ProgressRecorder`` does it."""

from __future__ import annotations

from celery import Celery

from bench import marks

app = Celery("bench_plain", broker=marks.REDIS_URL, backend=marks.REDIS_URL)
app.conf.task_default_queue = "bench-plain"
app.conf.broker_connection_retry_on_startup = True
marks.connect("plain")

work = app.task(bind=True, name="bench.plain_app.work")(marks.plain_work)
