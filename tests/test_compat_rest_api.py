"""django-user-tasks' REST API served by realtime_tasks.compat.urls: the answers its own test suite
expects (owner, superuser, other user, anonymous; list, detail, delete, cancel), its JSON, ordering and
pagination, with its rules registered under this app's permission names."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import rules
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import reverse
from django.utils.timezone import now
from rest_framework.test import APIClient

from realtime_tasks.compat.serializers import ArtifactSerializer, StatusSerializer
from realtime_tasks.models import UserTaskArtifact, UserTaskStatus
from tests.test_compat_rules import with_rules  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.compat_urls")]


@pytest.fixture
def ada() -> User:
    return User.objects.create_user("ada")


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob")


@pytest.fixture
def root() -> User:
    return User.objects.create_superuser("root")


def make(user: User, **fields: Any) -> UserTaskStatus:
    values = {"task_id": str(uuid.uuid4()), "task_class": "tests.sample", "name": "Sample", "total_steps": 5}
    return UserTaskStatus.objects.create(user=user, **{**values, **fields})


@pytest.fixture
def records(ada: User) -> dict[str, Any]:
    """Two of ada's records, the newer with an artifact, the older made yesterday."""
    newer = make(ada, name="Newer")
    artifact = UserTaskArtifact.objects.create(status=newer, text="Lorem ipsum")
    older = make(ada, name="Older")
    yesterday = now() - timedelta(days=1)
    UserTaskStatus.objects.filter(pk=older.pk).update(created=yesterday, modified=yesterday)
    older.refresh_from_db()
    newer.refresh_from_db()
    return {"newer": newer, "older": older, "artifact": artifact}


