"""End to end: real daphne processes, real worker processes, Redis, PostgreSQL and a WebSocket client."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import chain, chord, group
from django.contrib.auth.models import User
from django.test import Client
from websockets.sync.client import ClientConnection, connect

from realtime_tasks.conf import conf
from realtime_tasks.models import UserTaskStatus
from realtime_tasks.serializers import serialize_trees
from realtime_tasks.testing import root_of
from tests import logrecords
from tests.conftest import start_daphne, start_worker_process
from tests.tasks import step

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def daphnes(celery_worker: Any) -> Iterator[list[int]]:
    """Two daphne processes, and a second worker beside the session's: four processes sharing Redis."""
    processes = [start_daphne(), start_daphne()]
    worker = start_worker_process("second", concurrency=2)
    yield [port for _, port in processes]
    for process in [worker, *(server for server, _ in processes)]:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


@contextlib.contextmanager
def open_socket(user: User, port: int) -> Iterator[ClientConnection]:
    """A WebSocket of ``user`` on the daphne at ``port``, its snapshot read."""
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": cookie}
    with connect(f"ws://127.0.0.1:{port}/ws/tasks/", additional_headers=headers) as client_socket:
        assert json.loads(client_socket.recv(timeout=10))["type"] == "snapshot"
        yield client_socket


