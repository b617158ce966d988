"""The model's methods, in the test process: roll-up, versions, signals, monotonic states, cost."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from celery import chain, chord, group
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from realtime_tasks import batching, changes
from realtime_tasks.batching import Writer
from realtime_tasks.canvas import record_canvas, record_leaf
from realtime_tasks.changes import Event, Kind, apply
from realtime_tasks.exceptions import TaskCanceledException
from realtime_tasks.models import UserTaskArtifact, UserTaskStatus
from realtime_tasks.signals import changes_committed, status_changed, user_task_stopped
from realtime_tasks.tasks import purge_old_user_tasks
from tests.tasks import step

pytestmark = [pytest.mark.core, pytest.mark.django_db]


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


def build(canvas: Any) -> UserTaskStatus:
    """Record ``canvas`` without publishing it; return its root."""
    record_canvas(canvas)
    return UserTaskStatus.objects.get(parent=None)


def get(position: int, parent: UserTaskStatus) -> UserTaskStatus:
    return UserTaskStatus.objects.get(parent=parent, position=position)


def fresh(record: UserTaskStatus) -> UserTaskStatus:
    return UserTaskStatus.objects.get(pk=record.pk)


@pytest.fixture
def received() -> Iterator[dict[str, list[UserTaskStatus]]]:
    seen: dict[str, list[Any]] = {"changed": [], "stopped": [], "committed": []}

    def on_changed(status: UserTaskStatus, **kwargs: Any) -> None:
        seen["changed"].append(status)

    def on_committed(statuses: list[UserTaskStatus], **kwargs: Any) -> None:
        seen["committed"].append(sorted(str(status.uuid) for status in statuses))

    def on_stopped(status: UserTaskStatus, **kwargs: Any) -> None:
        seen["stopped"].append(status)

    status_changed.connect(on_changed)
    changes_committed.connect(on_committed)
    user_task_stopped.connect(on_stopped)
    yield seen
    status_changed.disconnect(on_changed)
    changes_committed.disconnect(on_committed)
    user_task_stopped.disconnect(on_stopped)


OPERATIONS = {
    "start": lambda r: r.start(),
    "increment_completed_steps": lambda r: r.increment_completed_steps(),
    "increment_total_steps": lambda r: r.increment_total_steps(3),
    "set_state": lambda r: r.set_state("Crunching"),
    "succeed": lambda r: r.succeed(),
    "fail": lambda r: r.fail("boom"),
    "retry": lambda r: r.retry(),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_leaf_update_costs_the_same_queries_among_10_or_10000_siblings(operation: str, user: User) -> None:
    counts = []
    for size in (10, 10_000):
        UserTaskStatus.objects.all().delete()
        # A chain above the group puts a second level of ancestors on the path.
        root = build(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk) for _ in range(size))))
        leaf = UserTaskStatus.objects.filter(parent=get(1, root)).last()
        assert leaf is not None
        with CaptureQueriesContext(connection) as queries:
            OPERATIONS[operation](leaf)
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)
def test_every_change_bumps_the_version_and_is_announced_after_commit(user: User, received: Any) -> None:
    root = build(chain(step.si(user_id=user.pk, steps=3), step.si(user_id=user.pk)))
    first = get(0, root)
    assert (first.version, root.version) == (1, 1)
    assert len(received["changed"]) == 3  # each record is announced when it is created
    assert [len(batch) for batch in received["committed"]] == [3]  # together
    received["changed"].clear()
    received["committed"].clear()
    with transaction.atomic():
        first.start()
        first.increment_completed_steps()
        assert received["changed"] == received["committed"] == []  # nothing before the commit
    assert sorted((r.version, str(r.uuid)) for r in received["changed"]) == sorted(
        (version, str(uuid)) for version in (2, 3) for uuid in (root.uuid, first.uuid)
    )
    # Each change comes with its roll-up into the chain.
    assert received["committed"] == [sorted([str(root.uuid), str(first.uuid)])] * 2
    assert (fresh(first).version, first.version, first.state) == (3, 3, "In Progress")


@pytest.fixture
def writer(settings: Any) -> Iterator[Writer]:
    """A worker process's writer, whose window does not end during a test unless it is flushed."""
    settings.REALTIME_TASKS_WRITE_WINDOW = 60
    writer = Writer()
    yield writer
    writer.call(connections.close_all)  # its thread's connection: the test database can go


