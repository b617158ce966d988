"""Records follow Celery's signals as django-user-tasks' own test suite checks, through a real worker:
records made at publish for a task, a chain, a group and a chord; no record for other tasks; failure, failure
without an exception, retry and cancellation; and user_task_stopped, once per record, carrying the caller's
instance."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from celery import chain, chord, group
from django.contrib.auth.models import User

from realtime_tasks.models import UserTaskStatus
from realtime_tasks.signals import user_task_stopped
from realtime_tasks.testing import wait_for_tree
from tests.tasks import STOPPED_KEY, arguments_task, cancels_itself, fails_itself, plain, step

pytestmark = [pytest.mark.core, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


@pytest.fixture
def stopped(redis_client: redis.Redis) -> Callable[[UserTaskStatus], int]:
    """How many times user_task_stopped has been sent for a record, in any process (tests/tasks.py notes each
    in Redis, after the change commits): waits until it has been sent at least once."""

    def times(record: UserTaskStatus) -> int:
        deadline = time.monotonic() + 20
        while True:
            noted = [value.decode() for value in redis_client.lrange(STOPPED_KEY, 0, -1)]
            count = noted.count(str(record.uuid))
            if count or time.monotonic() > deadline:
                return count
            time.sleep(0.05)

    return times


def pending(record: UserTaskStatus) -> bool:
    return (record.state, record.completed_steps, record.attempts) == (UserTaskStatus.PENDING, 0, 1)


# Records made at publish.


@pytest.mark.services
def test_a_task_is_recorded_pending_at_publish(user: User, idle_queue: str) -> None:
    result = arguments_task.apply_async((user.pk, 1, 1), queue=idle_queue)
    record = UserTaskStatus.objects.get()
    assert (record.task_id, record.task_class, record.user_id) == (result.id, "tests.arguments_task", user.pk)
    assert (record.parent, record.is_container, record.name, record.total_steps) == (
        None,
        False,
        "SampleTask: 1, 1",
        1,
    )
    assert pending(record)


@pytest.mark.services
def test_a_chain_is_recorded_without_its_untracked_step(user: User, idle_queue: str) -> None:
    chain(
        step.si(user_id=user.pk),
        step.si(user_id=user.pk, user_task_name="Chain: 1, 2, 3"),
        step.si(user_id=user.pk),
        plain.si(),
    ).apply_async(queue=idle_queue)
    assert UserTaskStatus.objects.count() == 4
    top = UserTaskStatus.objects.get(task_class=UserTaskStatus.CHAIN)
    assert (top.parent_id, top.is_container, top.name, top.total_steps) == (None, True, "Chain: 1, 2, 3", 3)
    children = list(UserTaskStatus.objects.filter(parent=top))
    assert len(children) == 3
    assert all(child.parent_id == top.id and child.total_steps == 1 for child in children)
    assert all(pending(record) for record in [top, *children])


@pytest.mark.services
def test_a_group_is_recorded_with_its_members(user: User, idle_queue: str) -> None:
    result = group(
        step.s(user_id=user.pk), step.s(user_id=user.pk, user_task_name="Group: 1, 2")
    ).apply_async(queue=idle_queue)
    assert UserTaskStatus.objects.count() == 3
    top = UserTaskStatus.objects.get(task_class=UserTaskStatus.GROUP)
    assert (top.task_id, top.parent_id, top.is_container, top.name, top.total_steps) == (
        result.id,
        None,
        True,
        "Group: 1, 2",
        2,
    )
    for member in result.children:
        record = UserTaskStatus.objects.get(task_id=member.id)
        assert (record.parent_id, record.is_container, record.total_steps) == (top.id, False, 1)
        assert pending(record)


@pytest.mark.services
def test_a_chord_is_recorded_with_a_group_for_its_header_and_its_body(user: User, idle_queue: str) -> None:
    chord(
        [step.s(user_id=user.pk), step.s(user_id=user.pk, user_task_name="Chord: 1 & 2, then 3")],
        step.s(user_id=user.pk),
    ).apply_async(queue=idle_queue)
    assert UserTaskStatus.objects.count() == 5
    top = UserTaskStatus.objects.get(task_class=UserTaskStatus.CHORD)
    assert (top.parent_id, top.name, top.total_steps) == (None, "Chord: 1 & 2, then 3", 3)
    header = UserTaskStatus.objects.get(task_class=UserTaskStatus.GROUP)
    assert (header.parent_id, header.name, header.total_steps) == (top.id, "Chord: 1 & 2, then 3", 2)
    assert [record.parent_id for record in UserTaskStatus.objects.filter(parent=header)] == [header.id] * 2
    body = UserTaskStatus.objects.get(parent=top, is_container=False)
    assert body.total_steps == 1
    assert all(pending(record) for record in UserTaskStatus.objects.all())


@pytest.mark.services
def test_a_chord_whose_body_is_untracked_leaves_the_body_out(user: User, idle_queue: str) -> None:
    chord(
        [step.s(user_id=user.pk, user_task_name="Chord: 1 & 2"), step.s(user_id=user.pk)], plain.s()
    ).apply_async(queue=idle_queue)
    assert UserTaskStatus.objects.count() == 4
    top = UserTaskStatus.objects.get(task_class=UserTaskStatus.CHORD)
    assert (top.parent_id, top.is_container, top.name, top.total_steps) == (None, True, "Chord: 1 & 2", 2)


@pytest.mark.services
def test_tasks_without_the_mixin_get_no_record(user: User, celery_worker: Any) -> None:
    assert plain.delay().get(timeout=30) == "plain"
    with pytest.raises(ValueError, match="Boom!"):
        plain.delay(fail="Boom!").get(timeout=30)
    assert not UserTaskStatus.objects.exists()


# Endings, through a real worker.


@pytest.mark.services
def test_a_failing_task_fails_and_is_announced_once(
    user: User, celery_worker: Any, stopped: Callable[[UserTaskStatus], int]
) -> None:
    result = step.delay(user_id=user.pk, fail="Boom!")
    record = wait_for_tree(UserTaskStatus.objects.get(task_id=result.id))
    assert (record.state, record.completed_steps, record.attempts) == (UserTaskStatus.FAILED, 1, 1)
    assert stopped(record) == 1


@pytest.mark.services
def test_a_task_that_fails_its_record_without_raising_ends_failed(
    user: User, celery_worker: Any, stopped: Callable[[UserTaskStatus], int]
) -> None:
    result = fails_itself.delay(user.pk)
    assert result.get(timeout=30) == "returned"
    record = wait_for_tree(UserTaskStatus.objects.get(task_id=result.id))
    assert record.state == UserTaskStatus.FAILED
    assert list(record.artifacts.values_list("name", "text")) == [("Error", "Something went wrong")]
    assert stopped(record) == 1


@pytest.mark.services
def test_a_retried_task_counts_its_attempts_and_succeeds(user: User, celery_worker: Any) -> None:
    result = step.delay(user_id=user.pk, retry=1)
    record = wait_for_tree(UserTaskStatus.objects.get(task_id=result.id))
    assert (record.state, record.attempts, record.completed_steps, record.total_steps) == (
        UserTaskStatus.SUCCEEDED,
        2,
        1,
        1,
    )


@pytest.mark.services
def test_a_task_canceled_before_it_runs(
    user: User, idle_queue: str, stopped: Callable[[UserTaskStatus], int]
) -> None:
    arguments_task.apply_async((user.pk, 1, 1), queue=idle_queue)
    record = UserTaskStatus.objects.get()
    record.cancel()
    assert (record.state, record.completed_steps, record.attempts) == (UserTaskStatus.CANCELED, 0, 1)
    assert UserTaskStatus.objects.get().state == UserTaskStatus.CANCELED
    assert stopped(record) == 1


@pytest.mark.services
def test_a_task_canceled_while_it_runs_ends_canceled(
    user: User, celery_worker: Any, stopped: Callable[[UserTaskStatus], int]
) -> None:
    result = cancels_itself.delay(user.pk)
    record = wait_for_tree(UserTaskStatus.objects.get(task_id=result.id))
    assert record.state == UserTaskStatus.CANCELED
    assert stopped(record) == 1


# user_task_stopped in the caller's process.


@pytest.fixture
def receiver() -> Iterator[list[Any]]:
    """Receives user_task_stopped in this process; marks each status it gets, as a site's receiver might."""
    received: list[Any] = []

    def on_stopped(sender: Any, status: UserTaskStatus, **kwargs: Any) -> None:
        status.name = f"{status.name} (seen)"
        received.append(status)

    user_task_stopped.connect(on_stopped, weak=False, dispatch_uid="tests.compat_signals")
    yield received
    user_task_stopped.disconnect(dispatch_uid="tests.compat_signals")