class View:
    """What a client shows: every record it heard of, at the highest version it heard."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.broadcasts = 0

    def apply(self, message: dict[str, Any]) -> None:
        """Takes the records a message carries: a snapshot's trees', a tree's or a status message's. Any
        other message (a digest comes once per keep-alive period, whenever that falls) carries none."""
        if message["type"] == "snapshot":
            batches = [tree["records"] for tree in message["trees"]]
        elif message["type"] in ("tree", "status"):
            batches = [message["records"]]
        else:
            return
        self.broadcasts += message["type"] == "status"
        for record in (record for batch in batches for record in batch):
            known = self.records.get(record["uuid"])
            if known is None or known["version"] < record["version"]:
                self.records[record["uuid"]] = record

    def tree(self, root: UserTaskStatus) -> list[dict[str, Any]]:
        return sorted(
            (r for r in self.records.values() if r["root"] == str(root.uuid)), key=lambda r: r["uuid"]
        )

    def follow(self, client: ClientConnection, done: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "the client did not see the tree finish"
            try:
                self.apply(json.loads(client.recv(timeout=0.5)))
            except TimeoutError:
                continue


def in_database(root: UserTaskStatus) -> list[dict[str, Any]]:
    [tree] = serialize_trees([root.uuid])
    return sorted(tree["records"], key=lambda r: r["uuid"])


def caught_up(view: View, root: UserTaskStatus) -> Callable[[], bool]:
    """Whether the tree has finished and the client shows exactly what the database holds."""

    def done() -> bool:
        unfinished = UserTaskStatus.objects.filter(root__uuid=root.uuid).exclude(
            state__in=UserTaskStatus.TERMINAL_STATES
        )
        return not unfinished.exists() and view.tree(root) == in_database(root)

    return done


def test_client_ends_with_the_database_state_of_a_nested_canvas(user: User, daphnes: list[int]) -> None:
    canvas = chain(
        step.si(user_id=user.pk, steps=3),
        chord(
            [group(step.si(user_id=user.pk, steps=2) for _ in range(5)), step.si(user_id=user.pk)],
            step.si(user_id=user.pk, steps=4),
        ),
        group(step.si(user_id=user.pk), step.si(user_id=user.pk, fail="boom")),
    )
    view = View()
    with open_socket(user, daphnes[0]) as client:
        root = root_of(canvas.apply_async())
        view.follow(client, caught_up(view, root))
    assert view.tree(root) == in_database(root)


def test_clients_on_two_servers_see_a_tree_run_by_two_workers(user: User, daphnes: list[int]) -> None:
    views = [View(), View()]
    with open_socket(user, daphnes[0]) as first, open_socket(user, daphnes[1]) as second:
        root = root_of(group(step.si(user_id=user.pk, steps=3, pause=0.01) for _ in range(40)).apply_async())
        for view, client in zip(views, (first, second), strict=True):
            view.follow(client, caught_up(view, root))
    for view in views:
        assert view.tree(root) == in_database(root)


def test_fast_progress_is_coalesced_and_ends_exact(user: User, daphnes: list[int]) -> None:
    view = View()
    with open_socket(user, daphnes[1]) as client:
        result = step.delay(user_id=user.pk, steps=3000)
        root = UserTaskStatus.objects.get(task_id=result.id)
        started = time.monotonic()
        view.follow(client, caught_up(view, root))
        elapsed = time.monotonic() - started
    assert view.tree(root) == in_database(root)
    assert view.tree(root)[0]["completed_steps"] == 3000
    # At most one message per window (the first at once), however fast the updates come.
    assert view.broadcasts <= elapsed / conf.BROADCAST_WINDOW + 2
    assert view.broadcasts < 3000 / 2


def test_idle_connection_stays_open_and_live(user: User, daphnes: list[int]) -> None:
    """Nothing happens for longer than channels-redis's 5 s blocking read: with redis-py's default read
    timeout (also 5 s) that read fails and the WebSocket is closed; the settings the README gives keep it
    open (system check W002 warns about the others)."""
    with open_socket(user, daphnes[0]) as client:
        with pytest.raises(TimeoutError):
            client.recv(timeout=12)
        view = View()
        root = root_of(group(step.si(user_id=user.pk), step.si(user_id=user.pk)).apply_async())
        view.follow(client, caught_up(view, root), timeout=60)
    assert view.tree(root) == in_database(root)


class GapView(View):
    """A client that follows the gap rule: a digest above what it has seen makes it fetch that tree."""

    def __init__(self) -> None:
        super().__init__()
        self.sequences: dict[str, int] = {}
        self.fetches = 0
        self.digests = 0

    def handle(self, client: ClientConnection, message: dict[str, Any]) -> None:
        self.apply(message)
        if message["type"] == "tree":
            self.sequences[message["root"]] = max(self.sequences.get(message["root"], 0), message["sequence"])
        elif message["type"] == "status":
            self.sequences[message["root"]] = max(
                self.sequences.get(message["root"], 0), *message["sequences"]
            )
        elif message["type"] == "digest":
            self.digests += 1
            for root, sequence in message["trees"].items():
                if sequence > self.sequences.get(root, 0):
                    self.fetches += 1
                    client.send(json.dumps({"type": "subscribe", "root": root}))

    def follow(self, client: ClientConnection, done: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "the client did not catch up"
            try:
                self.handle(client, json.loads(client.recv(timeout=0.5)))
            except TimeoutError:
                continue


def test_changes_a_worker_could_not_broadcast_reach_the_client_through_the_digest(
    user: User, celery_worker: Any, settings: Any
) -> None:
    """A worker process whose channel layer is a Redis that is not there runs a task: every broadcast of it
    fails (logged once). The client, on a daphne with a one-second keep-alive, notices through the digest,
    fetches the tree, and ends with the database's state, on the same connection."""
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-broken-layer"
    records = ROOT / "test-artifacts" / "worker-broken-layer.jsonl"
    records.unlink(missing_ok=True)
    worker = start_worker_process(
        "broken-layer",
        concurrency=1,
        queue=queue,
        env={"REALTIME_TASKS_TEST_CHANNEL_LAYER_URL": "redis://127.0.0.1:9/0"},
    )
    server, port = start_daphne(env={"DJANGO_SETTINGS_MODULE": "tests.settings_live"})
    try:
        view = GapView()
        with open_socket(user, port) as client:
            result = step.apply_async(kwargs={"user_id": user.pk, "steps": 3}, queue=queue)
            root = UserTaskStatus.objects.get(task_id=result.id)
            view.follow(client, caught_up(view, root))
        assert view.tree(root) == in_database(root)
        assert view.fetches >= 1
    finally:
        for process in (worker, server):
            process.terminate()
            process.wait(timeout=30)
    failures = [
        r
        for r in logrecords.read(records)
        if r["logger"] == "realtime_tasks.broadcast" and r["level"] == "ERROR"
    ]
    assert len(failures) == 1
