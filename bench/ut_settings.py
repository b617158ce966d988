"""Django settings of the django-user-tasks contender (run in bench/.venvs/user-tasks): database ``bench_ut``.

django-user-tasks 4.0.0 recognises chains only in Celery's message protocol 1, so this contender publishes
with ``task_protocol = 1``.
"""

from __future__ import annotations

import os

from bench.settings import *  # noqa: F403

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "user_tasks",
]
DATABASES["default"]["NAME"] = os.environ.get("BENCH_DB", "bench_ut")  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = "bench-ut"
CELERY_TASK_PROTOCOL = 1
CHANNEL_LAYERS: dict[str, object] = {}
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.ut_urls"
