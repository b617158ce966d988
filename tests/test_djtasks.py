"""django.tasks tracked by realtime_tasks.djtasks: the database backend's own worker in a separate process,
and Django's immediate backend (Django 6.0+ only)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django import VERSION
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from realtime_tasks.models import UserTaskStatus
from realtime_tasks.signals import status_changed, user_task_stopped

if VERSION < (6, 0):
    pytest.skip("django.tasks needs Django 6.0 or later", allow_module_level=True)

from django.tasks import TaskResultStatus, task_backends
from django_tasks_db.models import DBTaskResult

import tests.celery_app  # noqa: F401  (cancel() revokes through the tests' Celery app)
from realtime_tasks.djtasks_checks import check_task_backends
from tests.conftest import ROOT, process_env
from tests.djtasks_tasks import count_steps, explode, until_canceled

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
CANCELED = "realtime_tasks.exceptions.TaskCanceledException"


def db_worker_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "django", "db_worker", "--backend", "database", "--no-reload", *options]


@pytest.fixture(scope="module")
def db_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes]]:
    """The database backend's own worker, in a separate process, on the test database."""
    with django_db_blocker.unblock(), open(ROOT / "test-artifacts" / "db-worker.log", "ab") as log:
        worker = subprocess.Popen(
            db_worker_command("--interval", "0.05", "--no-startup-delay"),
            cwd=ROOT,
            env=process_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.fixture
def user() -> Any:
    return get_user_model().objects.create_user(username="tasker", password="x")


def wait_for(record: UserTaskStatus, ready: Any, worker: subprocess.Popen[bytes]) -> UserTaskStatus:
    """Reload ``record`` until ``ready(record)``, for up to 60 s, failing early if the worker exits."""
    deadline = time.monotonic() + 60
    while True:
        record.refresh_from_db()
        if ready(record):
            return record
        assert worker.poll() is None, (ROOT / "test-artifacts" / "db-worker.log").read_text()[-3000:]
        assert time.monotonic() < deadline, f"record still {record.state} at {record.completed_steps} steps"
        time.sleep(0.05)


def wait_for_result(result: Any, worker: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + 60
    while not result.is_finished:
        assert worker.poll() is None
        assert time.monotonic() < deadline, f"task still {result.status}"
        time.sleep(0.05)
        result.refresh()
    return result


class Signals:
    def __init__(self) -> None:
        self.changed: list[tuple[str, str]] = []
        self.stopped: list[str] = []

    def on_changed(self, status: UserTaskStatus, **kwargs: Any) -> None:
        self.changed.append((status.task_id, status.state))

    def on_stopped(self, status: UserTaskStatus, **kwargs: Any) -> None:
        self.stopped.append(status.task_id)


@pytest.fixture
def signals() -> Iterator[Signals]:
    heard = Signals()
    status_changed.connect(heard.on_changed)
    user_task_stopped.connect(heard.on_stopped)
    yield heard
    status_changed.disconnect(heard.on_changed)
    user_task_stopped.disconnect(heard.on_stopped)


def test_immediate_task_gets_a_record_with_its_steps_and_signals(user: Any, signals: Signals) -> None:
    result = count_steps.using(backend="immediate").enqueue(user_id=user.pk, steps=3, user_task_name="Three")

    assert result.status == TaskResultStatus.SUCCESSFUL
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert (record.user, record.name, record.task_class) == (user, "Three", "tests.djtasks_tasks.count_steps")
    assert (record.state, record.completed_steps, record.total_steps) == (UserTaskStatus.SUCCEEDED, 3, 3)
    assert record.parent_id is None
    assert not record.is_container
    assert record.started is not None
    assert record.finished is not None
    assert signals.stopped == [result.id]
    assert signals.changed[-1] == (result.id, UserTaskStatus.SUCCEEDED)


def test_immediate_task_failure_fails_its_record_with_the_error(user: Any, signals: Signals) -> None:
    result = explode.using(backend="immediate").enqueue(user.pk)

    assert result.status == TaskResultStatus.FAILED
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert (record.state, record.name) == (UserTaskStatus.FAILED, "explode")
    assert [artifact.text for artifact in record.artifacts.filter(name="Error")] == [
        "ValueError: boom for the test"
    ]
    assert signals.stopped == [result.id]


def test_enqueue_without_user_id_is_refused_and_enqueues_nothing() -> None:
    with pytest.raises(ValueError, match="needs a user_id argument"):
        explode.enqueue()
    with pytest.raises(TypeError, match="cannot take these arguments"):
        explode.enqueue(1, 2)
    assert not DBTaskResult.objects.exists()
    assert not UserTaskStatus.objects.exists()


@pytest.mark.parametrize("user_id", [10**9, "not a key"])
def test_enqueue_for_no_user_is_refused_and_enqueues_nothing(user_id: Any) -> None:
    with pytest.raises(ValueError, match="Invalid user_id: no user has the primary key"):
        count_steps.enqueue(user_id=user_id, steps=1)
    assert not DBTaskResult.objects.exists()
    assert not UserTaskStatus.objects.exists()


def test_untracked_task_asking_for_its_status_fails_clearly(user: Any) -> None:
    result = count_steps.using(backend="run_now").enqueue(user_id=user.pk, steps=1)

    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "builtins.LookupError"
    assert "has no status record" in result.errors[0].traceback
    assert not UserTaskStatus.objects.exists()


def test_status_refuses_a_bad_total(user: Any) -> None:
    result = count_steps.using(backend="immediate").enqueue(user_id=user.pk, steps=0)

    assert result.status == TaskResultStatus.FAILED
    assert "total_steps must be a whole number of at least 1, not 0" in result.errors[0].traceback
    assert UserTaskStatus.objects.get(task_id=result.id).state == UserTaskStatus.FAILED


def test_database_worker_runs_a_tracked_task(user: Any, db_worker: subprocess.Popen[bytes]) -> None:
    result = count_steps.enqueue(user_id=user.pk, steps=5)

    # Committed with the task itself, before any worker could start it.
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert record.user == user
    assert record.state in (UserTaskStatus.PENDING, UserTaskStatus.IN_PROGRESS, UserTaskStatus.SUCCEEDED)
    record = wait_for(record, lambda record: record.is_terminal, db_worker)
    assert (record.state, record.completed_steps, record.total_steps) == (UserTaskStatus.SUCCEEDED, 5, 5)
    assert wait_for_result(result, db_worker).return_value == 5


def test_database_worker_failure_fails_the_record(user: Any, db_worker: subprocess.Popen[bytes]) -> None:
    result = explode.enqueue(user_id=user.pk)

    record = wait_for(UserTaskStatus.objects.get(task_id=result.id), lambda r: r.is_terminal, db_worker)
    assert record.state == UserTaskStatus.FAILED
    assert record.artifacts.get(name="Error").text == "ValueError: boom for the test"


def test_cancel_stops_a_running_task_at_its_next_step(user: Any, db_worker: subprocess.Popen[bytes]) -> None:
    result = until_canceled.enqueue(user_id=user.pk)
    record = UserTaskStatus.objects.get(task_id=result.id)
    wait_for(record, lambda r: r.state == UserTaskStatus.IN_PROGRESS and r.completed_steps > 0, db_worker)

    record.cancel()

    result = wait_for_result(until_canceled.get_result(result.id), db_worker)
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == CANCELED
    record.refresh_from_db()
    assert record.state == UserTaskStatus.CANCELED
    assert not record.artifacts.exists()


def test_a_canceled_pending_task_never_runs(user: Any) -> None:
    result = count_steps.using(queue_name="held").enqueue(user_id=user.pk, steps=4)
    record = UserTaskStatus.objects.get(task_id=result.id)
    record.cancel()

    # A worker of the "held" queue runs what it finds there, then exits.
    finished = subprocess.run(
        db_worker_command("--queue-name", "held", "--batch", "--no-startup-delay"),
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == CANCELED
    record.refresh_from_db()
    assert (record.state, record.started, record.completed_steps) == (UserTaskStatus.CANCELED, None, 0)


TRACKING = "realtime_tasks.djtasks.TrackingBackend"


@pytest.mark.parametrize(
    ("tasks", "ids"),
    [
        ({"a": {"BACKEND": TRACKING}}, ["realtime_tasks.E010"]),
        ({"a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "a"}}}, ["realtime_tasks.E010"]),
        ({"a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "missing"}}}, ["realtime_tasks.E010"]),
        (
            {
                "a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "b"}},
                "b": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "c"}},
                "c": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
            },
            ["realtime_tasks.E010"],
        ),
        (
            {
                "a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "b"}},
                "b": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"},
            },
            ["realtime_tasks.W010"],
        ),
        (
            {
                "a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "b"}},
                "b": {"BACKEND": "some_queue.backends.QueueBackend"},
            },
            ["realtime_tasks.W011"],
        ),
        (
            {
                "a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "b"}},
                "b": {"BACKEND": "django_tasks_db.DatabaseBackend"},
            },
            [],
        ),
        ({"b": {"BACKEND": "some_queue.backends.QueueBackend"}}, []),
    ],
)
def test_checks_of_tracking_backends(tasks: dict[str, Any], ids: list[str]) -> None:
    with override_settings(TASKS=tasks):
        assert [message.id for message in check_task_backends()] == ids


def test_the_tests_own_backends_pass_the_checks() -> None:
    assert check_task_backends() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [({}, "its OPTIONS need 'WRAPS'"), ({"WRAPS": "a"}, "cannot wrap itself")],
)
def test_a_misconfigured_tracking_backend_says_why(options: dict[str, Any], message: str) -> None:
    tasks = {"a": {"BACKEND": TRACKING, "OPTIONS": options}}
    with override_settings(TASKS=tasks), pytest.raises(ImproperlyConfigured, match=message):
        task_backends["a"]


def test_wrapping_another_tracking_backend_says_why() -> None:
    tasks = {
        "a": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "b"}},
        "b": {"BACKEND": TRACKING, "OPTIONS": {"WRAPS": "c"}},
        "c": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
    }
    with override_settings(TASKS=tasks), pytest.raises(ImproperlyConfigured, match="another TrackingBackend"):
        task_backends["a"].supports_defer  # noqa: B018
