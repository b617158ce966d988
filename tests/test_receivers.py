"""Records follow their tasks through a real worker: failures, retries, revokes, dead worker processes."""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any

import pytest
import redis
from celery import chain, chord, group
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction

from realtime_tasks.models import UserTaskStatus
from realtime_tasks.testing import root_of, wait_for_tree
from tests.conftest import start_worker_process
from tests.tasks import STOPPED_KEY, plain, step, writer_connection

pytestmark = [pytest.mark.services, pytest.mark.core, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


def states(root: UserTaskStatus) -> list[tuple[str, str]]:
    """(class, state) of every record of the tree, depth first in canvas order."""
    records = list(UserTaskStatus.objects.filter(root_id=root.uuid).order_by("position"))
    children: dict[Any, list[UserTaskStatus]] = {}
    for record in records:
        children.setdefault(record.parent_id, []).append(record)
    out: list[tuple[str, str]] = []
    [root] = children[None]

    def visit(record: UserTaskStatus) -> None:
        out.append((record.task_class.removeprefix("celery.").removeprefix("tests."), record.state))
        for child in children.get(record.pk, []):
            visit(child)

    visit(root)
    return out


def errors(record: UserTaskStatus) -> list[str]:
    return list(record.artifacts.filter(name="Error").values_list("text", flat=True))


def wait_until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition.__doc__ or condition}"
        time.sleep(0.05)


def test_failed_step_fails_chain_and_cancels_the_rest(user: User, celery_worker: Any) -> None:
    canvas = chain(
        step.si(user_id=user.pk), step.si(user_id=user.pk, fail="disk full"), step.si(user_id=user.pk)
    )
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [
        ("chain", "Failed"),
        ("step", "Succeeded"),
        ("step", "Failed"),
        ("step", "Canceled"),
    ]
    assert errors(root) == ["disk full"]
    assert (root.completed_steps, root.total_steps) == (2, 3)


def test_group_member_failure_fails_group_while_siblings_finish(user: User, celery_worker: Any) -> None:
    canvas = group(
        step.si(user_id=user.pk, steps=2), step.si(user_id=user.pk, fail="boom"), step.si(user_id=user.pk)
    )
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [
        ("group", "Failed"),
        ("step", "Succeeded"),
        ("step", "Failed"),
        ("step", "Succeeded"),
    ]
    # Counts keep rolling up after the group failed; the failed task had done its one step.
    assert (root.completed_steps, root.total_steps) == (4, 4)


def test_chord_header_failure_fails_chord_and_cancels_body(user: User, celery_worker: Any) -> None:
    canvas = chord(
        [step.si(user_id=user.pk), step.si(user_id=user.pk, fail="boom")], step.si(user_id=user.pk)
    )
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [
        ("chord", "Failed"),
        ("group", "Failed"),
        ("step", "Succeeded"),
        ("step", "Failed"),
        ("step", "Canceled"),
    ]


def test_chord_body_failure_fails_chord(user: User, celery_worker: Any) -> None:
    canvas = chord([step.si(user_id=user.pk)], step.si(user_id=user.pk, fail="boom"))
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [
        ("chord", "Failed"),
        ("group", "Succeeded"),
        ("step", "Succeeded"),
        ("step", "Failed"),
    ]


def test_untracked_step_failing_fails_its_chain_and_cancels_the_rest(user: User, celery_worker: Any) -> None:
    canvas = chain(
        step.si(user_id=user.pk),
        plain.si(fail="no ink"),
        step.si(user_id=user.pk),
        group(step.si(user_id=user.pk), step.si(user_id=user.pk)),
    )
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [
        ("chain", "Failed"),
        ("step", "Succeeded"),
        ("step", "Canceled"),
        ("group", "Canceled"),
        ("step", "Canceled"),
        ("step", "Canceled"),
    ]
    assert errors(root) == ["tests.plain failed: no ink"]


