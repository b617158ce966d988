"""The task classes as django-user-tasks' own test suite uses them: a class that lists Task before the mixin,
names and step totals from the arguments however they are passed, errors at publish, and the purge task."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils.timezone import now

from realtime_tasks.canvas import CanvasError
from realtime_tasks.models import UserTaskArtifact, UserTaskStatus
from realtime_tasks.tasks import purge_old_user_tasks
from realtime_tasks.testing import wait_for_tree
from tests.tasks import arguments_task, minimal_task

pytestmark = [pytest.mark.core, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


@pytest.mark.services
def test_a_task_listing_task_before_the_mixin_is_recorded_when_published(user: User, idle_queue: str) -> None:
    result = minimal_task.apply_async((user.pk, "Argument"), queue=idle_queue)
    record = UserTaskStatus.objects.get()
    assert (record.task_id, record.user_id, record.task_class) == (result.id, user.pk, "tests.minimal_task")
    assert (record.state, record.name, record.total_steps, record.parent_id) == (
        UserTaskStatus.PENDING,
        "minimal_task",
        1,
        None,
    )


@pytest.mark.services
def test_a_task_listing_task_before_the_mixin_runs_to_success(user: User, celery_worker: Any) -> None:
    result = minimal_task.delay(user.pk, "Argument")
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert record.name == "minimal_task"
    assert result.get(timeout=30) == "Argument"
    assert wait_for_tree(record).state == UserTaskStatus.SUCCEEDED


@pytest.mark.services
def test_a_bad_user_id_raises_at_publish_whatever_the_class_order(user: User, idle_queue: str) -> None:
    with pytest.raises(CanvasError, match="Invalid user_id: no user has the primary key 'arg1'"):
        minimal_task.apply_async(("arg1", "arg2"), queue=idle_queue)
    with pytest.raises(CanvasError, match="must include a user_id argument"):
        minimal_task.apply_async(kwargs={"argument": "x"}, queue=idle_queue)
    with pytest.raises(CanvasError, match="Invalid user_id"):
        arguments_task.apply_async((user.pk + 1000, 1, 2), queue=idle_queue)
    assert not UserTaskStatus.objects.exists()


@pytest.mark.services
@pytest.mark.parametrize(
    ("args", "kwargs", "name", "total"),
    [
        ((1, 2), {}, "SampleTask: 1, 2", 2),
        ((3,), {"arg2": 4}, "SampleTask: 3, 4", 12),
        ((), {"arg2": 6, "arg1": 5}, "SampleTask: 5, 6", 30),
    ],
)
def test_name_and_total_steps_come_from_the_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], name: str, total: int, user: User, idle_queue: str
) -> None:
    if args:
        result = arguments_task.apply_async((user.pk, *args), kwargs, queue=idle_queue)
    else:
        result = arguments_task.apply_async(kwargs={"user_id": user.pk, **kwargs}, queue=idle_queue)
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert (record.name, record.total_steps) == (name, total)


# The purge, as django-user-tasks' tests run it: finished records of 31 days go, of 29 days stay.


def finished_record(user: User, days: int) -> UserTaskStatus:
    record = UserTaskStatus.objects.create(
        user=user,
        task_id=str(uuid.uuid4()),
        task_class="tests.sample_task",
        name="SampleTask",
        total_steps=5,
        state=UserTaskStatus.SUCCEEDED,
    )
    created = now() - timedelta(days=days)
    UserTaskStatus.objects.filter(pk=record.pk).update(created=created, modified=created + timedelta(hours=1))
    UserTaskArtifact.objects.create(status=record, text="Lorem ipsum")
    return record


@pytest.mark.parametrize(("ages", "kept"), [([31], []), ([29], [29]), ([29, 31], [29])])
def test_purge_deletes_old_finished_records_with_their_artifacts(
    ages: list[int], kept: list[int], user: User
) -> None:
    records = {age: finished_record(user, age) for age in ages}
    purge_old_user_tasks()
    assert set(UserTaskStatus.objects.values_list("pk", flat=True)) == {records[age].pk for age in kept}
    assert UserTaskArtifact.objects.count() == len(kept)
