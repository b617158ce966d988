"""Nothing stuck, nothing lost: records whose end was never written are finished from what Celery knows."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import group
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from realtime_tasks.models import UserTaskStatus
from realtime_tasks.reconcile import reconcile
from realtime_tasks.signals import user_task_stopped
from realtime_tasks.testing import root_of
from tests.conftest import start_worker_process
from tests.tasks import STOPPED_KEY, step

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


@pytest.fixture
def stopped_here() -> Iterator[list[str]]:
    """The uuids ``user_task_stopped`` is sent for in this process."""
    seen: list[str] = []

    def note(status: UserTaskStatus, **kwargs: Any) -> None:
        seen.append(str(status.uuid))

    user_task_stopped.connect(note)
    yield seen
    user_task_stopped.disconnect(note)


def exact(root: UserTaskStatus) -> bool:
    """Whether every record of the tree succeeded with all its steps, containers summing their children."""
    records = list(UserTaskStatus.objects.filter(root_id=root.uuid))
    children: dict[int, list[UserTaskStatus]] = {}
    for record in records:
        if record.parent_id is not None:
            children.setdefault(record.parent_id, []).append(record)
    return all(
        record.state == "Succeeded"
        and record.completed_steps == record.total_steps
        and (
            record.pk not in children
            or record.total_steps == sum(child.total_steps for child in children[record.pk])
        )
        for record in records
    )


def worker(name: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-{name}"
    return start_worker_process(name, concurrency=2, queue=queue, env=env), queue


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in found.split()]


def test_events_lost_with_a_killed_process_are_finished_by_the_reconciler(
    user: User, stopped_here: list[str]
) -> None:
    # The worker's processes hold their events for an hour: the tasks end, nothing of it is written.
    process, queue = worker(f"held-{os.getpid()}", REALTIME_TASKS_TEST_WRITE_WINDOW="3600")
    try:
        result = group(step.si(user_id=user.pk, steps=3) for _ in range(4)).apply_async(queue=queue)
        root = UserTaskStatus.objects.get(task_id=result.id)
        assert result.get(timeout=60) == ["tests.step"] * 4  # the result backend knows they succeeded
        assert set(UserTaskStatus.objects.filter(root_id=root.uuid).values_list("state", flat=True)) == {
            "Pending"
        }
        for child in children_of(process.pid):
            os.kill(child, signal.SIGKILL)  # their events die with them
    finally:
        process.kill()
        process.wait(timeout=30)
    report = reconcile(grace=0)
    assert len(report.succeeded) == 4
    assert exact(root)
    records = UserTaskStatus.objects.filter(root_id=root.uuid)
    assert sorted(stopped_here) == sorted(str(uuid) for uuid in records.values_list("uuid", flat=True))
    # Once: a second run finds nothing to do.
    again = reconcile(grace=0)
    assert (again.succeeded, again.failed, again.lost) == ([], [], [])
    assert len(stopped_here) == 5


def test_a_worker_that_starts_finishes_what_a_dead_one_left(user: User) -> None:
    name = f"dead-{os.getpid()}"
    process, queue = worker(name, REALTIME_TASKS_TEST_WRITE_WINDOW="3600")
    result = group(step.si(user_id=user.pk, steps=2) for _ in range(3)).apply_async(queue=queue)
    root = UserTaskStatus.objects.get(task_id=result.id)
    try:
        result.get(timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)  # the whole worker, with what it held
        process.wait(timeout=30)
        for child in children_of(process.pid):
            os.kill(child, signal.SIGKILL)
    assert UserTaskStatus.objects.get(pk=root.pk).state == "Pending"
    successor, _ = worker(name, REALTIME_TASKS_TEST_RECONCILE_GRACE="0")
    try:
        deadline = time.monotonic() + 60
        while not exact(root):
            assert time.monotonic() < deadline, "the new worker did not reconcile the tree"
            time.sleep(0.2)
    finally:
        successor.terminate()
        successor.wait(timeout=30)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates PostgreSQL backends")
def test_trees_end_exact_when_the_database_drops_the_workers_while_tasks_end(
    user: User, redis_client: redis.Redis
) -> None:
    process, queue = worker(f"outage-{os.getpid()}")
    redis_client.delete(STOPPED_KEY)
    storm = threading.Event()
    connection.ensure_connection()
    spared = connection.connection.info.backend_pid  # type: ignore[union-attr]  # this test's own

    def terminate_every_other_backend() -> None:
        # The workers' connections are cut again and again while their tasks end.
        with connection.cursor() as cursor:
            while not storm.is_set():
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                    [spared],
                )
                time.sleep(0.05)
        connection.close()

    try:
        result = group(step.si(user_id=user.pk, steps=0, hold=0.2) for _ in range(20)).apply_async(
            queue=queue
        )
        root = root_of(result)
        killer = threading.Thread(target=terminate_every_other_backend)
        killer.start()
        try:
            result.get(timeout=60)
        finally:
            storm.set()
            killer.join()
        # Batches refused meanwhile are written again; the reconciler finishes a batch whose commit was cut.
        deadline = time.monotonic() + 60
        while not exact(root):
            assert time.monotonic() < deadline, "the tree did not end exact"
            time.sleep(0.5)
            reconcile(grace=2)
        uuids = UserTaskStatus.objects.filter(root_id=root.uuid).values_list("uuid", flat=True)
        records = sorted(str(uuid) for uuid in uuids)

        def stopped() -> list[str]:
            return sorted(
                u for u in map(bytes.decode, redis_client.lrange(STOPPED_KEY, 0, -1)) if u in records
            )

        # Signals go out just after the commit that the tree's state shows.
        while set(stopped()) != set(records):
            assert time.monotonic() < deadline, (
                f"user_task_stopped missing for {set(records) - set(stopped())}"
            )
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    # Sent once per record: by the worker, or by this process's reconciler for what the worker could not.
    assert stopped() == records


def test_management_command_reports_what_it_did(user: User, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("reconcile_user_tasks", grace=0)
    assert "0 unfinished tasks checked" in capsys.readouterr().out