def test_untracked_chord_member_failing_fails_the_chord_and_cancels_its_body(
    user: User, celery_worker: Any
) -> None:
    canvas = chain(
        step.si(user_id=user.pk),
        chord([plain.si(fail="no ink"), step.si(user_id=user.pk)], step.si(user_id=user.pk)),
        step.si(user_id=user.pk),
    )
    root = wait_for_tree(root_of(canvas.apply_async()))
    # The header group's own tracked member succeeded; the failure is known from the chord up.
    assert states(root) == [
        ("chain", "Failed"),
        ("step", "Succeeded"),
        ("chord", "Failed"),
        ("group", "Succeeded"),
        ("step", "Succeeded"),
        ("chain", "Canceled"),
        ("step", "Canceled"),
        ("step", "Canceled"),
    ]
    assert errors(root) == ["tests.plain failed: no ink"]


def test_nested_failure_fails_every_level_and_cancels_what_never_runs(user: User, celery_worker: Any) -> None:
    canvas = chain(
        step.si(user_id=user.pk),
        chord(
            [step.si(user_id=user.pk), chain(step.si(user_id=user.pk, fail="x"), step.si(user_id=user.pk))],
            step.si(user_id=user.pk),
        ),
        step.si(user_id=user.pk),
    )
    canvas.apply_async()
    root = wait_for_tree(UserTaskStatus.objects.get(parent=None))
    # Celery builds chain(chord, task) as a chord whose body is chain(body, task).
    assert states(root) == [
        ("chain", "Failed"),
        ("step", "Succeeded"),
        ("chord", "Failed"),
        ("group", "Failed"),
        ("step", "Succeeded"),
        ("chain", "Failed"),
        ("step", "Failed"),
        ("step", "Canceled"),
        ("chain", "Canceled"),
        ("step", "Canceled"),
        ("step", "Canceled"),
    ]
    assert all(errors(record) == ["x"] for record in UserTaskStatus.objects.filter(state="Failed"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL backend ids")
def test_tracking_opens_no_database_connection_per_task(user: User, celery_worker: Any) -> None:
    """Celery's fix-up closes the task thread's connections around every task; the writer's is its own."""
    backends = group(writer_connection.si(user_id=user.pk) for _ in range(16)).apply_async().get(timeout=60)
    assert len(set(backends)) <= 4  # one per worker process (concurrency 4), not one per task


def test_task_sent_by_name_is_recorded_by_the_worker_that_runs_it(user: User, celery_worker: Any) -> None:
    """``send_task`` publishes past ``apply_async``: no record exists until the worker starts the task. A
    batch holding its events finds no leaf for its task id and is applied the general way, which creates the
    record; the group's events, published at the same moment and maybe in the same batch, are not lost."""
    root = root_of(group(step.si(user_id=user.pk) for _ in range(4)).apply_async())
    result = step.app.send_task(step.name, kwargs={"user_id": user.pk, "steps": 3})
    wait_for_tree(root)
    wait_until(lambda: UserTaskStatus.objects.filter(task_id=result.id, state="Succeeded").exists())
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert (record.completed_steps, record.total_steps, record.user_id) == (3, 3, user.pk)
    assert (
        states(UserTaskStatus.objects.get(pk=root.pk))
        == [("group", "Succeeded")] + [("step", "Succeeded")] * 4
    )


def test_retry_counts_attempts_and_succeeds(user: User, celery_worker: Any) -> None:
    canvas = chain(step.si(user_id=user.pk, steps=3, retry=2), step.si(user_id=user.pk))
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [("chain", "Succeeded"), ("step", "Succeeded"), ("step", "Succeeded")]
    retried = UserTaskStatus.objects.get(position=0, parent=root)
    # Each attempt starts its steps again: 3 attempts of 3 steps count 3, never 9 of 3.
    assert (retried.attempts, retried.completed_steps, retried.total_steps) == (3, 3, 3)
    assert (root.completed_steps, root.total_steps) == (4, 4)


def test_killed_worker_process_fails_task_never_in_progress(user: User, celery_worker: Any) -> None:
    canvas = chain(step.si(user_id=user.pk, die=True), step.si(user_id=user.pk))
    root = wait_for_tree(root_of(canvas.apply_async()))
    assert states(root) == [("chain", "Failed"), ("step", "Failed"), ("step", "Canceled")]
    [message] = errors(UserTaskStatus.objects.get(position=0, parent=root))
    assert "Worker exited prematurely" in message


def test_revoked_task_fails(user: User, celery_worker: Any) -> None:
    result = step.apply_async(kwargs={"user_id": user.pk}, countdown=2)
    record = UserTaskStatus.objects.get(task_id=result.id)
    result.revoke()
    record = wait_for_tree(record)
    assert record.state == "Failed"
    assert errors(record) == ["The task was revoked"]


def test_cancel_running_task_stops_it_and_cancels_what_follows(user: User, celery_worker: Any) -> None:
    canvas = chain(step.si(user_id=user.pk, steps=200, pause=0.05), step.si(user_id=user.pk))
    root = root_of(canvas.apply_async())
    first = UserTaskStatus.objects.get(position=0, parent=root)
    wait_until(lambda: UserTaskStatus.objects.get(pk=first.pk).completed_steps >= 2)
    first.cancel()
    root = wait_for_tree(root)
    assert states(root) == [("chain", "Canceled"), ("step", "Canceled"), ("step", "Canceled")]
    time.sleep(0.5)  # the task stops at its next progress call, well within this
    first.refresh_from_db()
    stopped_at = first.completed_steps
    assert stopped_at < 200
    time.sleep(0.5)
    first.refresh_from_db()
    assert first.completed_steps == stopped_at
    assert UserTaskStatus.objects.get(position=1, parent=root).started is None


def test_fast_progress_is_written_once_per_window_and_nothing_is_lost(user: User, celery_worker: Any) -> None:
    # It fails at the end, so its count is what it reported (a success would top it up).
    record = UserTaskStatus.objects.get(task_id=step.delay(user_id=user.pk, steps=5000, fail="x").id)
    record = wait_for_tree(record, timeout=60)
    assert (record.state, record.completed_steps, record.total_steps) == ("Failed", 5000, 5000)
    # Created, started, failed, and the steps about once per window: far fewer writes than steps.
    assert record.version < 5000 / 10


def test_progress_held_back_is_written_when_its_window_ends_not_at_the_next_call(
    user: User, celery_worker: Any
) -> None:
    record = UserTaskStatus.objects.get(task_id=step.delay(user_id=user.pk, steps=20, hold=5).id)

    def shows_every_step_while_running() -> bool:
        fresh = UserTaskStatus.objects.get(pk=record.pk)
        return (fresh.state, fresh.completed_steps) == ("In Progress", 20)

    wait_until(shows_every_step_while_running, timeout=4.5)
    assert wait_for_tree(record).state == "Succeeded"


def test_cancel_stops_a_task_reporting_progress_as_fast_as_it_can(user: User, celery_worker: Any) -> None:
    record = UserTaskStatus.objects.get(task_id=step.delay(user_id=user.pk, steps=10**9).id)
    wait_until(lambda: UserTaskStatus.objects.get(pk=record.pk).completed_steps > 100)
    record.cancel()
    time.sleep(0.5)  # it stops within a window of the cancel
    record.refresh_from_db()
    stopped_at = record.completed_steps
    time.sleep(0.5)
    record.refresh_from_db()
    assert (record.state, record.completed_steps) == ("Canceled", stopped_at)


def test_cancel_pending_task_revokes_it(user: User, celery_worker: Any) -> None:
    canvas = group(step.si(user_id=user.pk), step.si(user_id=user.pk).set(countdown=2))
    root = root_of(canvas.apply_async())
    later = UserTaskStatus.objects.get(position=1, parent=root)
    later.cancel()
    root = wait_for_tree(root)
    assert states(root) == [("group", "Canceled"), ("step", "Succeeded"), ("step", "Canceled")]
    time.sleep(2.5)  # past the countdown: the revoked task never ran
    later.refresh_from_db()
    assert (later.state, later.started, later.completed_steps) == ("Canceled", None, 0)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda u, s: chain(s, step.si(user_id=u)),
            [("chain", "Crunching"), ("step", "Crunching"), ("step", "Pending")],
        ),
        (
            lambda u, s: group(s, step.si(user_id=u)),
            [("group", "In Progress"), ("step", "Crunching"), ("step", "Any")],
        ),
        (
            lambda u, s: chord([step.si(user_id=u)], s),
            [("chord", "Crunching"), ("group", "Succeeded"), ("step", "Succeeded"), ("step", "Crunching")],
        ),
        (
            lambda u, s: chord([s], step.si(user_id=u)),
            [("chord", "In Progress"), ("group", "In Progress"), ("step", "Crunching"), ("step", "Pending")],
        ),
    ],
    ids=["chain", "group", "chord_body", "chord_header"],
)
def test_custom_state_propagates_to_chains_and_chord_bodies_only(
    make: Any, expected: list[tuple[str, str]], user: User, celery_worker: Any
) -> None:
    slow = step.si(user_id=user.pk, state="Crunching", steps=10, pause=0.2)
    root = root_of(make(user.pk, slow).apply_async())

    def observed() -> list[tuple[str, str]]:
        seen = states(root)
        return [
            (kind, "Any" if want == "Any" else state)
            for (kind, state), (_, want) in zip(seen, expected, strict=True)
        ]

    wait_until(lambda: observed() == expected)
    UserTaskStatus.objects.get(pk=root.pk).cancel()
    wait_for_tree(root)


