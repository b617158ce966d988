"""The admin: roots listed, filtered and searched; the tree page; actions; permissions; query counts; the
artifacts. The pages' live parts are tested in Chromium (tests/test_browser_admin_demo.py)."""

from __future__ import annotations

from html.parser import HTMLParser
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
ARTIFACTS = "/admin/realtime_tasks/usertaskartifact/"


class Rows(HTMLParser):
    """The body rows of a page's tables: for each ``tr`` its attributes, its cells' text, its links as
    ``(href, text)``; and every link found inside another link."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.nested: list[str] = []
        self.open_links: list[list[str]] = []
        self.cell: list[str] | None = None
        self.in_body = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows.append({"attrs": dict(attrs), "cells": [], "links": []})
        elif tag in ("td", "th") and self.rows:
            self.cell = []
            self.rows[-1]["cells"].append(self.cell)
        elif tag == "a":
            if self.open_links:
                self.nested.append(str(dict(attrs).get("href")))
            self.open_links.append([str(dict(attrs).get("href")), ""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self.in_body = False
            self.cell = None
        if tag == "a" and self.open_links:
            href, text = self.open_links.pop()
            if self.rows and self.in_body:
                self.rows[-1]["links"].append((href, text.strip()))

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        for link in self.open_links:
            link[1] += data

    def texts(self, row: dict[str, Any]) -> list[str]:
        return [" ".join("".join(cell).split()) for cell in row["cells"]]


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
    assert page.count('max="4" value="0"') == 1
    assert reverse("admin:realtime_tasks_usertaskstatus_tree", args=[root.uuid]) in page
    assert "1 user task status" in page


def test_changelist_rows_have_one_named_link_each_to_their_tree_and_no_link_in_a_link(ada: User) -> None:
    roots = [tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk))) for _ in range(3)]
    parsed = Rows(staff("view_usertaskstatus").get(CHANGELIST).content.decode())
    rows = parsed.rows
    assert parsed.nested == []
    assert sorted(row["links"][0][0] for row in rows) == sorted(
        reverse("admin:realtime_tasks_usertaskstatus_tree", args=[root.uuid]) for root in roots
    )
    assert [len(row["links"]) for row in rows] == [1, 1, 1]
    assert all(row["links"][0][1] == "Group" for row in rows)  # every link has a name


def test_changelist_names_kinds_as_the_element_does(ada: User) -> None:
    tree(ada, chain(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    tree(ada, chord([step.si(user_id=ada.pk)], step.si(user_id=ada.pk)))
    tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    record_leaf(step, "alone", (), {"user_id": ada.pk})
    parsed = Rows(staff("view_usertaskstatus").get(CHANGELIST).content.decode())
    cells = [parsed.texts(row)[:2] for row in parsed.rows]
    # The name column (an unnamed container is called by its kind) and the kind column.
    assert sorted(cells) == [["Chain", "Chain"], ["Chord", "Chord"], ["Group", "Group"], ["Step", "Task"]]
    assert "celery.chain" not in "".join(str(cell) for cell in cells)


@pytest.mark.parametrize(
    ("state", "key"),
    [
        ("Pending", "pending"),
        ("In Progress", "running"),
        ("Succeeded", "succeeded"),
        ("Failed", "failed"),
        ("Canceled", "canceled"),
        ("Retrying", "retrying"),
        ("Waiting for the printer", "running"),
    ],
)
def test_changelist_and_tree_page_mark_bars_and_states_by_state(state: str, key: str, ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    UserTaskStatus.objects.filter(pk=root.pk).update(state=state)
    client = staff("view_usertaskstatus")
    for url in (CHANGELIST, f"{CHANGELIST}{root.uuid}/tree/"):
        page = client.get(url).content.decode()
        assert f'<progress class="rt-bar" data-state="{key}"' in page
        assert f'<span class="rt-state" data-state="{key}"' in page


def test_changelist_follows_the_unfinished_roots_of_its_page(ada: User) -> None:
    running = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    done = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    UserTaskStatus.objects.filter(pk=done.pk).update(state="Succeeded")
    page = staff("view_usertaskstatus").get(CHANGELIST).content.decode()
    assert page.count("<task-progress ") == 1
    assert f'root="{running.root_id}"' in page
    assert page.count(f'data-live="{running.uuid}"') == page.count(f'data-live="{done.uuid}"') == 2


def test_changelist_shows_and_searches_what_django_user_tasks_did(ada: User) -> None:
    ada.email = "ada@example.com"
    ada.save()
    root = tree(ada, group(step.si(user_id=ada.pk, user_task_name="Found"), step.si(user_id=ada.pk)))
    client = staff("view_usertaskstatus")
    page = client.get(CHANGELIST).content.decode()
    for column in ("created", "uuid", "state", "user", "tree"):
        assert f'class="sortable column-{column}' in page or f'class="column-{column}' in page, column
    assert str(root.uuid) in page
    for term in ("ada", "ada@example.com", "celery.group", "Found"):
        assert ">Found</a>" in client.get(CHANGELIST, {"q": term}).content.decode(), term
    assert ">Found</a>" not in client.get(CHANGELIST, {"q": "bob"}).content.decode()


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
    leaf = UserTaskStatus.objects.get(parent=root, position=0)
    leaf.fail("<b>disk</b> full")
    UserTaskArtifact.objects.create(status=leaf, name="Link", url="javascript:alert(1)")
    page = staff("view_usertaskstatus").get(f"{CHANGELIST}{root.uuid}/tree/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;disk&lt;/b&gt; full" in page
    assert 'href="javascript:' not in page
    assert page.count("<tr data-uuid=") == 3
    assert f'root="{root.uuid}"' in page


def test_tree_page_lists_records_in_tree_order(ada: User) -> None:
    """Each record right after its parent's subtree so far, siblings by position, at its depth: in a nested
    run, ordering by the random uuids of paths put rows under the wrong parent."""

    def s(**kwargs: Any) -> Any:
        return step.si(user_id=ada.pk, **kwargs)

    canvas = chain(
        chord([group(s(), s()), s(steps=3)], s(steps=2)),
        group(chain(s(), s()), chain(s(), s(), s())),
        chord([chain(s(), s()), s()], chain(s(), s())),
    )
    root = tree(ada, canvas)
    rows = Rows(staff("view_usertaskstatus").get(f"{CHANGELIST}{root.uuid}/tree/").content.decode()).rows
    shown = [(row["attrs"]["data-uuid"], int(row["attrs"]["data-depth"])) for row in rows]
    records = {str(r.uuid): r for r in UserTaskStatus.objects.filter(root=root.uuid)}
    assert len(shown) == len(records) > 20
    assert shown[0] == (str(root.uuid), 0)
    # The last record seen at each depth: a record's parent is the last one seen a level above it.
    last = [str(root.uuid)]
    last_position: dict[str, int] = {}
    for key, depth in shown[1:]:
        record = records[key]
        assert 0 < depth <= len(last), key
        parent = last[depth - 1]
        assert record.parent is not None
        assert str(record.parent.uuid) == parent, key
        assert record.position > last_position.get(parent, -1), key
        last_position[parent] = record.position
        last[depth:] = [key]


def test_tree_page_marks_live_parts_and_has_no_inline_style_or_script(ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    client = staff("view_usertaskstatus")
    page = client.get(f"{CHANGELIST}{root.uuid}/tree/").content.decode()
    assert f'<p class="rt-header" data-live="{root.uuid}">' in page
    assert page.count('data-field="counts"') == 4  # the header's and each row's
    for url in (CHANGELIST, f"{CHANGELIST}{root.uuid}/tree/", ARTIFACTS):
        page = client.get(url).content.decode()
        # Under a strict Content-Security-Policy, inline styles and scripts do not run.
        assert " style=" not in page, url
        assert "<style" not in page, url
        scripts = page.split("<script")[1:]
        assert all(" src=" in script.split(">")[0] for script in scripts), url


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


def test_artifact_list_like_django_user_tasks(ada: User) -> None:
    root = tree(ada, group(step.si(user_id=ada.pk), step.si(user_id=ada.pk)))
    leaf = UserTaskStatus.objects.get(parent=root, position=1)
    error = UserTaskArtifact.objects.create(status=leaf, name="Error", text="Disk full")
    UserTaskArtifact.objects.create(status=leaf, name="Output", url="https://example.com/report.csv")
    client = staff(superuser=True)
    page = client.get(ARTIFACTS).content.decode()
    for column in ("created", "uuid", "status", "name", "text"):
        assert f"column-{column}" in page, column
    assert "Disk full" in page
    assert page.count(reverse("admin:realtime_tasks_usertaskstatus_tree", args=[root.uuid])) == 2
    assert "Disk full" not in client.get(ARTIFACTS, {"name": "Output"}).content.decode()
    assert "example.com" not in client.get(ARTIFACTS, {"q": "disk"}).content.decode()
    assert client.get(f"{ARTIFACTS}{error.pk}/change/").status_code == 200
    assert Rows(page).nested == []


def test_artifact_list_needs_the_view_permission() -> None:
    assert staff().get(ARTIFACTS).status_code == 403
    assert staff("view_usertaskartifact").get(ARTIFACTS).status_code == 200
