"""The admin pages django-user-tasks' admin tests load, and what its lists show: for statuses created, uuid,
state, user and name, searchable by uuid, task id, class, name and owner; for artifacts created, uuid, record,
name and text."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from realtime_tasks.models import UserTaskArtifact, UserTaskStatus

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("tester", "tester@example.com"))
    return client


@pytest.fixture
def record() -> UserTaskStatus:
    owner = User.objects.create_user("ada", "ada@example.com")
    return UserTaskStatus.objects.create(
        user=owner, task_id=str(uuid.uuid4()), task_class="site.tasks.export", name="Export of grades"
    )


def test_the_status_list_loads_and_shows_what_django_user_tasks_showed(
    admin_client: Client, record: UserTaskStatus
) -> None:
    response = admin_client.get(reverse("admin:realtime_tasks_usertaskstatus_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    for shown in (str(record.uuid), record.state, "ada", "Export of grades"):
        assert shown in page
    assert "column-created" in page


def test_the_artifact_list_loads_and_shows_what_django_user_tasks_showed(
    admin_client: Client, record: UserTaskStatus
) -> None:
    artifact = UserTaskArtifact.objects.create(status=record, name="Report", text="Lorem ipsum")
    response = admin_client.get(reverse("admin:realtime_tasks_usertaskartifact_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    for shown in (str(artifact.uuid), "Report", "Lorem ipsum", "column-created", "column-status"):
        assert shown in page


@pytest.mark.parametrize(
    "term",
    [
        lambda record: str(record.uuid),
        lambda record: record.task_id,
        lambda record: "site.tasks.export",
        lambda record: "grades",
        lambda record: "ada",
        lambda record: "ada@example.com",
    ],
    ids=["uuid", "task id", "task class", "name", "username", "email"],
)
def test_statuses_are_found_by_django_user_tasks_search_fields(
    term: object, admin_client: Client, record: UserTaskStatus
) -> None:
    url = reverse("admin:realtime_tasks_usertaskstatus_changelist")
    response = admin_client.get(url, {"q": term(record)})  # type: ignore[operator]
    assert str(record.uuid) in response.content.decode()
    assert "0 results" not in response.content.decode()


def test_artifacts_are_found_by_uuid_name_and_text(admin_client: Client, record: UserTaskStatus) -> None:
    artifact = UserTaskArtifact.objects.create(status=record, name="Report", text="Lorem ipsum")
    url = reverse("admin:realtime_tasks_usertaskartifact_changelist")
    for term in (str(artifact.uuid), "Report", "Lorem"):
        assert str(artifact.uuid) in admin_client.get(url, {"q": term}).content.decode()
