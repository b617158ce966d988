"""Bounded fuzzing of the live layer and the JSON APIs, against the real Redis and PostgreSQL.

    python -m tests.fuzz [--frames 10000] [--requests 10000] [--seed N]

Sends generated frames to the WebSocket consumer (text, JSON, message-shaped, oversized, binary) and generated
requests to the JSON API (and to the django-user-tasks-compatible API when it is installed), then reports the
counts. It fails (exit status 1) on any server error, any answer that docs/protocol.md or the README does not
document, any record of another user's tree, or a bystander connection that stopped working. It runs on a
test database of its own, created and dropped like the test suite's.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import random
import re
import string
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
# The shapes docs/protocol.md shows for each message type, and its error codes.
SHAPES: dict[str, list[frozenset[str]]] = {}
for _kind, _body in re.findall(r"<!-- message: (\w+) -->\n```json\n(.*?)\n```", DOC, flags=re.DOTALL):
    SHAPES.setdefault(_kind, []).append(frozenset(json.loads(_body)))
ERROR_CODES = set(
    re.findall(r"^\| `(\w+)` \| ", DOC.split("### `error`")[1].split("## ")[0], flags=re.MULTILINE)
)
CLOSE_CODES = {1003, 1009}
# What the JSON API answers (README, "The JSON API").
API_ERRORS = {"not_authenticated", "not_found", "method_not_allowed", "csrf_failed"}
API_STATUSES = {200, 401, 403, 404, 405}
BATCH = 50


class Errors(logging.Handler):
    """Counts the log records of level ERROR and above: a server error logs one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Generator:
    def __init__(self, seed: int, roots: list[str], foreign: list[str]) -> None:
        self.random = random.Random(seed)
        self.roots = roots
        self.foreign = foreign

    def text(self, size: int = 40) -> str:
        alphabet = string.printable + "\u00e9\u4e2d\U0001f600\u0000\ud7ff\u202e"
        return "".join(self.random.choice(alphabet) for _ in range(self.random.randint(0, size)))

    def value(self, depth: int = 0) -> Any:
        choice = self.random.randint(0, 8 if depth < 3 else 5)
        if choice == 0:
            return None
        if choice == 1:
            return self.random.choice([True, False])
        if choice == 2:
            return self.random.randint(-(2**70), 2**70)
        if choice == 3:
            return self.random.uniform(-1e300, 1e300)
        if choice in (4, 5):
            return self.text(20)
        if choice in (6, 7):
            return [self.value(depth + 1) for _ in range(self.random.randint(0, 4))]
        return {self.text(8): self.value(depth + 1) for _ in range(self.random.randint(0, 4))}

    def root(self) -> Any:
        return self.random.choice(
            [
                lambda: self.random.choice(self.roots),
                lambda: self.random.choice(self.foreign),
                lambda: str(uuid.uuid4()),
                lambda: self.random.choice(self.roots).upper(),
                lambda: self.random.choice(self.roots).replace("-", ""),
                lambda: self.text(80),
                lambda: "realtime_tasks.user.1",
                lambda: self.value(),
            ]
        )()

    def message(self) -> dict[str, Any]:
        kinds = ["subscribe", "unsubscribe", "resync", "ping", "status", "digest", "tree", "", "SUBSCRIBE"]
        kinds += [
            "on_ping",
            "__class__",
            "subscribe ",
            "task.status",
            "task_status",
            "send_json",
            "keep_alive",
        ]
        message: dict[str, Any] = {
            "type": self.random.choice(kinds) if self.random.random() < 0.9 else self.value()
        }
        if self.random.random() < 0.8:
            message["root"] = self.root()
        for _ in range(self.random.randint(0, 2)):
            message[self.text(8)] = self.value()
        if self.random.random() < 0.1:
            del message["type"]
        return message

    def frame(self) -> str:
        choice = self.random.random()
        if choice < 0.15:
            return self.text(300)
        if choice < 0.3:
            return json.dumps(self.value())
        return json.dumps(self.message())

    def path(self, roots: list[str]) -> str:
        root = self.random.choice(
            [*roots, *self.foreign, str(uuid.uuid4()), self.text(60), "", "..", "%00", "a/b"]
        )
        quoted = urllib.parse.quote(root, safe="" if self.random.random() < 0.8 else "/")
        path = self.random.choice(
            [
                "trees/",
                f"trees/{quoted}/",
                f"trees/{quoted}/cancel/",
                f"{quoted}/",
                "trees///",
                f"trees/{quoted}",
            ]
        )
        if self.random.random() < 0.2:
            path += urllib.parse.quote(self.text(20), safe="/") + "/"
        if self.random.random() < 0.2:
            path += "?" + urllib.parse.urlencode({self.text(5): self.text(10)})
        return path


