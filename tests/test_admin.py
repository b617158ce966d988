"""The admin: roots listed, filtered and searched; the tree page; actions; permissions; query counts."""

from __future__ import annotations

from typing import Any

import pytest
from celery import chain, chord, group
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from realtime_tasks.canvas import record_canvas, record_leaf
from realtime_tasks.models import UserTaskArtifact, UserTaskStatus
from tests.tasks import step

pytestmark = [pytest.mark.core, pytest.mark.django_db]

CHANGELIST = "/admin/realtime_tasks/usertaskstatus/"


def staff(*permissions: str, superuser: bool = False) -> Client:
    user = User.objects.create_user(f"staff{User.objects.count()}", is_staff=True, is_superuser=superuser)
    user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


def tree(user: User, canvas: Any) -> UserTaskStatus:
    record_canvas(canvas)
    return UserTaskStatus.objects.filter(parent=None).latest("created")


@pytest.fixture
def ada() -> User:
    return User.objects.create_user("ada")


def test_changelist_lists_roots_only_with_progress(ada: User) -> None:
    root = tree(
        ada, chain(step.si(user_id=ada.pk, steps=3), step.si(user_id=ada.pk, user_task_name="Report"))
    )
    page = staff("view_usertaskstatus").get(CHANGELIST).content.decode()
    assert page.count('<progress max="4" value="0">') == 1
    assert reverse("admin:realtime_tasks_usertaskstatus_tree", args=[root.uuid]) in page
    assert "1 user task status" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=group", ["Thumbnails"]),
        ("kind=chord", ["Merge"]),
        ("kind=task", ["Alone"]),
        ("state__exact=Failed", ["Merge"]),
        ("q=thumb", ["Thumbnails"]),
    ],
)
def test_filters_and_search(query: str, expected: list[str], ada: User) -> None:
    tree(ada, group(step.si(user_id=ada.pk, user_task_name="Thumbnails"), step.si(user_id=ada.pk)))
    merge = tree(ada, chord([step.si(user_id=ada.pk, user_task_name="Merge")], step.si(user_id=ada.pk)))
    UserTaskStatus.objects.filter(pk=merge.pk).update(state="Failed")
    alone = record_leaf(step, "alone", (), {"user_id": ada.pk})
    UserTaskStatus.objects.filter(pk=alone.pk).update(name="Alone")
    client = staff("view_usertaskstatus")
    page = client.get(f"{CHANGELIST}?{query}").content.decode()
    names = [name for name in ("Thumbnails", "Merge", "Alone") if f">{name}</a>" in page]
    assert names == expected


def test_search_by_uuid_and_task_id(ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk, user_task_name="Found"), step.si(user_id=ada.pk)))
    client = staff("view_usertaskstatus")
    for term in (str(root.uuid), root.task_id):
        assert ">Found</a>" in client.get(CHANGELIST, {"q": term}).content.decode()


def test_tree_page_shows_records_artifacts_and_escapes_text(ada: User) -> None:
    root = tree(
        ada,
        chain(step.si(user_id=ada.pk, user_task_name="<script>alert(1)</script>"), step.si(user_id=ada.pk)),
    )
    leaf = UserTaskStatus.objects.get(parent=root.uuid, position=0)
    leaf.fail("<b>disk</b> full")
    UserTaskArtifact.objects.create(status=leaf, name="Link", url="javascript:alert(1)")
    page = staff("view_usertaskstatus").get(f"{CHANGELIST}{root.uuid}/tree/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;disk&lt;/b&gt; full" in page
    assert 'href="javascript:' not in page
    assert page.count("<tr data-uuid=") == 3
    assert f'root="{root.uuid}"' in page


def test_tree_page_needs_the_view_permission(ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    assert staff().get(f"{CHANGELIST}{root.uuid}/tree/").status_code == 403


def test_tree_page_shows_its_records_a_page_at_a_time(ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk) for _ in range(1_100)))
    client = staff("view_usertaskstatus")
    pages = {
        number: client.get(f"{CHANGELIST}{root.uuid}/tree/?page={number}").content.decode()
        for number in ("1", "3", "x", "99")
    }
    assert [page.count("<tr data-uuid=") for page in pages.values()] == [500, 101, 500, 101]
    assert "Records 1&ndash;500 of 1101" in pages["1"]
    assert "Records 1001&ndash;1101 of 1101" in pages["3"]
    assert f'<tr data-uuid="{root.uuid}"' in pages["1"]  # the root first


def test_tree_page_costs_the_same_queries_for_10_and_10000_records(ada: User) -> None:
    client = staff("view_usertaskstatus")
    counts = []
    for size in (10, 10_000):
        root = tree(ada, group(step.si(user_id=ada.pk) for _ in range(size)))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{CHANGELIST}{root.uuid}/tree/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.services
def test_cancel_action_needs_the_cancel_permission(ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    action = {"action": "cancel_trees", "_selected_action": [root.pk]}
    viewer = staff("view_usertaskstatus")
    assert "cancel_trees" not in viewer.get(CHANGELIST).content.decode()
    viewer.post(CHANGELIST, action)
    assert UserTaskStatus.objects.get(pk=root.pk).state == "Pending"
    staff("view_usertaskstatus", "cancel_usertaskstatus").post(CHANGELIST, action)
    assert set(UserTaskStatus.objects.values_list("state", flat=True)) == {"Canceled"}


def test_delete_and_purge_remove_whole_trees(ada: User) -> None:
    old = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    kept = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    UserTaskStatus.objects.filter(pk=old.pk).update(state="Succeeded", created="2020-01-01T00:00:00Z")
    client = staff(superuser=True)
    assert client.get(f"{CHANGELIST}purge/").status_code == 200
    client.post(f"{CHANGELIST}purge/", {"before": "2021-01-01"})
    assert set(UserTaskStatus.objects.values_list("root_id", flat=True)) == {kept.uuid}
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [kept.pk], "post": "yes"})
    assert not UserTaskStatus.objects.exists()


def test_purge_needs_the_delete_permission() -> None:
    assert staff("view_usertaskstatus").get(f"{CHANGELIST}purge/").status_code == 403
