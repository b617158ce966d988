"""Clients of the benchmarks' daphne, run in the realtime contender's driver: a WebSocket listener, a
celery-progress-style poller, and the fan-out crowd."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils.timezone import now
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect

BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_cookies(users: list[Any]) -> list[str]:
    """A logged-in session for each user (bulk-created), as Cookie headers."""
    store = SessionStore()
    sessions = [
        Session(
            session_key=store._get_new_session_key(),
            session_data=store.encode(
                {
                    SESSION_KEY: str(u.pk),
                    BACKEND_SESSION_KEY: BACKEND,
                    HASH_SESSION_KEY: u.get_session_auth_hash(),
                }
            ),
            expire_date=now() + timedelta(days=1),
        )
        for u in users
    ]
    Session.objects.bulk_create(sessions)
    return [f"sessionid={s.session_key}" for s in sessions]


def headers(port: int, cookie: str) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{port}", "Cookie": cookie}


class Listener(threading.Thread):
    """One WebSocket client, in a thread: every frame it receives, with the time it arrived."""

    def __init__(self, port: int, cookie: str) -> None:
        super().__init__(daemon=True)
        self.socket = connect(f"ws://127.0.0.1:{port}/ws/tasks/", additional_headers=headers(port, cookie))
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.start()

    def run(self) -> None:
        try:
            for message in self.socket:
                self.frames.append((time.time(), json.loads(message)))
        except Exception:  # closed at the end
            pass

    def seen(self, uuid: str, since: int = 0) -> list[tuple[float, dict[str, Any]]]:
        """(arrival, record) for every version of record ``uuid`` in the frames from index ``since``."""
        found = []
        for at, frame in self.frames[since:]:
            # A digest's "trees" name trees and their sequences only: no records.
            trees = [tree for tree in frame.get("trees", []) if isinstance(tree, dict)]
            batches = [tree.get("records", []) for tree in trees] + [frame.get("records", [])]
            found += [(at, record) for batch in batches for record in batch if record["uuid"] == uuid]
        return found

    def wait(self, uuid: str, done: Callable[[dict[str, Any]], bool], since: int, timeout: float) -> float:
        """The arrival time of the first frame that shows record ``uuid`` ``done``."""
        deadline = time.monotonic() + timeout
        while True:
            for at, record in self.seen(uuid, since):
                if done(record):
                    return at
            if time.monotonic() > deadline:
                raise TimeoutError(f"no frame showed {uuid} done within {timeout} s")
            time.sleep(0.02)

    def close(self) -> None:
        self.socket.close()


class Poller(threading.Thread):
    """A celery-progress-style page: GET the tree from the JSON API, wait 500 ms after each answer, again."""

    def __init__(self, port: int, cookie: str, root: str, period: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.port, self.cookie, self.root, self.period = port, cookie, root, period
        self.answers: list[tuple[float, dict[str, Any]]] = []
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stopping.is_set():
            connection.request("GET", f"/tasks/trees/{self.root}/", headers={"Cookie": self.cookie})
            body = connection.getresponse().read()
            self.answers.append((time.time(), json.loads(body)))
            self.stopping.wait(self.period)
        connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


class Crowd:
    """Many WebSocket clients on one event loop, each logged in as its own user, each noting its frames."""

    def __init__(self, port: int, cookies: list[str]) -> None:
        self.port, self.cookies = port, cookies
        self.frames: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in cookies]
        self.sockets: list[Any] = []
        self.readers: list[asyncio.Task[None]] = []

    async def open(self, at_once: int = 50) -> None:
        gate = asyncio.Semaphore(at_once)
        url = f"ws://127.0.0.1:{self.port}/ws/tasks/"

        async def one(index: int, cookie: str) -> Any:
            async with gate:
                socket = await async_connect(
                    url, additional_headers=headers(self.port, cookie), open_timeout=60
                )
                assert json.loads(await socket.recv())["type"] == "snapshot"
                return socket

        self.sockets = await asyncio.gather(*(one(i, c) for i, c in enumerate(self.cookies)))
        self.readers = [asyncio.create_task(self._read(i, s)) for i, s in enumerate(self.sockets)]

    async def _read(self, index: int, socket: Any) -> None:
        async for message in socket:
            self.frames[index].append((time.time(), json.loads(message)))

    async def close(self) -> None:
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)
