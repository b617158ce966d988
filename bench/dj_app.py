"""Plain Celery in a Django project: no tracker, progress as the plain contender reports it, but Celery set up
the way its documentation has a Django project do it, reading its settings through Django's
(``bench.dj_settings``: the benchmarks' settings without ``realtime_tasks``), with Celery's Django fix-up
closing the database connections around every task. Its time against plain Celery's is what a Django
project pays with or without tracking."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.dj_settings")
django.setup()

from celery import Celery  # noqa: E402

from bench import marks  # noqa: E402

app = Celery("bench_dj")
app.config_from_object("django.conf:settings", namespace="CELERY")
marks.connect("dj")

work = app.task(bind=True, name="bench.dj_app.work")(marks.plain_work)
