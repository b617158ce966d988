"""Property-based: random frames to the consumer and random API parameters never break anything."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_consumers import connect

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

MESSAGE_TYPES = ["subscribe", "unsubscribe", "resync", "ping", "status", "", "SUBSCRIBE"]
SERVER_TYPES = {"snapshot", "status", "tree", "digest", "unsubscribed", "pong", "error"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(MESSAGE_TYPES) | st.text(max_size=10) | json_values},
    optional={"root": st.uuids().map(str) | st.text(max_size=80) | json_values},
)
frames = st.text(max_size=300) | json_values.map(json.dumps) | messages.map(json.dumps)
every_example = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def ada() -> User:
    return User.objects.create_user("ada")


async def exchange(user: User, sent: list[str]) -> list[dict[str, Any]]:
    """Send ``sent`` on one connection, then a ping; return every answer up to the pong."""
    try:
        communicator = await connect(user)
        assert (await communicator.connect())[0]
        answers = [await communicator.receive_json_from(timeout=5)]
        for frame in sent:
            # As the server receives it (the test client refuses an empty text frame).
            await communicator.send_input({"type": "websocket.receive", "text": frame})
        await communicator.send_json_to({"type": "ping"})
        while answers[-1]["type"] != "pong":
            answers.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return answers
    finally:
        await database_sync_to_async(connections.close_all)()


@every_example
@given(sent=st.lists(frames, max_size=15))
def test_random_frames_get_documented_answers_and_the_connection_lives(
    sent: list[str], ada: User, settings: Any
) -> None:
    settings.REALTIME_TASKS_MAX_MESSAGES_PER_SECOND = 1000
    answers = asyncio.run(exchange(ada, sent))
    assert {answer["type"] for answer in answers} <= SERVER_TYPES
    for answer in answers:
        if answer["type"] == "error":
            assert answer["code"] in {"bad_json", "unknown_type", "bad_message", "not_found"}
            assert answer["message"]


@every_example
@given(root=st.text(min_size=1, max_size=60), method=st.sampled_from(["get", "post"]))
def test_random_tree_ids_in_the_api_answer_404(root: str, method: str, ada: User) -> None:
    client = Client()
    client.force_login(ada)
    quoted = urllib.parse.quote(root, safe="")
    path = f"/tasks/trees/{quoted}/" if method == "get" else f"/tasks/trees/{quoted}/cancel/"
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
