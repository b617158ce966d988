from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import checks

from .conf import conf


def register() -> None:
    checks.register(check_settings)
    # Not tagged "database": it reads settings only, and Django runs database checks only when asked.
    checks.register(check_databases)


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if not isinstance(conf.MAX_AGE, timedelta):
        errors.append(
            checks.Error(
                f"REALTIME_TASKS_MAX_AGE must be a datetime.timedelta, not {conf.MAX_AGE!r}.",
                hint="For example: REALTIME_TASKS_MAX_AGE = timedelta(days=30)",
                id="realtime_tasks.E001",
            )
        )
    if conf.ARTIFACT_STORAGE not in settings.STORAGES:
        errors.append(
            checks.Error(
                f"REALTIME_TASKS_ARTIFACT_STORAGE is {conf.ARTIFACT_STORAGE!r}, not a key of STORAGES.",
                hint=f"Use one of: {', '.join(sorted(settings.STORAGES))}.",
                id="realtime_tasks.E002",
            )
        )
    return errors


def check_databases(**kwargs: Any) -> list[checks.CheckMessage]:
    warnings: list[checks.CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        immediate = database.get("OPTIONS", {}).get("transaction_mode") == "IMMEDIATE"
        if database.get("ENGINE") == "django.db.backends.sqlite3" and not immediate:
            warnings.append(
                checks.Warning(
                    f"The SQLite database {alias!r} does not start its transactions IMMEDIATE: two workers "
                    "updating one task tree at once can fail with 'database is locked'.",
                    hint=f'Set DATABASES["{alias}"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE".',
                    id="realtime_tasks.W001",
                )
            )
    return warnings
