"""django-user-tasks compatibility: its REST API (``realtime_tasks.compat.urls``) and its sample permission
rules (``realtime_tasks.compat.rules``), on this app's models. Needs the ``compat`` extra."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


def missing_extra(package: str, error: ImportError) -> ImproperlyConfigured:
    """The error raised when a module of the ``compat`` extra cannot be imported."""
    return ImproperlyConfigured(
        f"realtime_tasks.compat needs {package}, which cannot be imported ({error}). "
        "Install it with: pip install 'django-realtime-tasks[compat]'"
    )
