from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import Error, Warning, run_checks

pytestmark = pytest.mark.core


def ids(**kwargs: Any) -> list[str]:
    return [
        message.id for message in run_checks(**kwargs) if (message.id or "").startswith("realtime_tasks.")
    ]


def test_default_settings_pass() -> None:
    assert ids(databases=["default"]) == []


def test_max_age_must_be_a_timedelta(settings: Any) -> None:
    settings.REALTIME_TASKS_MAX_AGE = 30
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E001"]
    assert isinstance(message, Error)
    assert "must be a datetime.timedelta, not 30" in message.msg


def test_artifact_storage_must_be_a_storages_key(settings: Any) -> None:
    settings.REALTIME_TASKS_ARTIFACT_STORAGE = "s3"
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.E002"]
    assert isinstance(message, Error)
    assert "'s3', not a key of STORAGES" in message.msg


def test_sqlite_without_immediate_transactions_is_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Changed in place: overriding DATABASES through the settings fixture is not supported by Django.
    monkeypatch.setitem(django_settings.DATABASES, "legacy", {"ENGINE": "django.db.backends.sqlite3"})
    [message] = [m for m in run_checks() if m.id == "realtime_tasks.W001"]
    assert isinstance(message, Warning)
    assert "'legacy'" in message.msg