@pytest.mark.django_db(transaction=True)
def test_a_task_ending_within_its_window_is_written_once(user: User, writer: Writer) -> None:
    root = build(group(step.si(user_id=user.pk), step.si(user_id=user.pk)))
    leaf = get(0, root)
    leaf._writer = writer
    leaf.start()
    for _ in range(5):
        leaf.increment_completed_steps()
    leaf.succeed()
    assert (fresh(leaf).state, fresh(leaf).version) == ("Pending", 1)  # all held back
    assert writer.flush()
    # Created, then started, stepped and succeeded in one change; the steps beyond its total of 1 count.
    done = fresh(leaf)
    assert (done.state, done.completed_steps, done.version) == ("Succeeded", 5, 2)
    assert done.created <= done.started <= done.finished
    assert (fresh(root).state, fresh(root).completed_steps, fresh(root).version) == ("In Progress", 5, 2)
    assert (leaf.state, leaf.version) == ("Succeeded", 2)  # the task's own instance is brought up to date


@pytest.mark.django_db(transaction=True)
def test_one_batch_changes_each_ancestor_once_however_many_leaves_it_holds(
    user: User, writer: Writer, received: Any
) -> None:
    root = build(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk) for _ in range(100))))
    members = list(UserTaskStatus.objects.filter(parent=get(1, root)))
    received["stopped"].clear()
    began = now()
    started = {member.task_id: began - timedelta(seconds=n) for n, member in enumerate(members)}
    for member in members:  # by task id, as a worker's receivers name them, each started at its own time
        start = Event(Kind.START, started[member.task_id], task_id=member.task_id)
        writer.submit(start, Event(Kind.SUCCEED, task_id=member.task_id))
    assert writer.flush()
    # The leaves' different values are saved together, each its own.
    assert {
        r.task_id: r.started for r in UserTaskStatus.objects.filter(pk__in=[m.pk for m in members])
    } == started
    group_record, root = get(1, root), fresh(root)
    # The group and the chain above it changed once each, however many leaves the batch held.
    assert (group_record.state, group_record.completed_steps, group_record.version) == ("Succeeded", 100, 2)
    # A chain succeeds with its final step (the group), however its first step fares.
    assert (root.state, root.completed_steps, root.sequence, root.version) == ("Succeeded", 100, 2, 2)
    assert sorted(str(r.uuid) for r in received["stopped"]) == sorted(
        str(r.uuid) for r in [*members, group_record, root]
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("size", "statements"),
    [
        # The members and their two ancestors locked by one query, every change written by one UPDATE.
        (changes.TOGETHER_MOST, ["SELECT", "UPDATE"]),
        # A backlog: the members locked and written, then their ancestors locked and written.
        (changes.TOGETHER_MOST + 1, ["SELECT", "UPDATE", "SELECT", "UPDATE"]),
    ],
)
def test_a_workers_batch_is_one_select_and_one_update_unless_a_backlog(
    size: int, statements: list[str], user: User
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "the one-statement forms are PostgreSQL's; elsewhere two SELECTs and an UPDATE per change"
        )
    root = build(
        chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk, steps=3) for _ in range(size)))
    )
    members = list(UserTaskStatus.objects.filter(parent=get(1, root)))
    half = size // 2
    # A worker's batch, by task id: every member started, half of them two steps on, the others done.
    events = [Event(Kind.START, task_id=member.task_id) for member in members]
    events += [Event(Kind.STEPS, 2, task_id=member.task_id) for member in members[:half]]
    events += [Event(Kind.SUCCEED, task_id=member.task_id) for member in members[half:]]
    with CaptureQueriesContext(connection) as queries:
        apply(events)
    assert [query["sql"].split()[0] for query in queries] == ["BEGIN", *statements, "COMMIT"]
    assert all(query["sql"].endswith("FOR UPDATE") for query in queries if query["sql"].startswith("SELECT"))
    stepped, done = fresh(members[0]), fresh(members[-1])
    assert (stepped.state, stepped.completed_steps) == ("In Progress", 2)
    assert (done.state, done.completed_steps) == ("Succeeded", 3)
    completed = 2 * half + 3 * (size - half)
    group_record, root = get(1, root), fresh(root)
    assert (group_record.state, group_record.completed_steps, group_record.children_left) == (
        "In Progress",
        completed,
        half,
    )
    assert (root.state, root.completed_steps, root.total_steps, root.sequence) == (
        "In Progress",
        completed,
        3 * size + 1,
        2,
    )


