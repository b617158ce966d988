"""End to end under uvicorn instead of daphne: the consumer needs nothing of daphne's own."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from celery import chain, group
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime_tasks.models import UserTaskStatus
from realtime_tasks.testing import root_of, wait_for_tree
from tests.conftest import ROOT, free_port, process_env, start_worker_process, wait_for_port
from tests.tasks import step
from tests.test_live import GapView, caught_up, in_database

pytest.importorskip("uvicorn")

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def queue(django_db_setup: Any) -> Iterator[str]:
    """A worker of this module's own: what earlier tests left running on the shared one cannot hold it up."""
    name = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-uvicorn"
    worker = start_worker_process("uvicorn", concurrency=2, queue=name)
    yield name
    worker.terminate()
    worker.wait(timeout=30)


@pytest.fixture(scope="module")
def uvicorn_port(queue: str) -> Iterator[int]:
    """uvicorn serving the tests' ASGI application (with its websockets implementation), and its port."""
    port = free_port()
    log = ROOT / "test-artifacts" / f"uvicorn-{port}.log"
    # channels' ProtocolTypeRouter has no lifespan application: without --lifespan off uvicorn tries it first.
    command = [sys.executable, "-m", "uvicorn", "tests.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--ws", "websockets", "--lifespan", "off"]
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=process_env(), stdout=output, stderr=subprocess.STDOUT
        )
    wait_for_port(port, server, log)
    yield port
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def user() -> User:
    return User.objects.create_user("grace")


def headers(user: User, port: int) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={client.cookies['sessionid'].value}"}


def test_snapshot_then_live_changes_of_a_canvas_run_by_a_worker(
    user: User, uvicorn_port: int, queue: str
) -> None:
    earlier = wait_for_tree(root_of(step.apply_async(kwargs={"user_id": user.pk, "steps": 2}, queue=queue)))
    url = f"ws://127.0.0.1:{uvicorn_port}/ws/tasks/"
    with connect(url, additional_headers=headers(user, uvicorn_port)) as client:
        snapshot = json.loads(client.recv(timeout=10))
        assert snapshot["type"] == "snapshot"
        assert [tree["root"] for tree in snapshot["trees"]] == [str(earlier.uuid)]
        [tree] = snapshot["trees"]
        assert sorted(tree["records"], key=lambda r: r["uuid"]) == in_database(earlier)

        canvas = chain(
            step.si(user_id=user.pk, steps=3).set(queue=queue),
            group(step.si(user_id=user.pk).set(queue=queue) for _ in range(4)),
        )
        root = root_of(canvas.apply_async())
        # A client as the protocol describes it: a change it missed (a channel layer delivers at most once)
        # is fetched again when the digest shows the gap.
        view = GapView()
        view.follow(client, caught_up(view, root))
    assert view.broadcasts > 0  # live changes came through uvicorn
    assert view.tree(root) == in_database(root)
    assert UserTaskStatus.objects.get(uuid=root.uuid).state == "Succeeded"


def test_page_of_another_site_is_refused(user: User, uvicorn_port: int) -> None:
    refused = {**headers(user, uvicorn_port), "Origin": "http://elsewhere.example"}
    with pytest.raises(InvalidStatus) as refusal:
        connect(f"ws://127.0.0.1:{uvicorn_port}/ws/tasks/", additional_headers=refused)
    # Closed before the handshake is accepted: uvicorn answers the upgrade with 403.
    assert refusal.value.response.status_code == 403
