from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("tests", include=["tests.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