def client_of(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def status_data(client: APIClient, response: Any, *records: UserTaskStatus) -> list[Any]:
    context = {"request": response.wsgi_request}
    return [StatusSerializer(record, context=context).data for record in records]


def artifact_data(response: Any, artifact: UserTaskArtifact) -> Any:
    return ArtifactSerializer(artifact, context={"request": response.wsgi_request}).data


def detail(name: str, record: Any) -> str:
    return reverse(name, args=[record.uuid])


# Reading statuses.


@pytest.mark.usefixtures("with_rules")
@pytest.mark.parametrize("who", ["owner", "superuser"])
def test_owner_and_superuser_list_statuses_newest_first(
    who: str, records: dict[str, Any], root: User
) -> None:
    user = records["newer"].user if who == "owner" else root
    client = client_of(user)
    response = client.get(reverse("usertaskstatus-list"))
    assert response.status_code == 200
    assert response.data == status_data(client, response, records["newer"], records["older"])


@pytest.mark.usefixtures("with_rules")
def test_other_users_list_is_empty_and_anonymous_is_refused(records: dict[str, Any], bob: User) -> None:
    response = client_of(bob).get(reverse("usertaskstatus-list"))
    assert (response.status_code, response.data) == (200, [])
    assert client_of(None).get(reverse("usertaskstatus-list")).status_code == 403


@pytest.mark.usefixtures("with_rules")
def test_status_detail_for_owner_superuser_other_and_anonymous(
    records: dict[str, Any], bob: User, root: User
) -> None:
    record = records["newer"]
    url = detail("usertaskstatus-detail", record)
    for user in (record.user, root):
        client = client_of(user)
        response = client.get(url)
        assert response.status_code == 200
        assert [response.data] == status_data(client, response, record)
    assert client_of(bob).get(url).status_code == 404
    assert client_of(None).get(url).status_code == 403
    assert client_of(record.user).get(f"/api/user_tasks/v0/tasks/{uuid.uuid4()}/").status_code == 404
    assert client_of(record.user).get("/api/user_tasks/v0/tasks/not-a-uuid/").status_code == 404


@pytest.mark.usefixtures("with_rules")
def test_status_json_is_django_user_tasks_with_absolute_artifact_links(records: dict[str, Any]) -> None:
    record, artifact = records["newer"], records["artifact"]
    data = client_of(record.user).get(detail("usertaskstatus-detail", record)).json()
    assert list(data) == [
        "name",
        "state",
        "state_text",
        "completed_steps",
        "total_steps",
        "attempts",
        "created",
        "modified",
        "artifacts",
    ]
    assert data["artifacts"] == [f"http://testserver/api/user_tasks/v0/artifacts/{artifact.uuid}/"]
    assert (data["name"], data["state"], data["state_text"], data["total_steps"]) == (
        "Newer",
        "Pending",
        "Pending",
        5,
    )
    assert datetime.fromisoformat(data["created"]) == record.created


@pytest.mark.usefixtures("with_rules")
@override_settings(
    REST_FRAMEWORK={
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": 1,
    }
)
def test_lists_follow_the_sites_pagination(records: dict[str, Any]) -> None:
    client = client_of(records["newer"].user)
    first = client.get(reverse("usertaskstatus-list")).json()
    assert first["count"] == 2
    assert first["next"] == "http://testserver/api/user_tasks/v0/tasks/?page=2"
    assert [item["name"] for item in first["results"]] == ["Newer"]
    second = client.get(first["next"]).json()
    assert [item["name"] for item in second["results"]] == ["Older"]


# Artifacts.


@pytest.mark.usefixtures("with_rules")
def test_artifact_detail_and_list_for_owner_superuser_other_and_anonymous(
    records: dict[str, Any], bob: User, root: User
) -> None:
    artifact = records["artifact"]
    url = detail("usertaskartifact-detail", artifact)
    for user in (artifact.status.user, root):
        response = client_of(user).get(url)
        assert response.status_code == 200
        assert response.data == artifact_data(response, artifact)
        listed = client_of(user).get(reverse("usertaskartifact-list"))
        assert listed.data == [artifact_data(listed, artifact)]
    assert client_of(bob).get(url).status_code == 404
    assert client_of(bob).get(reverse("usertaskartifact-list")).data == []
    assert client_of(None).get(url).status_code == 403
    assert client_of(None).get(reverse("usertaskartifact-list")).status_code == 403


@pytest.mark.usefixtures("with_rules")
def test_artifact_json_is_django_user_tasks(records: dict[str, Any]) -> None:
    artifact = records["artifact"]
    data = client_of(artifact.status.user).get(detail("usertaskartifact-detail", artifact)).json()
    assert list(data) == ["name", "created", "modified", "status", "file", "text", "url"]
    assert data["status"] == f"http://testserver/api/user_tasks/v0/tasks/{artifact.status.uuid}/"
    assert (data["name"], data["file"], data["text"], data["url"]) == ("Output", "", "Lorem ipsum", "")


@pytest.mark.usefixtures("with_rules")
def test_no_request_changes_an_artifact(records: dict[str, Any], root: User) -> None:
    artifact = records["artifact"]
    url = detail("usertaskartifact-detail", artifact)
    # The owner lacks the permission; a superuser has it, and the API has no such method.
    assert client_of(artifact.status.user).delete(url).status_code == 403
    assert client_of(root).delete(url).status_code == 405
    assert client_of(root).patch(url, {"text": "x"}).status_code == 405
    assert client_of(root).post(reverse("usertaskartifact-list"), {"text": "x"}).status_code == 405
    assert UserTaskArtifact.objects.get(pk=artifact.pk).text == "Lorem ipsum"


# Cancel.


@pytest.mark.usefixtures("with_rules")
@pytest.mark.parametrize("who", ["owner", "superuser"])
def test_owner_and_superuser_cancel(who: str, records: dict[str, Any], root: User) -> None:
    record = records["newer"]
    response = client_of(record.user if who == "owner" else root).post(
        detail("usertaskstatus-cancel", record)
    )
    assert response.status_code == 200
    assert response.data["state"] == UserTaskStatus.CANCELED
    record.refresh_from_db()
    assert record.state == UserTaskStatus.CANCELED


@pytest.mark.usefixtures("with_rules")
def test_other_users_and_anonymous_cannot_cancel(records: dict[str, Any], bob: User) -> None:
    record = records["newer"]
    assert client_of(bob).post(detail("usertaskstatus-cancel", record)).status_code == 404
    assert client_of(None).post(detail("usertaskstatus-cancel", record)).status_code == 403
    record.refresh_from_db()
    assert record.state == UserTaskStatus.PENDING


@pytest.mark.usefixtures("with_rules")
def test_view_without_cancel_permission_answers_403(records: dict[str, Any]) -> None:
    # Granted in general, refused for every record: the record is visible, so 403 rather than 404.
    rules.set_perm(
        "realtime_tasks.cancel_usertaskstatus", rules.Predicate(lambda user, record=None: not record)
    )
    record = records["newer"]
    assert client_of(record.user).post(detail("usertaskstatus-cancel", record)).status_code == 403
    record.refresh_from_db()
    assert record.state == UserTaskStatus.PENDING


# Delete.


@pytest.mark.usefixtures("with_rules")
@pytest.mark.parametrize("who", ["owner", "superuser"])
def test_owner_and_superuser_delete(who: str, records: dict[str, Any], root: User) -> None:
    record = records["newer"]
    response = client_of(record.user if who == "owner" else root).delete(
        detail("usertaskstatus-detail", record)
    )
    assert response.status_code == 204
    assert not UserTaskStatus.objects.filter(pk=record.pk).exists()
    assert not UserTaskArtifact.objects.filter(pk=records["artifact"].pk).exists()


@pytest.mark.usefixtures("with_rules")
def test_other_users_and_anonymous_cannot_delete(records: dict[str, Any], bob: User) -> None:
    record = records["newer"]
    assert client_of(bob).delete(detail("usertaskstatus-detail", record)).status_code == 404
    assert client_of(None).delete(detail("usertaskstatus-detail", record)).status_code == 403
    assert UserTaskStatus.objects.filter(pk=record.pk).exists()


@pytest.mark.usefixtures("with_rules")
def test_delete_takes_whole_trees_only(ada: User) -> None:
    container = make(ada, is_container=True, task_class="celery.group")
    child = make(ada, parent=container)
    client = client_of(ada)

    refused = client.delete(detail("usertaskstatus-detail", child))
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "This record belongs to a task tree, and records are deleted by whole trees: delete the "
        "tree's root."
    }
    assert UserTaskStatus.objects.filter(pk=child.pk).exists()

    assert client.delete(detail("usertaskstatus-detail", container)).status_code == 204
    assert not UserTaskStatus.objects.filter(pk__in=[container.pk, child.pk]).exists()