@pytest.mark.django_db(transaction=True)
def test_a_running_task_that_read_its_record_is_still_found_and_locked_with_its_ancestors_at_once(
    user: User, writer: Writer
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement forms are PostgreSQL's")
    root = build(group(step.si(user_id=user.pk) for _ in range(2)))
    member = get(0, root)
    status = UserTaskStatus.of_running_task(member.task_id, writer, functools.partial(fresh, member))
    status.refresh_from_db()  # the task read a field: its record is read now, by its writer
    assert status.is_read
    with CaptureQueriesContext(connection) as queries:
        apply([Event.of(status, Kind.START), Event.of(status, Kind.SUCCEED)])
    # By its task id, as before it was read: not the general way's separate finding and locking.
    assert [query["sql"].split()[0] for query in queries] == ["BEGIN", "SELECT", "UPDATE", "COMMIT"]
    assert (status.state, fresh(root).children_left) == ("Succeeded", 1)


@pytest.mark.django_db(transaction=True)
def test_a_backlog_is_written_in_transactions_of_at_most_max_batch_events(
    user: User, writer: Writer, received: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batching, "MAX_BATCH", 4)
    root = build(group(step.si(user_id=user.pk) for _ in range(3)))
    members = list(UserTaskStatus.objects.filter(parent=root))
    received["committed"].clear()  # the tree's creation
    for member in members:
        writer.submit(Event(Kind.START, task_id=member.task_id))
    for member in members:
        writer.submit(Event(Kind.SUCCEED, task_id=member.task_id))
    assert writer.flush()
    # Six events: four (three leaves and the group changed), then two (two leaves and the group).
    assert [len(statuses) for statuses in received["committed"]] == [4, 3]
    root = fresh(root)
    assert (root.state, root.completed_steps, root.sequence) == ("Succeeded", 3, 3)
    assert len(received["stopped"]) == 4


@pytest.mark.django_db(transaction=True)
def test_a_bad_event_costs_a_batch_only_its_own_record(user: User, writer: Writer) -> None:
    leaf = get(0, build(group(step.si(user_id=user.pk), step.si(user_id=user.pk))))

    def record_of_a_user_gone() -> UserTaskStatus:
        # A task started after its user was deleted: the foreign key fails when the batch commits.
        return UserTaskStatus.objects.create(user_id=user.pk + 1000, task_id="orphan", task_class="x")

    writer.submit(Event(Kind.START, task_id="orphan", create=record_of_a_user_gone))
    writer.submit(Event(Kind.START, task_id=leaf.task_id), Event(Kind.SUCCEED, task_id=leaf.task_id))
    assert writer.flush()
    assert fresh(leaf).state == "Succeeded"
    assert not UserTaskStatus.objects.filter(task_id="orphan").exists()


@pytest.mark.django_db(transaction=True)
def test_canceled_task_learns_it_from_the_next_batch(user: User, writer: Writer) -> None:
    leaf = get(0, build(group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    leaf._writer = writer
    leaf.start()
    assert writer.flush()
    fresh(leaf).cancel()
    leaf.increment_completed_steps()  # not yet known: held with the batch
    assert writer.flush()
    with pytest.raises(TaskCanceledException):
        leaf.increment_completed_steps()
    assert (fresh(leaf).state, fresh(leaf).completed_steps) == ("Canceled", 1)


@pytest.mark.django_db(transaction=True)
def test_a_failing_write_leaves_no_transaction_open(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = get(0, build(group(step.si(user_id=user.pk), step.si(user_id=user.pk))))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ValueError("no room for artifacts")

    monkeypatch.setattr(QuerySet, "bulk_create", refuse)  # the "Error" artifact's insert fails
    with pytest.raises(ValueError, match="no room"):
        leaf.fail("boom")
    assert not connection.in_atomic_block
    monkeypatch.undo()
    leaf.succeed()  # a later change in the same thread is committed
    assert fresh(leaf).state == "Succeeded"
    with connections["default"].cursor() as cursor:  # seen from outside this connection too
        cursor.execute("SELECT 1")
    assert UserTaskStatus.objects.filter(pk=leaf.pk, state="Succeeded").exists()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_is_never_announced(user: User, received: Any) -> None:
    leaf = build(group(step.si(user_id=user.pk), step.si(user_id=user.pk)))
    leaf = get(0, leaf)
    received["changed"].clear()
    received["committed"].clear()

    def succeed_then_roll_back() -> None:
        with transaction.atomic():
            leaf.succeed()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        succeed_then_roll_back()
    assert received["changed"] == received["stopped"] == received["committed"] == []
    assert fresh(leaf).state == "Pending"


@pytest.mark.django_db(transaction=True)
def test_terminal_state_is_never_left(user: User, received: Any) -> None:
    root = build(chain(step.si(user_id=user.pk), step.si(user_id=user.pk)))
    leaf = get(0, root)
    leaf.start()
    leaf.succeed()
    for late in (
        leaf.start,
        leaf.retry,
        lambda: leaf.fail("late"),
        lambda: leaf.set_state("X"),
        leaf.succeed,
    ):
        late()
    leaf = fresh(leaf)
    assert (leaf.state, leaf.attempts, leaf.artifacts.count()) == ("Succeeded", 1, 0)
    assert [r.uuid for r in received["stopped"]] == [leaf.uuid]


@pytest.mark.django_db(transaction=True)
def test_success_tops_up_steps_and_group_needs_all_members(user: User, received: Any) -> None:
    root = build(group(step.si(user_id=user.pk, steps=4), step.si(user_id=user.pk, steps=2)))
    first, second = get(0, root), get(1, root)
    first.increment_completed_steps()
    first.succeed()
    assert (fresh(root).state, fresh(root).completed_steps) == ("Pending", 4)
    second.succeed()
    root = fresh(root)
    assert (root.state, root.completed_steps, root.total_steps) == ("Succeeded", 6, 6)
    assert {r.uuid for r in received["stopped"]} == {first.uuid, second.uuid, root.uuid}


def test_chord_succeeds_with_its_body_not_its_header(user: User) -> None:
    root = build(chord([step.si(user_id=user.pk)], step.si(user_id=user.pk)))
    header, body = get(0, root), get(1, root)
    get(0, header).succeed()
    assert (fresh(header).state, fresh(root).state) == ("Succeeded", "Pending")
    body.succeed()
    assert fresh(root).state == "Succeeded"


def test_counts_never_exceed_what_children_sum_to(user: User) -> None:
    root = build(chord([step.si(user_id=user.pk), step.si(user_id=user.pk)], step.si(user_id=user.pk)))
    header = get(0, root)
    for position in (0, 1):
        get(position, header).succeed()
    get(1, root).succeed()
    header, root = fresh(header), fresh(root)
    assert (header.completed_steps, header.total_steps) == (2, 2)
    assert (root.completed_steps, root.total_steps) == (3, 3)


def test_step_counters_hold_more_than_two_to_the_31(user: User) -> None:
    root = build(chain(step.si(user_id=user.pk, steps=2**31), step.si(user_id=user.pk, steps=2**31)))
    get(0, root).increment_completed_steps(2**31 - 1)
    root = fresh(root)
    assert (root.completed_steps, root.total_steps) == (2**31 - 1, 2**32)


def test_progress_call_of_canceled_task_raises(user: User) -> None:
    leaf = record_leaf(step, "a-running-task", (), {"user_id": user.pk})
    leaf.start()
    UserTaskStatus.objects.get(pk=leaf.pk).cancel()
    with pytest.raises(TaskCanceledException):
        leaf.increment_completed_steps()
    with pytest.raises(TaskCanceledException):
        leaf.set_state("Still going")
    with pytest.raises(TaskCanceledException):
        leaf.start()
    assert (leaf.state, leaf.completed_steps) == ("Canceled", 1)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_cancel_container_cancels_unfinished_descendants_and_ancestors(user: User, received: Any) -> None:
    root = build(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    first, the_group = get(0, root), get(1, root)
    first.succeed()
    get(0, the_group).start()
    the_group.cancel()
    states = dict(UserTaskStatus.objects.values_list("uuid", "state"))
    assert states[first.uuid] == "Succeeded"
    assert {uuid: state for uuid, state in states.items() if uuid != first.uuid} == dict.fromkeys(
        set(states) - {first.uuid}, "Canceled"
    )
    assert len(received["stopped"]) == len(states)


def test_cancel_of_a_finished_record_changes_nothing(user: User) -> None:
    root = build(chain(step.si(user_id=user.pk), step.si(user_id=user.pk), step.si(user_id=user.pk)))
    first = get(0, root)
    first.start()
    first.succeed()
    first.cancel()
    states = list(UserTaskStatus.objects.order_by("path", "position").values_list("state", flat=True))
    assert states == ["In Progress", "Succeeded", "Pending", "Pending"]


def test_next_step_starting_ends_the_custom_state_of_its_chain(user: User) -> None:
    root = build(chain(step.si(user_id=user.pk), step.si(user_id=user.pk)))
    first, second = get(0, root), get(1, root)
    first.start()
    first.set_state("Crunching")
    assert fresh(root).state == "Crunching"
    first.succeed()
    second.start()
    assert fresh(root).state == "In Progress"


@pytest.mark.django_db(transaction=True)
def test_failing_receiver_neither_fails_the_change_nor_silences_others(
    user: User, received: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    leaf = get(0, build(group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    status_changed.connect(broken)
    try:
        leaf.succeed()
    finally:
        status_changed.disconnect(broken)
    assert [record.uuid for record in received["stopped"]] == [leaf.uuid]
    assert "receiver bug" in caplog.text


def test_user_id_given_as_text_or_number_is_one_owner(user: User) -> None:
    root = build(group(step.si(user_id=user.pk), step.si(user_id=str(user.pk))))
    assert root.user_id == user.pk


def test_set_name_names_the_ancestors(user: User) -> None:
    root = build(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    get(1, get(1, root)).set_name("Report for Ada")
    assert list(UserTaskStatus.objects.order_by("path", "position").values_list("name", flat=True)) == [
        "Report for Ada",
        "Step",
        "Report for Ada",
        "Step",
        "Report for Ada",
    ]


def test_state_text_is_the_translation_or_the_custom_state() -> None:
    assert UserTaskStatus(state="In Progress").state_text == str(
        UserTaskStatus.STATE_TRANSLATIONS["In Progress"]
    )
    assert UserTaskStatus(state="Sending emails").state_text == "Sending emails"


def test_str_of_records_and_artifacts(user: User) -> None:
    record = build(group(step.si(user_id=user.pk)))
    assert str(record) == "<UserTaskStatus: >"
    assert (
        str(UserTaskArtifact(status=record, name="Error", text="x" * 60))
        == f"<UserTaskArtifact: (Error) {'x' * 47}...>"
    )
    assert str(UserTaskArtifact(status=record, url="https://example.com/r")) == (
        "<UserTaskArtifact: (Output) https://example.com/r>"
    )


def test_arguments_as_dict_by_position_keyword_and_defaults() -> None:
    assert step.arguments_as_dict(1, 2, user_id=3) == {
        "previous": (1, 2),
        "user_id": 3,
        "steps": 1,
        "user_task_name": "",
        "behaviour": {},
    }


def test_task_run_without_publishing_gets_a_record(user: User) -> None:
    result = step.apply(kwargs={"user_id": user.pk, "steps": 2})
    record = UserTaskStatus.objects.get(task_id=result.id)
    assert (record.state, record.completed_steps, record.parent_id) == ("Succeeded", 2, None)


@pytest.mark.parametrize("command", [False, True])
def test_purge_deletes_old_finished_trees_and_their_files(command: bool, user: User, settings: Any) -> None:
    old = build(group(step.si(user_id=user.pk), step.si(user_id=user.pk)))
    artifact = UserTaskArtifact(status=get(0, old), name="Report")
    artifact.file.save("report.txt", ContentFile(b"data"))
    get(0, old).succeed()
    get(1, old).succeed()
    running = record_leaf(step, "a-running-task", (), {"user_id": user.pk})
    UserTaskStatus.objects.update(created=now() - timedelta(days=40))
    UserTaskStatus.objects.filter(pk=running.pk).update(modified=now() - timedelta(days=1))
    settings.REALTIME_TASKS_MAX_AGE = timedelta(days=30)
    if command:
        out = StringIO()
        call_command("purge_user_tasks", stdout=out)
        assert out.getvalue() == "Deleted 3 status records older than 30 days, 0:00:00.\n"
    else:
        assert purge_old_user_tasks() == 3
    assert list(UserTaskStatus.objects.values_list("pk", flat=True)) == [running.pk]
    assert not artifact.file.storage.exists(artifact.file.name)


def test_deleting_a_user_deletes_their_trees(user: User) -> None:
    build(chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk))))
    UserTaskArtifact.objects.create(status=UserTaskStatus.objects.first(), text="kept until its user goes")
    other = User.objects.create_user("bob")
    record_leaf(step, "bobs-task", (), {"user_id": other.pk})
    user.delete()
    assert list(UserTaskStatus.objects.values_list("user__username", flat=True)) == ["bob"]
    assert not UserTaskArtifact.objects.exists()


def test_migrations_are_up_to_date() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend")
def test_dropped_database_connection_is_replaced_and_nothing_counts_twice(user: User) -> None:
    leaf = get(0, build(group(step.si(user_id=user.pk, steps=5), step.si(user_id=user.pk))))
    leaf.increment_completed_steps()
    backend = connection.connection.info.backend_pid  # type: ignore[union-attr]

    def terminate() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        connections["default"].close()

    killer = threading.Thread(target=terminate)
    killer.start()
    killer.join()
    leaf.increment_completed_steps()
    leaf.increment_completed_steps()
    root = UserTaskStatus.objects.get(parent=None)
    assert (fresh(leaf).completed_steps, root.completed_steps) == (3, 3)
