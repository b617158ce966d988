"""django-user-tasks' rules, registered for this app's permission names, answer True for every user when asked
without an object. Registering them must not show anyone another user's trees through this app's own JSON API,
WebSocket or admin: only the owner sees a tree, and a superuser (the rules' own exception)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse

from realtime_tasks.compat.rules import add_rules, remove_rules
from realtime_tasks.models import UserTaskArtifact, UserTaskStatus
from tests.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("with_rules")]

BACKENDS = ["rules.permissions.ObjectPermissionBackend", "django.contrib.auth.backends.ModelBackend"]
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def with_rules() -> Iterator[None]:
    with override_settings(AUTHENTICATION_BACKENDS=BACKENDS):
        add_rules()
        try:
            yield
        finally:
            remove_rules()


def make_tree(user: User) -> UserTaskStatus:
    """A group of two tasks made by hand, with an artifact."""
    root = UserTaskStatus.objects.create(
        user=user, task_id=str(uuid.uuid4()), task_class=UserTaskStatus.GROUP, is_container=True, name="Ada's"
    )
    for _ in range(2):
        child = UserTaskStatus.objects.create(
            user=user, task_id=str(uuid.uuid4()), task_class="tests.sample", parent=root
        )
    UserTaskArtifact.objects.create(status=child, name="Secret", text="ada's secret")
    return root


@pytest.fixture
def ada_tree() -> UserTaskStatus:
    return make_tree(User.objects.create_user("ada"))


def outsider(kind: str) -> User:
    """bob, an ordinary user, or carol, staff with no permission granted to her."""
    if kind == "user":
        return User.objects.create_user("bob")
    return User.objects.create_user("carol", is_staff=True)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def test_the_rules_say_yes_without_an_object(ada_tree: UserTaskStatus) -> None:
    # What makes this file necessary.
    bob = outsider("user")
    assert bob.has_perm("realtime_tasks.view_usertaskstatus")
    assert not bob.has_perm("realtime_tasks.view_usertaskstatus", ada_tree)


@pytest.mark.parametrize("kind", ["user", "staff"])
def test_the_json_api_shows_no_other_users_tree(kind: str, ada_tree: UserTaskStatus) -> None:
    client = client_of(outsider(kind))
    assert client.get("/tasks/trees/").json() == {"trees": []}
    assert client.get(f"/tasks/trees/{ada_tree.uuid}/").status_code == 404
    assert client.post(f"/tasks/trees/{ada_tree.uuid}/cancel/").status_code in (403, 404)
    assert UserTaskStatus.objects.get(pk=ada_tree.pk).state == UserTaskStatus.PENDING


def test_the_json_api_shows_the_owner_her_tree(ada_tree: UserTaskStatus) -> None:
    client = client_of(ada_tree.user)
    assert client.get(f"/tasks/trees/{ada_tree.uuid}/").status_code == 200


ADMIN_PAGES = {
    "status list": lambda tree: reverse("admin:realtime_tasks_usertaskstatus_changelist"),
    "tree page": lambda tree: reverse("admin:realtime_tasks_usertaskstatus_tree", args=[tree.uuid]),
    "artifact list": lambda tree: reverse("admin:realtime_tasks_usertaskartifact_changelist"),
}


@pytest.mark.parametrize("kind", ["user", "staff"])
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_the_admin_shows_no_other_users_tree_or_artifact(
    kind: str, page: str, ada_tree: UserTaskStatus
) -> None:
    shown = client_of(outsider(kind)).get(ADMIN_PAGES[page](ada_tree)).content.decode()
    assert str(ada_tree.uuid) not in shown
    assert "ada&#x27;s secret" not in shown


@pytest.mark.parametrize("kind", ["user", "staff"])
def test_the_admin_lets_no_one_delete_or_cancel_another_users_tree(
    kind: str, ada_tree: UserTaskStatus
) -> None:
    client = client_of(outsider(kind))
    client.post(reverse("admin:realtime_tasks_usertaskstatus_delete", args=[ada_tree.pk]), {"post": "yes"})
    changelist = reverse("admin:realtime_tasks_usertaskstatus_changelist")
    client.post(changelist, {"action": "cancel_trees", "_selected_action": [ada_tree.pk]})
    assert UserTaskStatus.objects.get(pk=ada_tree.pk).state == UserTaskStatus.PENDING


# The WebSocket.


@pytest_asyncio.fixture(autouse=True)
async def close_sync_thread_connections() -> AsyncIterator[None]:
    """Close the database connection of database_sync_to_async's thread, or the test database cannot be
    dropped at the end."""
    yield
    await database_sync_to_async(connections.close_all)()


def start_first_child(root: UserTaskStatus) -> None:
    UserTaskStatus.objects.filter(parent=root).order_by("position").first().start()  # type: ignore[union-attr]


async def connect(user: User) -> WebsocketCommunicator:
    client = await database_sync_to_async(client_of)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", b"http://testserver"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/tasks/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator: WebsocketCommunicator, wanted: str) -> dict[str, Any]:
    """The next message of type ``wanted``, skipping keep-alive digests."""
    while True:
        message: dict[str, Any] = await communicator.receive_json_from(timeout=5)
        if message["type"] == wanted or message["type"] == "error":
            return message


@pytest.mark.services
@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["user", "staff"])
async def test_the_websocket_sends_no_other_users_tree(kind: str) -> None:
    ada = await database_sync_to_async(User.objects.create_user)("ada")
    tree = await database_sync_to_async(make_tree)(ada)
    communicator = await connect(await database_sync_to_async(outsider)(kind))
    try:
        snapshot = await receive(communicator, "snapshot")
        assert snapshot["trees"] == []
        await communicator.send_json_to({"type": "subscribe", "root": str(tree.uuid)})
        answer = await receive(communicator, "tree")
        assert (answer["type"], answer["code"]) == ("error", "not_found")
        await database_sync_to_async(start_first_child)(tree)
        assert await communicator.receive_nothing(timeout=0.5)
    finally:
        await communicator.disconnect()
