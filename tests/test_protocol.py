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
EXAMPLES = {
    kind: json.loads(body)
    for kind, body in re.findall(r"<!-- message: (\w+) -->\n```json\n(.*?)\n```", DOC, flags=re.DOTALL)
}
RECORD_FIELDS = set(EXAMPLES["snapshot"]["trees"][0]["records"][0])


def shape(message: dict[str, Any]) -> set[str]:
    return set(message)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_message_the_consumer_sends_is_documented() -> None:
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
        # The failure's changes arrive as status messages, in as many batches as the window makes.
        while (seen := [*seen, await receive(communicator)])[-1]["type"] == "status":
            pass
        assert seen[-1]["type"] == answer
    await communicator.disconnect()

    assert {message["type"] for message in seen} == set(EXAMPLES)
    for message in seen:
        assert shape(message) == shape(EXAMPLES[message["type"]]), message["type"]
    records = [r for m in seen for r in m.get("records", [])]
    records += [r for m in seen for tree in m.get("trees", []) for r in tree["records"]]
    assert records
    assert all(set(record) == RECORD_FIELDS for record in records)
    assert any(record["error"] == "Out of paper" for record in records)


def test_every_close_code_and_error_code_is_documented() -> None:
    codes = [value for name, value in vars(consumers).items() if name.startswith("CLOSE_")]
    assert len(codes) == 5
    for code in codes:
        assert re.search(rf"^\| {code} \|", DOC, flags=re.MULTILINE), code
    source = Path(consumers.__file__).read_text()
    for code in set(re.findall(r'send_error\(\s*"(\w+)"', source)) | {"not_found"}:
        assert f"| `{code}` |" in DOC, code
