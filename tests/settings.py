"""Settings for the test suite: PostgreSQL and Redis from DATABASE_URL and REDIS_URL, SQLite without them."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "realtime_tasks",
]

_sqlite = f"sqlite:///{BASE_DIR.parent / 'test-artifacts' / 'tests.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _sqlite, conn_max_age=60)}
# Each run has its own test database, so that two runs on one machine do not collide.
_test_name = f"test_realtime_tasks_{os.getpid()}"
DATABASES["default"]["TEST"] = {"NAME": _test_name}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    # A file, not memory: the worker processes open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR.parent / "test-artifacts" / f"{_test_name}.sqlite3")}
if os.environ.get("REALTIME_TASKS_WORKER_DATABASE"):
    # A worker started by the tests uses the test database that pytest-django created.
    DATABASES["default"]["NAME"] = os.environ["REALTIME_TASKS_WORKER_DATABASE"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Each test run has its own queue, handed to the workers it starts.
CELERY_TASK_DEFAULT_QUEUE = (
    os.environ.get("REALTIME_TASKS_TEST_QUEUE") or f"realtime-tasks-tests-{os.getpid()}"
)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker started by a test may hold its events longer (tests/test_reconcile.py).
REALTIME_TASKS_WRITE_WINDOW = float(os.environ.get("REALTIME_TASKS_TEST_WRITE_WINDOW", "0.05"))
REALTIME_TASKS_RECONCILE_GRACE = float(os.environ.get("REALTIME_TASKS_TEST_RECONCILE_GRACE", "10"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The run's own key prefix, so that two runs never hear each other. A fault test may move the channel layer
# to a Redis of its own, which it stops and starts.
CHANNEL_LAYER_URL = os.environ.get("REALTIME_TASKS_TEST_CHANNEL_LAYER_URL", REDIS_URL)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # A read timeout longer than channels-redis's 5 s blocking read: with redis-py 8's default of 5 s,
        # an idle connection's read fails and its WebSocket closes with 1011.
        "CONFIG": {
            "hosts": [{"address": CHANNEL_LAYER_URL, "socket_timeout": 10}],
            "prefix": CELERY_TASK_DEFAULT_QUEUE,
        },
    }
}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BASE_DIR.parent / "test-artifacts" / "media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_URL = "/static/"

# A process started by the tests also writes its log records as JSON lines, for tests that count them. Celery
# leaves the root logger to Django then, instead of replacing its handlers.
if os.environ.get("REALTIME_TASKS_TEST_LOG_RECORDS"):
    from tests.logrecords import settings_for

    LOGGING = settings_for(os.environ["REALTIME_TASKS_TEST_LOG_RECORDS"])
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# django.tasks (Django 6.0+), tracked by realtime_tasks (tests/test_djtasks.py): the database backend, whose
# db_worker runs in a separate process, and Django's immediate backend, each wrapped by a TrackingBackend.
import django  # noqa: E402

if django.VERSION >= (6, 0):
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {
        "default": {"BACKEND": "realtime_tasks.djtasks.TrackingBackend", "OPTIONS": {"WRAPS": "database"}},
        "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "held"]},
        "immediate": {"BACKEND": "realtime_tasks.djtasks.TrackingBackend", "OPTIONS": {"WRAPS": "run_now"}},
        "run_now": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
    }
