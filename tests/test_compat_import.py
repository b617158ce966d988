"""import_user_tasks against django-user-tasks' real tables (made by its own migrations): trees, artifacts and
files copied into valid trees, a second run adding nothing, batches, progress and the dry run.

django-user-tasks supports Django up to 5.2, so it is installed in .venv-dj52 only (see the Makefile); the
`core` run there covers these tests. Elsewhere they skip.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils.timezone import now

from realtime_tasks.models import UserTaskArtifact, UserTaskStatus

pytest.importorskip(
    "user_tasks",
    reason="django-user-tasks is not installed here (it supports Django <= 5.2; .venv-dj52 has it)",
)

pytestmark = [pytest.mark.core, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Any]:
    """django-user-tasks' models, with their tables made by its migrations (dropped again afterwards), and a
    storage of its own for its artifact files."""
    storages_setting = {
        **settings.STORAGES,
        "user_task_artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "user_tasks")},
        },
    }
    apps_setting = [*settings.INSTALLED_APPS, "tests.compat_apps.UserTasksTablesConfig"]
    with override_settings(INSTALLED_APPS=apps_setting, STORAGES=storages_setting):
        call_command("migrate", "user_tasks", verbosity=0)
        try:
            from user_tasks import models

            yield models
        finally:
            call_command("migrate", "user_tasks", "zero", verbosity=0)


@pytest.fixture
def ada() -> User:
    return User.objects.create_user("ada")


def make(peer: Any, user: User, **fields: Any) -> Any:
    values = {
        "name": "Task",
        "task_class": "site.tasks.export",
        "task_id": str(uuid.uuid4()),
        "total_steps": 2,
    }
    return peer.UserTaskStatus.objects.create(user=user, **{**values, **fields})


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_user_tasks", *args, stdout=out)
    return out.getvalue()


def test_a_single_record_is_copied_field_for_field(peer: Any, ada: User) -> None:
    old = make(peer, ada, name="Export", state="Succeeded", completed_steps=2, attempts=3)
    yesterday = now() - timedelta(days=1)
    peer.UserTaskStatus.objects.filter(pk=old.pk).update(created=yesterday)

    run()

    record = UserTaskStatus.objects.get(task_id=old.task_id)
    assert (record.uuid, record.user_id, record.name, record.task_class, record.state) == (
        old.uuid,
        ada.pk,
        "Export",
        "site.tasks.export",
        "Succeeded",
    )
    assert (record.completed_steps, record.total_steps, record.attempts) == (2, 2, 3)
    assert record.created == yesterday
    assert record.finished is not None
    assert (record.parent_id, record.root_id, record.path, record.position) == (None, record.uuid, "", 0)
    assert record.children_left == 0
    assert record.sequence == 1


def test_a_group_is_copied_as_a_tree_that_rolls_up_like_this_apps(peer: Any, ada: User) -> None:
    group = make(peer, ada, task_class="celery.group", is_container=True, total_steps=4)
    done = make(peer, ada, parent=group, state="Succeeded", completed_steps=2)
    running = make(peer, ada, parent=group, state="In Progress")

    run()

    root = UserTaskStatus.objects.get(task_id=group.task_id)
    children = list(UserTaskStatus.objects.filter(parent=root).order_by("position"))
    assert [child.task_id for child in children] == [done.task_id, running.task_id]
    assert [child.position for child in children] == [0, 1]
    assert all(child.root_id == root.uuid and child.path == f"{root.uuid.hex}/" for child in children)
    assert all(child.completes_parent for child in children)
    assert root.children_left == 1  # the running member
    assert (root.total_steps, root.is_container) == (4, True)

    children[1].succeed()
    root.refresh_from_db()
    assert root.state == UserTaskStatus.SUCCEEDED
    assert root.completed_steps == 2  # the container's total as given, plus the last member's steps


def test_a_chain_waits_for_its_last_step_and_nested_paths_go_down(peer: Any, ada: User) -> None:
    chain = make(peer, ada, task_class="celery.chain", is_container=True)
    first = make(peer, ada, parent=chain)
    inner = make(peer, ada, parent=chain, task_class="celery.group", is_container=True)
    leaf = make(peer, ada, parent=inner)

    run()

    records = {record.task_id: record for record in UserTaskStatus.objects.all()}
    top, step, group, deep = (records[r.task_id] for r in (chain, first, inner, leaf))
    assert (step.completes_parent, group.completes_parent) == (False, True)
    assert top.children_left == 1
    assert group.children_left == 1
    assert deep.path == f"{top.uuid.hex}/{group.uuid.hex}/"
    assert deep.root_id == top.uuid
    assert deep.parent == group


def test_artifacts_are_copied_with_their_files(peer: Any, ada: User) -> None:
    status = make(peer, ada, state="Succeeded")
    source = storages["user_task_artifacts"]
    name = source.save("user_tasks/2026/11/30/report.csv", ContentFile(b"a,b\n1,2\n"))
    with_file = peer.UserTaskArtifact.objects.create(status=status, file=name)
    with_text = peer.UserTaskArtifact.objects.create(status=status, name="Error", text="Oops")
    with_url = peer.UserTaskArtifact.objects.create(status=status, url="https://example.com/r")

    run()

    record = UserTaskStatus.objects.get(task_id=status.task_id)
    copied = {artifact.uuid: artifact for artifact in UserTaskArtifact.objects.filter(status=record)}
    assert set(copied) == {with_file.uuid, with_text.uuid, with_url.uuid}
    assert copied[with_file.uuid].file.name == name
    with copied[with_file.uuid].file.open("rb") as content:
        assert content.read() == b"a,b\n1,2\n"
    assert (copied[with_text.uuid].name, copied[with_text.uuid].text) == ("Error", "Oops")
    assert copied[with_url.uuid].url == "https://example.com/r"
    copied[with_file.uuid].file.storage.delete(name)


def test_a_second_run_adds_nothing_but_what_is_new(peer: Any, ada: User) -> None:
    first = make(peer, ada)
    peer.UserTaskArtifact.objects.create(status=first, text="one")
    run()

    second = make(peer, ada)
    peer.UserTaskArtifact.objects.create(status=first, text="added later")
    output = run()

    assert "Copying 1 trees (1 status records); 1 trees are here already." in output
    assert "Copying 1 artifacts; 1 are here already." in output
    assert set(UserTaskStatus.objects.values_list("task_id", flat=True)) == {first.task_id, second.task_id}
    assert UserTaskArtifact.objects.count() == 2

    run()
    assert UserTaskStatus.objects.count() == 2
    assert UserTaskArtifact.objects.count() == 2


def test_batches_keep_trees_whole_and_report_progress(peer: Any, ada: User) -> None:
    for _ in range(3):
        group = make(peer, ada, task_class="celery.group", is_container=True)
        make(peer, ada, parent=group)
        make(peer, ada, parent=group)

    output = run("--batch-size", "4")

    progress = [line for line in output.splitlines() if line.startswith("[")]
    assert progress == [
        "[####################..........] 6/9 status records (66%)",
        "[##############################] 9/9 status records (100%)",
    ]
    assert UserTaskStatus.objects.count() == 9
    assert UserTaskStatus.objects.filter(parent=None).count() == 3


def test_a_dry_run_counts_and_writes_nothing(peer: Any, ada: User) -> None:
    group = make(peer, ada, task_class="celery.group", is_container=True)
    make(peer, ada, parent=group)
    peer.UserTaskArtifact.objects.create(status=group, text="x")

    output = run("--dry-run")

    assert "Would copy 1 trees (2 status records); 0 trees are here already." in output
    assert "Would copy 1 artifacts; 0 are here already." in output
    assert not UserTaskStatus.objects.exists()
    assert not UserTaskArtifact.objects.exists()


def test_bad_arguments_are_explained(peer: Any) -> None:
    with pytest.raises(CommandError, match="--batch-size must be at least 1, not 0"):
        run("--batch-size", "0")
    with pytest.raises(CommandError, match="'nowhere' is not a key of STORAGES"):
        run("--source-storage", "nowhere")


def test_without_django_user_tasks_tables_the_command_says_so() -> None:
    with pytest.raises(CommandError, match="No django-user-tasks table user_tasks_usertaskstatus"):
        run()


def test_the_tables_are_read_after_user_tasks_left_installed_apps(peer: Any, ada: User) -> None:
    old = make(peer, ada)
    without = [app for app in settings.INSTALLED_APPS if app != "tests.compat_apps.UserTasksTablesConfig"]
    with override_settings(INSTALLED_APPS=without):
        assert not apps.is_installed("user_tasks")
        run()
    assert UserTaskStatus.objects.filter(task_id=old.task_id).exists()


def test_an_artifact_file_found_in_neither_storage_stops_the_import(peer: Any, ada: User) -> None:
    status = make(peer, ada)
    peer.UserTaskArtifact.objects.create(status=status, file="user_tasks/2026/11/30/lost.csv")
    with pytest.raises(
        CommandError, match=re.escape("'user_tasks/2026/11/30/lost.csv' is in neither storage")
    ):
        run()
    assert not UserTaskArtifact.objects.exists()
