"""What the consumer sends matches docs/protocol.md: every message type, every field, every close code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async

from realtime_tasks import consumers
from tests.test_consumers import (
    close_sync_thread_connections,  # noqa: F401 (an autouse fixture)
    connect,
    first_leaf,
    make_tree,
    make_user,
    receive,
)

pytestmark = pytest.mark.services

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
EXAMPLES: dict[str, list[dict[str, Any]]] = {}
for kind, body in re.findall(r"<!-- message: (\w+) -->\n```json\n(.*?)\n```", DOC, flags=re.DOTALL):
    EXAMPLES.setdefault(kind, []).append(json.loads(body))
RECORD_FIELDS = set(EXAMPLES["snapshot"][0]["trees"][0]["records"][0])


def shape(message: dict[str, Any]) -> set[str]:
    return set(message)


def shapes(kind: str) -> list[set[str]]:
    """The shapes the examples of a message type show (``status`` has a truncated form)."""
    return [shape(example) for example in EXAMPLES[kind]]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_message_the_consumer_sends_is_documented(settings: Any) -> None:
    settings.REALTIME_TASKS_KEEPALIVE = 1
    ada = await make_user("ada")
    root = await make_tree(ada)
    communicator = await connect(ada)
    await communicator.connect()
    seen = [await receive(communicator)]
    await database_sync_to_async((await first_leaf(root)).fail)("Out of paper")
    seen.append(await receive(communicator))
    for request, answer in (
        ({"type": "subscribe", "root": str(root.uuid)}, "tree"),
        ({"type": "unsubscribe", "root": str(root.uuid)}, "unsubscribed"),
        ({"type": "ping"}, "pong"),
        ({"type": "subscribe", "root": "nothing"}, "error"),
    ):
        await communicator.send_json_to(request)
        # The failure's changes arrive as status messages, in as many batches as the window makes; digests
        # come every second.
        while (seen := [*seen, await receive(communicator)])[-1]["type"] in ("status", "digest"):
            pass
        assert seen[-1]["type"] == answer
    while (seen := [*seen, await receive(communicator)])[-1]["type"] != "digest":
        pass
    await communicator.disconnect()

    assert {message["type"] for message in seen} == set(EXAMPLES)
    for message in seen:
        assert shape(message) in shapes(message["type"]), message["type"]
    for kind, examples in EXAMPLES.items():
        for example in examples:
            assert example["type"] == kind
    records = [r for m in seen for r in m.get("records", [])]
    records += [r for m in seen if m["type"] == "snapshot" for tree in m["trees"] for r in tree["records"]]
    assert records
    assert all(set(record) == RECORD_FIELDS for record in records)
    assert any(record["error"] == "Out of paper" for record in records)


def test_every_close_code_and_error_code_is_documented() -> None:
    codes = [value for name, value in vars(consumers).items() if name.startswith("CLOSE_")]
    assert len(codes) == 6
    for code in codes:
        assert re.search(rf"^\| {code} \|", DOC, flags=re.MULTILINE), code
    source = Path(consumers.__file__).read_text()
    for code in set(re.findall(r'send_error\(\s*"(\w+)"', source)) | {"not_found"}:
        assert f"| `{code}` |" in DOC, code


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_large_trees_take_the_documented_forms(settings: Any) -> None:
    """With two records a message, a tree of five is truncated in status, and comes in three parts."""
    settings.REALTIME_TASKS_MESSAGE_RECORDS = 2
    ada = await make_user("ada")
    communicator = await connect(ada)
    await communicator.connect()
    await receive(communicator)
    root = await make_tree(ada)
    created = await receive(communicator)
    assert shape(created) == shapes("status")[1]
    assert (created["truncated"], [r["uuid"] for r in created["records"]]) == (True, [str(root.uuid)])
    await communicator.send_json_to({"type": "resync"})
    snapshot = await receive(communicator)
    parts = [await receive(communicator) for _ in range(3)]
    await communicator.disconnect()

    tree_shapes = [shape(tree) for tree in EXAMPLES["snapshot"][0]["trees"]]
    [listed] = snapshot["trees"]
    assert shape(listed) == tree_shapes[1]
    assert listed["parts"] == 3
    for number, part in enumerate(parts, start=1):
        assert shape(part) == shape(EXAMPLES["tree"][0])
        assert (part["part"], part["parts"], part["sequence"]) == (number, 3, listed["sequence"])
    assert [len(part["records"]) for part in parts] == [2, 2, 1]
