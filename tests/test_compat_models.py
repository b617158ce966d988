"""The model behaviours django-user-tasks' own test suite checks, on records and trees made by hand the way
its users' tests make them: UserTaskStatus.objects.create(...), children attached with parent=."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from realtime_tasks.exceptions import TaskCanceledException
from realtime_tasks.models import UserTaskArtifact, UserTaskStatus

pytestmark = [pytest.mark.core, pytest.mark.django_db]


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


@pytest.fixture
def make(user: User) -> Any:
    """Makes a record by hand, In Progress with 5 steps unless told otherwise."""

    def make(**fields: Any) -> UserTaskStatus:
        values = {
            "name": "SampleTask",
            "state": UserTaskStatus.IN_PROGRESS,
            "task_class": "tests.sample_task",
            "task_id": str(uuid.uuid4()),
            "total_steps": 5,
            "user": user,
        }
        return UserTaskStatus.objects.create(**{**values, **fields})

    return make


def fresh(record: UserTaskStatus) -> UserTaskStatus:
    return UserTaskStatus.objects.get(pk=record.pk)


# Records and trees made by hand.


def test_a_record_made_by_hand_is_a_root(make: Any) -> None:
    record = make()
    assert (record.root_id, record.path, record.parent_id) == (record.uuid, "", None)
    assert fresh(record).root_id == record.uuid


def test_children_attached_by_hand_get_root_and_path(make: Any) -> None:
    parent = make(is_container=True)
    child = make(parent=parent)
    grandchild = make(parent=child)
    assert (child.root_id, child.path) == (parent.uuid, f"{parent.uuid.hex}/")
    assert (grandchild.root_id, grandchild.path) == (parent.uuid, f"{parent.uuid.hex}/{child.uuid.hex}/")
    assert fresh(grandchild).path == grandchild.path


def test_parent_id_is_the_parents_primary_key(make: Any) -> None:
    parent = make(is_container=True)
    child = make(parent=parent)
    assert child.parent_id == parent.id
    assert fresh(child).parent_id == parent.pk
    assert list(UserTaskStatus.objects.filter(parent_id=parent.pk)) == [child]
    assert list(UserTaskStatus.objects.filter(parent=parent)) == [child]


def test_each_child_attached_by_hand_counts_for_its_container(make: Any) -> None:
    parent = make(is_container=True)
    make(parent=parent)
    make(parent=parent)
    assert fresh(parent).children_left == 2


def test_string_representation(make: Any) -> None:
    assert str(make()) == "<UserTaskStatus: SampleTask>"


# start()


def test_start_marks_a_pending_record_in_progress(make: Any) -> None:
    record = make(state=UserTaskStatus.PENDING)
    record.start()
    assert record.state == UserTaskStatus.IN_PROGRESS
    assert fresh(record).state == UserTaskStatus.IN_PROGRESS


def test_start_of_a_canceled_record_raises(make: Any) -> None:
    record = make(state=UserTaskStatus.CANCELED)
    with pytest.raises(TaskCanceledException):
        record.start()
    assert record.state == UserTaskStatus.CANCELED


def test_start_marks_a_pending_parent_in_progress(make: Any) -> None:
    parent = make(is_container=True, state=UserTaskStatus.PENDING)
    child = make(parent=parent, state=UserTaskStatus.PENDING)
    child.start()
    assert child.state == UserTaskStatus.IN_PROGRESS
    assert fresh(parent).state == UserTaskStatus.IN_PROGRESS


def test_start_leaves_a_parent_that_failed_already(make: Any) -> None:
    parent = make(is_container=True, state=UserTaskStatus.FAILED)
    make(parent=parent, state=UserTaskStatus.FAILED)
    second = make(parent=parent, state=UserTaskStatus.PENDING)
    second.start()
    assert second.state == UserTaskStatus.IN_PROGRESS
    assert fresh(parent).state == UserTaskStatus.FAILED


# Steps.


def test_completed_steps_count_for_the_parent(make: Any) -> None:
    parent = make(is_container=True, total_steps=0)
    child = make(parent=parent, total_steps=2)
    child.increment_completed_steps()
    assert child.completed_steps == 1
    assert fresh(parent).completed_steps == 1


def test_completed_steps_by_more_than_one(make: Any) -> None:
    record = make(total_steps=5)
    record.increment_completed_steps(3)
    assert record.completed_steps == 3
    assert fresh(record).completed_steps == 3


def test_total_steps_count_for_the_parent(make: Any) -> None:
    parent = make(is_container=True, total_steps=3)
    make(parent=parent, total_steps=2)
    child = make(parent=parent, total_steps=1)
    child.increment_total_steps(2)
    assert child.total_steps == 3
    assert fresh(parent).total_steps == 5


# States.


def test_retry_counts_an_attempt_and_leaves_the_parent(make: Any) -> None:
    parent = make(is_container=True)
    child = make(parent=parent)
    child.retry()
    assert (child.state, child.attempts) == (UserTaskStatus.RETRYING, 2)
    assert fresh(parent).state == UserTaskStatus.IN_PROGRESS


def test_set_name_names_the_parent_too(make: Any) -> None:
    parent = make(is_container=True)
    child = make(parent=parent)
    child.set_name("New Name")
    assert child.name == "New Name"
    assert fresh(parent).name == "New Name"


def test_set_state_sets_a_custom_state(make: Any) -> None:
    record = make()
    record.set_state("Custom State")
    assert record.state == "Custom State"
    assert fresh(record).state == "Custom State"


def test_set_state_of_a_canceled_record_raises(make: Any) -> None:
    record = make(state=UserTaskStatus.CANCELED)
    with pytest.raises(TaskCanceledException):
        record.set_state("Custom State")
    assert record.state == UserTaskStatus.CANCELED
    assert fresh(record).state == UserTaskStatus.CANCELED


def test_set_state_shows_on_the_chain_parent_in_memory(make: Any) -> None:
    parent = make(is_container=True, task_class=UserTaskStatus.CHAIN)
    child = make(parent=parent)
    child.set_state("Custom State")
    assert child.state == "Custom State"
    # The object given as parent= is the child's cached parent: the caller sees the change on it.
    assert child.parent is parent
    assert parent.state == "Custom State"
    assert fresh(parent).state == "Custom State"


def test_succeed_waits_for_every_child_attached_by_hand(make: Any) -> None:
    parent = make(is_container=True, total_steps=10)
    first = make(parent=parent)
    second = make(parent=parent)

    first.succeed()
    assert (first.state, first.completed_steps) == (UserTaskStatus.SUCCEEDED, first.total_steps)
    after_first = fresh(parent)
    assert after_first.state == UserTaskStatus.IN_PROGRESS
    assert after_first.completed_steps == first.total_steps

    second.succeed()
    assert (second.state, second.completed_steps) == (UserTaskStatus.SUCCEEDED, second.total_steps)
    after_both = fresh(parent)
    assert after_both.state == UserTaskStatus.SUCCEEDED
    assert after_both.completed_steps == first.total_steps + second.total_steps


def test_fail_fails_the_parent_with_the_message(make: Any) -> None:
    parent = make(is_container=True)
    child = make(parent=parent)
    child.fail("Oops!")
    assert child.state == UserTaskStatus.FAILED
    assert fresh(parent).state == UserTaskStatus.FAILED
    assert UserTaskArtifact.objects.get(status=child).text == "Oops!"
    assert UserTaskArtifact.objects.get(status=parent).text == "Oops!"


def test_cancel_of_a_container_cancels_its_children(make: Any) -> None:
    parent = make(is_container=True, state=UserTaskStatus.PENDING)
    child = make(parent=parent, state=UserTaskStatus.PENDING)
    parent.cancel()
    assert parent.state == UserTaskStatus.CANCELED
    assert fresh(child).state == UserTaskStatus.CANCELED


def test_cancel_of_a_finished_record_changes_nothing(make: Any) -> None:
    record = make(state=UserTaskStatus.SUCCEEDED)
    record.cancel()
    assert record.state == UserTaskStatus.SUCCEEDED
    assert fresh(record).state == UserTaskStatus.SUCCEEDED


# Artifacts.


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"file": SimpleUploadedFile("file.txt", b"File content")}, "<UserTaskArtifact: (Output) file.txt>"),
        ({"text": "This was the output text."}, "<UserTaskArtifact: (Output) This was the output text.>"),
        (
            {"name": "Cropped", "text": "blah " * 50},
            f"<UserTaskArtifact: (Cropped) {('blah ' * 50)[:47]}...>",
        ),
        ({"url": "http://www.example.org/"}, "<UserTaskArtifact: (Output) http://www.example.org/>"),
    ],
)
def test_artifact_string_representation(make: Any, fields: dict[str, Any], text: str) -> None:
    assert str(UserTaskArtifact(status=make(), **fields)) == text
