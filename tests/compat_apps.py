"""django-user-tasks' app with its models and migrations but without its Celery signal handlers, so that a
test can make its real tables (by its migrations) without its code reacting to this suite's tasks."""

from __future__ import annotations

from django.apps import AppConfig


class UserTasksTablesConfig(AppConfig):
    name = "user_tasks"
    label = "user_tasks"
    default_auto_field = "django.db.models.AutoField"