class Fuzz:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.counts["problems"] += 1
        if len(self.problems) < 20:
            self.problems.append(text[:300])

    # Fixtures.

    def setup(self) -> None:
        from celery import chain, group
        from django.contrib.auth.models import Permission, User

        from realtime_tasks.canvas import record_canvas
        from realtime_tasks.models import UserTaskStatus
        from tests.tasks import step

        def tree(user: User) -> str:
            record_canvas(
                chain(step.si(user_id=user.pk), group(step.si(user_id=user.pk), step.si(user_id=user.pk)))
            )
            return str(UserTaskStatus.objects.filter(user=user, parent=None).latest("created").uuid)

        self.ada = User.objects.create_user("fuzz-ada")
        self.bob = User.objects.create_user("fuzz-bob")
        self.staff = User.objects.create_user("fuzz-staff", is_staff=True)
        self.staff.user_permissions.add(Permission.objects.get(codename="view_usertaskstatus"))
        self.ada_roots = [tree(self.ada), tree(self.ada)]
        self.sentinel = tree(self.ada)
        self.bob_roots = [tree(self.bob)]

    def leaf_of(self, root: str) -> Any:
        from realtime_tasks.models import UserTaskStatus

        return (
            UserTaskStatus.objects.filter(root__uuid=root, is_container=False)
            .order_by("path", "position")
            .first()
        )

    # The consumer.

    def check_message(self, message: Any, foreign: set[str]) -> None:
        if not isinstance(message, dict) or message.get("type") not in SHAPES:
            self.problem(f"undocumented message {message!r}")
            return
        self.counts[f"ws answer {message['type']}"] += 1
        if frozenset(message) not in SHAPES[message["type"]]:
            self.problem(f"undocumented shape {sorted(message)} of {message['type']}")
        if message["type"] == "error" and (
            message.get("code") not in ERROR_CODES or not message.get("message")
        ):
            self.problem(f"undocumented error {message!r}")
        # An error may repeat the root the client sent; every other message must hold none of another user's.
        text = "" if message["type"] == "error" else json.dumps(message)
        if any(root in text for root in foreign):
            self.problem(f"another user's tree in {text[:200]}")

    async def connect(self, user: Any) -> Any:
        from asgiref.sync import sync_to_async
        from channels.testing import WebsocketCommunicator
        from django.test import Client

        from tests.asgi import application

        client = Client()
        await sync_to_async(client.force_login)(user)
        headers = [
            (b"origin", b"http://testserver"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ]
        communicator = WebsocketCommunicator(application, "/ws/tasks/", headers=headers)
        connected, _ = await communicator.connect(timeout=30)
        assert connected, "the fuzz connection was refused"
        return communicator

    async def until_sentinel(self, communicator: Any, foreign: set[str]) -> str | int | None:
        """Read the answers up to the sentinel tree's; the close code if the connection closes instead."""
        while True:
            output = await communicator.receive_output(timeout=60)
            if output["type"] == "websocket.close":
                return int(output.get("code", 1000))
            message = json.loads(output["text"])
            self.check_message(message, foreign)
            if (
                message.get("type") == "tree"
                and message.get("root") == self.sentinel
                and message["part"] == message["parts"]
            ):
                return None

    async def run_frames(self, frames: int) -> None:
        from channels.db import database_sync_to_async
        from django.db import connections

        generator = Generator(self.seed, self.ada_roots, self.bob_roots)
        foreign = set(self.bob_roots)
        ada_other = await self.connect(self.ada)
        bob = await self.connect(self.bob)
        fuzzed = await self.connect(self.ada)
        for bystander in (ada_other, bob):
            await bystander.receive_json_from(timeout=30)
        await fuzzed.receive_json_from(timeout=30)
        sent = 0
        sentinel = json.dumps({"type": "subscribe", "root": self.sentinel})
        while sent < frames:
            if generator.random.random() < 0.01:
                # A frame the server closes for: too large, or binary.
                if generator.random.random() < 0.5:
                    await fuzzed.send_input({"type": "websocket.receive", "text": "x" * 5000})
                else:
                    await fuzzed.send_input(
                        {
                            "type": "websocket.receive",
                            "bytes": bytes(generator.random.randrange(256) for _ in range(20)),
                        }
                    )
                sent += 1
                self.counts["ws frames"] += 1
                code = await self.until_sentinel(fuzzed, foreign)
                if code not in CLOSE_CODES:
                    self.problem(f"a closing frame ended with {code!r}")
                self.counts[f"ws close {code}"] += 1
                await fuzzed.wait()
                fuzzed = await self.connect(self.ada)
                await fuzzed.receive_json_from(timeout=30)
                continue
            batch = [generator.frame() for _ in range(min(BATCH, frames - sent))]
            for frame in batch:
                await fuzzed.send_input({"type": "websocket.receive", "text": frame})
            sent += len(batch)
            self.counts["ws frames"] += len(batch)
            await fuzzed.send_input({"type": "websocket.receive", "text": sentinel})
            try:
                code = await self.until_sentinel(fuzzed, foreign)
            except Exception as error:  # the application raised: a server error
                self.counts["ws server errors"] += 1
                self.problem(f"the consumer raised {error!r}")
                fuzzed = await self.connect(self.ada)
                await fuzzed.receive_json_from(timeout=30)
                continue
            if code is not None:
                self.problem(f"the connection closed with {code} on ordinary frames")
                fuzzed = await self.connect(self.ada)
                await fuzzed.receive_json_from(timeout=30)
        await fuzzed.disconnect()

        # The bystanders still work: they answer, and receive their own trees' changes, only theirs.
        for user_roots, communicator, others in (
            (self.ada_roots, ada_other, foreign),
            (self.bob_roots, bob, set(self.ada_roots) | {self.sentinel}),
        ):
            leaf = await database_sync_to_async(self.leaf_of)(user_roots[0])
            await database_sync_to_async(leaf.increment_total_steps)(1)
            await communicator.send_json_to({"type": "ping"})
            seen = Counter[str]()
            while not (seen["pong"] and seen[user_roots[0]]):
                message = await communicator.receive_json_from(timeout=30)
                self.check_message(message, others)
                seen[message["type"]] += 1
                if message["type"] == "status":
                    seen[message["root"]] += 1
            self.counts["ws bystanders answering"] += 1
            await communicator.disconnect()
        await database_sync_to_async(connections.close_all)()

    # The JSON APIs.

    def run_requests(self, requests: int) -> None:
        from django.test import Client

        generator = Generator(self.seed + 1, self.ada_roots, self.bob_roots)
        clients = {
            "ada": Client(),
            "staff": Client(),
            "anonymous": Client(),
            "ada (csrf)": Client(enforce_csrf_checks=True),
        }
        clients["ada"].force_login(self.ada)
        clients["ada (csrf)"].force_login(self.ada)
        clients["staff"].force_login(self.staff)
        methods = ["get", "get", "get", "post", "put", "patch", "delete", "head", "options"]
        for number in range(requests):
            name = generator.random.choice(list(clients))
            method = generator.random.choice(methods)
            path = "/tasks/" + generator.path(self.ada_roots)
            response = getattr(clients[name], method)(path)
            self.counts["api requests"] += 1
            self.counts[f"api {response.status_code}"] += 1
            where = f"{method.upper()} {path!r} as {name}"
            if response.status_code >= 500:
                self.counts["api server errors"] += 1
                self.problem(f"{where}: {response.status_code}")
                continue
            if response.status_code not in API_STATUSES:
                self.problem(f"{where}: undocumented status {response.status_code}")
            if method == "head":
                continue
            try:
                body = json.loads(response.content)
            except ValueError:
                self.problem(f"{where}: not JSON ({response.status_code})")
                continue
            if response.status_code == 200:
                if not (set(body) == {"trees"} or set(body) == {"root", "sequence", "records"}):
                    self.problem(f"{where}: undocumented body {sorted(body)}")
                if name.startswith("ada") and any(
                    root in response.content.decode() for root in self.bob_roots
                ):
                    self.problem(f"{where}: another user's tree")
            elif set(body) != {"error", "message"} or body["error"] not in API_ERRORS:
                self.problem(f"{where}: undocumented error {body!r}")
            if number % 1000 == 999:
                print(f"  {number + 1} requests", file=sys.stderr)

    def run_compat_requests(self, requests: int) -> None:
        """The django-user-tasks-compatible API, mounted at compat/: never a server error, always JSON."""
        from django.test import Client

        generator = Generator(self.seed + 2, self.ada_roots, self.bob_roots)
        client = Client()
        client.force_login(self.ada)
        for _ in range(requests):
            method = generator.random.choice(["get", "get", "post", "delete", "put"])
            root = generator.root()
            quoted = urllib.parse.quote(str(root), safe="")
            path = "/compat/" + generator.random.choice(
                [
                    "tasks/",
                    f"tasks/{quoted}/",
                    f"tasks/{quoted}/cancel/",
                    "artifacts/",
                    f"artifacts/{quoted}/",
                ]
            )
            if generator.random.random() < 0.3:
                path += "?" + urllib.parse.urlencode(
                    {
                        generator.random.choice(
                            ["limit", "offset", "page", "state", generator.text(5)]
                        ): generator.text(10)
                    }
                )
            response = getattr(client, method)(path)
            self.counts["compat requests"] += 1
            self.counts[f"compat {response.status_code}"] += 1
            if response.status_code >= 500:
                self.counts["compat server errors"] += 1
                self.problem(f"compat {method.upper()} {path!r}: {response.status_code}")
            if any(root in response.content.decode(errors="replace") for root in self.bob_roots):
                self.problem(f"compat {method.upper()} {path!r}: another user's tree")


def compat_available() -> bool:
    return importlib.util.find_spec("realtime_tasks.compat") is not None and (
        importlib.util.find_spec("realtime_tasks.compat.urls") is not None
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import (
        override_settings,
        setup_databases,
        setup_test_environment,
        teardown_databases,
    )

    setup_test_environment()
    errors = Errors()
    logging.getLogger().addHandler(errors)
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    fuzz = Fuzz(args.seed)
    started = time.monotonic()
    try:
        urlconf = "tests.fuzz_urls" if compat_available() else None
        with override_settings(
            REALTIME_TASKS_MAX_MESSAGES_PER_SECOND=1_000_000, **({"ROOT_URLCONF": urlconf} if urlconf else {})
        ):
            fuzz.setup()
            asyncio.run(fuzz.run_frames(args.frames))
            fuzz.run_requests(args.requests)
            if urlconf:
                fuzz.run_compat_requests(args.requests)
    finally:
        connections.close_all()
        teardown_databases(old, verbosity=0)
    fuzz.counts["error log records"] = len(errors.records)
    for record in errors.records[:5]:
        fuzz.problem(f"logged: {record.getMessage()}")
    print(f"fuzz (seed {args.seed}, {time.monotonic() - started:.0f} s):")
    for key, value in sorted(fuzz.counts.items()):
        print(f"  {key}: {value:,}")
    if not compat_available():
        print("  (no realtime_tasks.compat.urls: the compatible API was not fuzzed)")
    for text in fuzz.problems:
        print(f"  PROBLEM {text}")
    failed = fuzz.counts["problems"] or errors.records or fuzz.counts["ws frames"] < args.frames
    print("FAILED" if failed else "OK: 0 server errors, every answer documented, bystanders unaffected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
