"""The bounded load test (``make load``, a few minutes): 50 users at once, each with a WebSocket and a nested
canvas of about 100 tasks with progress steps, on 3 worker processes and one daphne.

At the end every client's last view equals the database, and no record ever reached another user.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from celery import chain, chord, group
from django.contrib.auth.models import User
from django.test import Client
from websockets.asyncio.client import connect

from realtime_tasks.models import UserTaskStatus
from realtime_tasks.serializers import serialize_trees
from realtime_tasks.testing import root_of, wait_for_tree
from tests.conftest import start_daphne, start_worker_process
from tests.tasks import step

pytestmark = [
    pytest.mark.load,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
]

USERS = 50
TERMINAL = {"Succeeded", "Failed", "Canceled"}


@pytest.fixture
def server() -> Iterator[int]:
    """One daphne and three worker processes (of one pool process each), sharing Redis."""
    daphne, port = start_daphne()
    workers = [start_worker_process(f"load-{n}", concurrency=1) for n in range(3)]
    yield port
    for process in [daphne, *workers]:
        process.terminate()
    for process in [daphne, *workers]:
        process.wait(timeout=60)


def canvas(user: User) -> Any:
    """About 100 tasks, 3 progress steps each: a chain of two chords of groups, then a group."""

    def s(steps: int = 3) -> Any:
        return step.si(user_id=user.pk, steps=steps)

    return chain(
        chord([group(s() for _ in range(30)), s()], s()),
        chord([group(s() for _ in range(30)), s()], s()),
        group(s() for _ in range(35)),
    )


async def follow(port: int, cookie: str, done: asyncio.Event) -> dict[str, Any]:
    """One client: the newest version of every record it receives, and how long each took to arrive."""
    headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={cookie}"}
    view: dict[str, dict[str, Any]] = {}
    latencies: list[float] = []
    messages = 0
    async with connect(
        f"ws://127.0.0.1:{port}/ws/tasks/", additional_headers=headers, max_size=None
    ) as socket:
        while not done.is_set():
            try:
                message = json.loads(await asyncio.wait_for(socket.recv(), timeout=0.5))
            except TimeoutError:
                continue
            messages += 1
            received = time.time()
            records = message.get("records", []) + [r for t in message.get("trees", []) for r in t["records"]]
            for record in records:
                known = view.get(record["uuid"])
                if known is None or known["version"] < record["version"]:
                    view[record["uuid"]] = record
                if message["type"] == "status":
                    # From the change (its modified time, just before its commit) to this client.
                    latencies.append(received - datetime.fromisoformat(record["modified"]).timestamp())
    return {"view": view, "latencies": latencies, "messages": messages}


def test_fifty_users_at_once_each_end_with_the_exact_state(server: int) -> None:
    users = [User.objects.create_user(f"user{n}") for n in range(USERS)]
    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)

    # The clients run on an event loop in a thread of their own; this thread publishes and waits, with its
    # own Celery result backend and database connection (a thread's backend, left behind, leaks sockets).
    connected, published = threading.Event(), threading.Event()
    results: list[dict[str, Any]] = []

    async def clients() -> None:
        done = asyncio.Event()
        followers = [asyncio.create_task(follow(server, cookie, done)) for cookie in cookies]
        await asyncio.sleep(1)  # every client connected and holds its (empty) snapshot
        connected.set()
        await asyncio.to_thread(published.wait)
        await asyncio.sleep(2)  # the last coalesced messages
        done.set()
        results.extend(await asyncio.gather(*followers))

    thread = threading.Thread(target=asyncio.run, args=(clients(),))
    thread.start()
    try:
        connected.wait()
        roots = [root_of(canvas(user).apply_async()) for user in users]
        started = time.monotonic()
        for root in roots:
            wait_for_tree(root, timeout=600)
        took = time.monotonic() - started
    finally:
        published.set()
        thread.join()
    print(f"\n{USERS} canvases of {len(results[0]['view'])} records each ran in {took:.1f} s")
    latencies = sorted(latency * 1000 for result in results for latency in result["latencies"])
    p50, p99, worst = statistics.median(latencies), latencies[int(len(latencies) * 0.99)], latencies[-1]
    messages = sum(result["messages"] for result in results)
    print(f"{messages} messages carrying {len(latencies)} records; from change to client (ms): ", end="")
    print(f"p50 {p50:.0f}, p99 {p99:.0f}, max {worst:.0f}")
    for user, result in zip(users, results, strict=True):
        [root] = UserTaskStatus.objects.filter(user=user, parent=None).values_list("uuid", flat=True)
        # Nothing of anyone else's ever arrived, and the last view is the database's.
        assert {record["root"] for record in result["view"].values()} == {str(root)}
        [tree] = serialize_trees([root])
        assert result["view"] == {record["uuid"]: record for record in tree["records"]}
        assert all(record["state"] in TERMINAL for record in tree["records"])