def make(user: User, **fields: Any) -> UserTaskStatus:
    values = {"task_id": os.urandom(8).hex(), "task_class": "tests.sample", "name": "Sample"}
    return UserTaskStatus.objects.create(user=user, **{**values, **fields})


@pytest.mark.parametrize(
    ("method", "state"),
    [
        (lambda record: record.succeed(), UserTaskStatus.SUCCEEDED),
        (lambda record: record.fail("Oops"), UserTaskStatus.FAILED),
        (lambda record: record.cancel(), UserTaskStatus.CANCELED),
    ],
)
def test_user_task_stopped_carries_the_callers_instance(
    method: Any, state: str, user: User, receiver: list[Any]
) -> None:
    record = make(user)
    method(record)
    assert receiver == [record]
    assert receiver[0] is record
    assert (record.state, record.name) == (state, "Sample (seen)")


def test_user_task_stopped_is_sent_once_per_record(user: User, receiver: list[Any]) -> None:
    record = make(user)
    record.cancel()
    record.cancel()
    record.succeed()
    record.fail("late")
    assert [status.pk for status in receiver] == [record.pk]


def test_user_task_stopped_is_sent_for_containers_too(user: User, receiver: list[Any]) -> None:
    parent = make(user, is_container=True, task_class=UserTaskStatus.GROUP)
    first = make(user, parent=parent)
    second = make(user, parent=parent)
    first.succeed()
    second.succeed()
    assert [status.pk for status in receiver] == [first.pk, second.pk, parent.pk]
    assert receiver[1] is second
