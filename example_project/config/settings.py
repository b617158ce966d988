"""Settings of the example project, wired as the README tells users to wire theirs.

With no environment it runs embedded (SQLite, an in-memory broker); DATABASE_URL and REDIS_URL switch it
to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    # Before staticfiles, so that its runserver is the ASGI one.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "realtime_tasks",
    "demo",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "config.urls"
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
ASGI_APPLICATION = "config.asgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "demo"
LOGOUT_REDIRECT_URL = "login"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers update a tree from several threads: each transaction takes the write lock up front.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

REDIS_URL = os.environ.get("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# The memory transport polls once a second unless told otherwise.
CELERY_BROKER_TRANSPORT_OPTIONS = {} if REDIS_URL else {"polling_interval": 0.01}

CHANNEL_LAYERS = {
    "default": (
        # socket_timeout: longer than channels-redis's 5 s blocking read (see the README).
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 10}]},
        }
        if REDIS_URL
        # Embedded: one process, so the layer can live in memory (broadcasts are handed to daphne's loop).
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

if django.VERSION >= (6, 0):
    # Django's own tasks framework: every task enqueued through "default" gets a status record, then goes to
    # django-tasks-db's database backend, whose worker `manage.py demo` runs beside the Celery ones.
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {
        "default": {"BACKEND": "realtime_tasks.djtasks.TrackingBackend", "OPTIONS": {"WRAPS": "database"}},
        "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    }