def test_canvas_published_in_open_transaction_is_tracked(user: User, celery_worker: Any) -> None:
    with transaction.atomic():
        result = chain(
            step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk))
        ).delay()
        # The worker receives the first task now and must wait for this transaction rather than lose the tree.
        time.sleep(1)
    root = wait_for_tree(root_of(result))
    assert states(root) == [
        ("chain", "Succeeded"),
        ("step", "Succeeded"),
        ("group", "Succeeded"),
        ("step", "Succeeded"),
        ("step", "Succeeded"),
    ]
    assert UserTaskStatus.objects.count() == 5


@pytest.mark.parametrize("run", range(3))
def test_siblings_finishing_at_once_roll_up_exactly(
    run: int, user: User, celery_worker: Any, redis_client: redis.Redis
) -> None:
    redis_client.delete(STOPPED_KEY)
    start_at = time.time() + 1.5
    canvas = chain(
        group(step.si(user_id=user.pk, steps=2, start_at=start_at) for _ in range(200)),
        step.si(user_id=user.pk),
    )
    root = wait_for_tree(root_of(canvas.apply_async()), timeout=120)
    for container in UserTaskStatus.objects.filter(is_container=True):
        assert (container.state, container.completed_steps) == ("Succeeded", container.total_steps)
    assert (root.completed_steps, root.total_steps) == (401, 401)
    records = {str(uuid) for uuid in UserTaskStatus.objects.values_list("uuid", flat=True)}

    def stopped() -> Counter[str]:
        return Counter(
            uuid for uuid in map(bytes.decode, redis_client.lrange(STOPPED_KEY, 0, -1)) if uuid in records
        )

    # The signal follows its record's commit: wait for all of them, then for any that would come twice.
    wait_until(lambda: set(stopped()) == records)
    time.sleep(0.5)
    assert stopped() == Counter(records)


def test_worker_stopped_gracefully_mid_canvas_then_restarted_completes_it(
    user: User, celery_worker: Any
) -> None:
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-graceful"
    steps = [step.si(user_id=user.pk, steps=10, pause=0.1).set(queue=queue) for _ in range(3)]
    first_worker = start_worker_process("graceful-1", concurrency=1, queue=queue)
    root = root_of(chain(*steps).apply_async())
    first = UserTaskStatus.objects.get(parent=root, position=0)
    wait_until(lambda: UserTaskStatus.objects.get(pk=first.pk).state == "In Progress")
    first_worker.send_signal(signal.SIGTERM)  # a warm shutdown: the running task finishes first
    assert first_worker.wait(timeout=30) == 0
    assert states(root)[1:] == [("step", "Succeeded"), ("step", "Pending"), ("step", "Pending")]
    second_worker = start_worker_process("graceful-2", concurrency=1, queue=queue)
    try:
        root = wait_for_tree(root)
    finally:
        second_worker.terminate()
        second_worker.wait(timeout=30)
    assert states(root) == [("chain", "Succeeded")] + [("step", "Succeeded")] * 3
    assert (root.completed_steps, root.total_steps) == (30, 30)
