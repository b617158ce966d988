"""Django settings of the benchmarks' own project for django-realtime-tasks (modelled on tests/settings.py).

PostgreSQL database ``bench_rt`` (``BENCH_DB``), Redis ``BENCH_REDIS_URL`` (db 8 by default) as broker,
result backend and channel layer. The old write path's contender runs the same settings with its own database,
queue (``BENCH_QUEUE``) and channel-layer prefix (``BENCH_ASGI_PREFIX``).
"""

from __future__ import annotations

import os

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "realtime_tasks",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB", "bench_rt"),
        "HOST": os.environ.get("BENCH_PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_PGPORT", "5432"),
        "USER": os.environ.get("BENCH_PGUSER", "postgres"),
        "CONN_MAX_AGE": 60,
        # e.g. "-c synchronous_commit=off", to see what the commits' fsync costs (not used for the figures).
        "OPTIONS": {"options": os.environ.get("BENCH_PG_OPTIONS", "")},
    }
}

# Celery's defaults otherwise, the same for every contender.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_QUEUE", "bench-rt")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the worker's database connections before and after every task unless this is
# set; BENCH_DB_REUSE_MAX=100 shows what that costs (not used for the figures: the default is measured).
if os.environ.get("BENCH_DB_REUSE_MAX"):
    CELERY_DB_REUSE_MAX = int(os.environ["BENCH_DB_REUSE_MAX"])

# The broadcast window measured against the default (the "w05" contender of bench overhead).
if os.environ.get("BENCH_BROADCAST_WINDOW"):
    REALTIME_TASKS_BROADCAST_WINDOW = float(os.environ["BENCH_BROADCAST_WINDOW"])

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, which cuts channels_redis' 5 s BZPOPMIN:
        # every consumer idle for 5 s would crash with "Timeout reading" (django/channels_redis#422).
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 10}],
            "prefix": os.environ.get("BENCH_ASGI_PREFIX", "bench-asgi"),
        },
    }
}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "bench.urls"
ASGI_APPLICATION = "bench.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
STATIC_URL = "/static/"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