# The permission model without the rules.


def test_without_rules_only_granted_permissions_open_the_api(records: dict[str, Any], bob: User) -> None:
    assert client_of(bob).get(reverse("usertaskstatus-list")).status_code == 403
    bob.user_permissions.add(Permission.objects.get(codename="view_usertaskstatus"))
    bob = User.objects.get(pk=bob.pk)  # a fresh permission cache
    response = client_of(bob).get(reverse("usertaskstatus-list"))
    assert (response.status_code, response.data) == (200, [])  # the list filter still shows only his own
    # Asked about a record, the model backend grants nothing: not visible.
    assert client_of(bob).get(detail("usertaskstatus-detail", records["newer"])).status_code == 404


@pytest.mark.usefixtures("with_rules")
@override_settings(USER_TASKS_STATUS_FILTERS=())
def test_the_sites_filter_settings_are_read(records: dict[str, Any], bob: User) -> None:
    # Without filters, the rules still refuse every record that is not bob's; the list is not filtered.
    response = client_of(bob).get(reverse("usertaskstatus-list"))
    assert [item["name"] for item in response.data] == ["Newer", "Older"]


# A missing extra.


@pytest.mark.parametrize(
    ("module", "missing", "named"),
    [
        ("realtime_tasks.compat.urls", "rest_framework", "Django REST framework"),
        ("realtime_tasks.compat.rules", "rules", "the rules package"),
    ],
)
def test_a_missing_extra_is_named(
    module: str, missing: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name.startswith("realtime_tasks.compat.") or name == missing or name.startswith(f"{missing}."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)  # what `import` finds for a package not installed
    with pytest.raises(ImproperlyConfigured) as raised:
        __import__(module)
    assert str(raised.value).startswith(f"realtime_tasks.compat needs {named}, which cannot be imported")
    assert str(raised.value).endswith("Install it with: pip install 'django-realtime-tasks[compat]'")
