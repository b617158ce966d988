"""The JSON API: the same shapes as the WebSocket, and the same refusals."""

from __future__ import annotations

import uuid

import pytest
from celery import chain, group
from django.contrib.auth.models import Permission, User
from django.test import Client

from realtime_tasks.canvas import record_canvas
from realtime_tasks.models import UserTaskStatus
from realtime_tasks.serializers import serialize_trees
from tests.tasks import step

pytestmark = [pytest.mark.core, pytest.mark.django_db]


@pytest.fixture
def ada() -> User:
    return User.objects.create_user("ada")


def tree_of(user: User) -> UserTaskStatus:
    record_canvas(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    return UserTaskStatus.objects.filter(user=user, parent=None).latest("created")


def client_of(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_trees_lists_own_trees_running_first(ada: User) -> None:
    finished = tree_of(ada)
    UserTaskStatus.objects.filter(pk=finished.pk).update(state="Succeeded")
    running = tree_of(ada)
    tree_of(User.objects.create_user("bob"))
    body = client_of(ada).get("/tasks/trees/").json()
    assert [tree["root"] for tree in body["trees"]] == [str(running.uuid), str(finished.uuid)]


def test_one_tree_uses_the_websocket_serializer(ada: User) -> None:
    root = tree_of(ada)
    response = client_of(ada).get(f"/tasks/trees/{root.uuid}/")
    assert response.status_code == 200
    assert response.json() == serialize_trees([root.uuid])[0]


@pytest.mark.parametrize("target", ["other", "missing", "garbage"])
def test_other_users_missing_and_malformed_trees_answer_the_same_404(target: str, ada: User) -> None:
    foreign = tree_of(User.objects.create_user("bob"))
    root = {"other": str(foreign.uuid), "missing": str(uuid.uuid4()), "garbage": "<script>"}[target]
    client = client_of(ada)
    for response in (client.get(f"/tasks/trees/{root}/"), client.post(f"/tasks/trees/{root}/cancel/")):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert UserTaskStatus.objects.get(pk=foreign.pk).state == "Pending"


@pytest.mark.parametrize("path", ["/tasks/trees///", "/tasks/nothing/", "/tasks/trees/x/cancel/more/"])
def test_urls_the_api_does_not_have_answer_json_404(path: str, ada: User) -> None:
    response = client_of(ada).get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": f"The task API has no {path!r}."}


def test_anonymous_requests_get_401() -> None:
    for response in (Client().get("/tasks/trees/"), Client().get(f"/tasks/trees/{uuid.uuid4()}/")):
        assert response.status_code == 401


def test_cancel_needs_post_and_a_csrf_token_and_refusals_are_json(ada: User) -> None:
    root = tree_of(ada)
    wrong_method = client_of(ada).get(f"/tasks/trees/{root.uuid}/cancel/")
    assert (wrong_method.status_code, wrong_method["Allow"], wrong_method.json()["error"]) == (
        405,
        "POST",
        "method_not_allowed",
    )
    no_token = client_of(ada, csrf=True).post(f"/tasks/trees/{root.uuid}/cancel/")
    assert (no_token.status_code, no_token.json()["error"]) == (403, "csrf_failed")
    assert UserTaskStatus.objects.get(pk=root.pk).state == "Pending"


@pytest.mark.parametrize("method", ["post", "put", "delete", "head"])
def test_reading_urls_answer_other_methods_with_json_405(method: str, ada: User) -> None:
    root = tree_of(ada)
    for url in ("/tasks/trees/", f"/tasks/trees/{root.uuid}/"):
        response = getattr(client_of(ada), method)(url)
        assert (response.status_code, response["Allow"]) == (405, "GET")
        if method != "head":
            assert response.json()["error"] == "method_not_allowed"


def test_trees_carry_their_sequence(ada: User) -> None:
    root = tree_of(ada)
    [listed] = client_of(ada).get("/tasks/trees/").json()["trees"]
    assert listed["sequence"] == UserTaskStatus.objects.get(pk=root.pk).sequence


@pytest.mark.services
def test_owner_cancels_a_tree(ada: User) -> None:
    root = tree_of(ada)
    body = client_of(ada).post(f"/tasks/trees/{root.uuid}/cancel/").json()
    assert {record["state"] for record in body["records"]} == {"Canceled"}


@pytest.mark.services
def test_staff_cancels_any_tree_only_with_both_permissions(ada: User) -> None:
    root = tree_of(ada)
    staff = User.objects.create_user("root", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_usertaskstatus"))
    assert client_of(staff).get(f"/tasks/trees/{root.uuid}/").status_code == 200
    assert client_of(staff).post(f"/tasks/trees/{root.uuid}/cancel/").status_code == 404
    staff.user_permissions.add(Permission.objects.get(codename="cancel_usertaskstatus"))
    staff = User.objects.get(pk=staff.pk)
    assert client_of(staff).post(f"/tasks/trees/{root.uuid}/cancel/").status_code == 200
    assert UserTaskStatus.objects.get(pk=root.pk).state == "Canceled"
