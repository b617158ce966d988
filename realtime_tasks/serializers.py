"""The one JSON shape of a record and of a tree: for the WebSocket, the JSON API, the admin and templates.

It also cuts trees into messages that stay under the channel-layer spec's 1 MB, whatever their size.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from .changes import ancestors
from .conf import conf
from .models import UserTaskArtifact, UserTaskStatus

KINDS = {UserTaskStatus.CHAIN: "chain", UserTaskStatus.GROUP: "group", UserTaskStatus.CHORD: "chord"}

# No frame is larger than MAX_FRAME_BYTES (the channel-layer spec guarantees 1 MB, daphne refuses more by
# default). The records of one message take at most RECORDS_BYTES of it, which leaves room for the envelope
# and its sequences; an error message is cut at ERROR_CHARACTERS so that one record always fits.
MAX_FRAME_BYTES = 1_000_000
RECORDS_BYTES = 800_000
ERROR_CHARACTERS = 10_000


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parent(record: UserTaskStatus) -> str | None:
    # The last ancestor in the path is the parent: no query, and no need to know what parent_id holds.
    above = ancestors(record.path)
    return str(above[-1]) if above else None


def serialize(record: UserTaskStatus, error: str | None = None) -> dict[str, Any]:
    """One record as JSON. ``error`` is the text of its "Error" artifact, for a failed record."""
    if error is not None and len(error) > ERROR_CHARACTERS:
        error = error[: ERROR_CHARACTERS - 1] + "\u2026"
    return {
        "uuid": str(record.uuid),
        "root": str(record.root_id),
        "parent": _parent(record),
        "position": record.position,
        "task_id": record.task_id,
        "kind": KINDS.get(record.task_class, "task"),
        "task_class": record.task_class,
        "name": record.name,
        "state": record.state,
        "state_text": record.state_text,
        "completed_steps": record.completed_steps,
        "total_steps": record.total_steps,
        "attempts": record.attempts,
        "version": record.version,
        "created": _time(record.created),
        "modified": _time(record.modified),
        "started": _time(record.started),
        "finished": _time(record.finished),
        "error": error,
    }


def serialize_changed(record: UserTaskStatus) -> dict[str, Any]:
    """A record that just changed, with its error message if it failed."""
    error = None
    if record.state == UserTaskStatus.FAILED:
        error = _errors(UserTaskArtifact.objects.filter(status_id=record.pk)).get(record.pk)
    return serialize(record, error)


def serialize_trees(roots: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    """Whole trees, in the order of ``roots``: ``{"root", "sequence", "records"}`` each, records parents
    first. Two queries whatever their size; a tree's sequence is read in the same query as its records."""
    order = list(roots)
    records = list(UserTaskStatus.objects.filter(root__uuid__in=order).order_by("path", "position"))
    errors = _errors(UserTaskArtifact.objects.filter(status__root__uuid__in=order))
    trees: dict[uuid.UUID, list[dict[str, Any]]] = {root: [] for root in order}
    sequences: dict[uuid.UUID, int] = {}
    for record in records:
        trees[record.root_id].append(serialize(record, errors.get(record.pk)))
        if record.uuid == record.root_id:
            sequences[record.root_id] = record.sequence
    return [
        {"root": str(root), "sequence": sequences[root], "records": trees[root]}
        for root in order
        if trees[root] and root in sequences
    ]


def _errors(artifacts: QuerySet[UserTaskArtifact]) -> dict[int, str]:
    """The latest error message of each record."""
    latest: dict[int, str] = {}
    for status_id, text in artifacts.filter(name="Error").order_by("pk").values_list("status_id", "text"):
        latest[status_id] = text
    return latest


def size(value: Any) -> int:
    """The bytes ``value`` takes in a frame."""
    return len(json.dumps(value, separators=(",", ":")).encode())


def split(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``records`` in order, cut into parts of at most ``REALTIME_TASKS_MESSAGE_RECORDS`` records and
    ``RECORDS_BYTES`` bytes each (at least one part, maybe empty)."""
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for record in records:
        taken = size(record) + 1
        if parts[-1] and (len(parts[-1]) >= conf.MESSAGE_RECORDS or used + taken > RECORDS_BYTES):
            parts.append([])
            used = 0
        parts[-1].append(record)
        used += taken
    return parts


def tree_messages(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """A serialized tree as ``tree`` messages, parents before children across the parts."""
    parts = split(tree["records"])
    return [
        {
            "type": "tree",
            "root": tree["root"],
            "sequence": tree["sequence"],
            "part": number,
            "parts": len(parts),
            "records": records,
        }
        for number, records in enumerate(parts, start=1)
    ]


def snapshot_messages(trees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``snapshot`` of serialized trees, then the ``tree`` messages of those it holds in parts: a tree
    goes in parts when its records would take the snapshot past one message's records or bytes."""
    listed: list[dict[str, Any]] = []
    following: list[dict[str, Any]] = []
    records = used = 0
    for tree in trees:
        taken = size(tree["records"])
        count = len(tree["records"])
        if records + count <= conf.MESSAGE_RECORDS and used + taken <= RECORDS_BYTES:
            listed.append(tree)
            records, used = records + count, used + taken
            continue
        messages = tree_messages(tree)
        listed.append(
            {"root": tree["root"], "sequence": tree["sequence"], "records": [], "parts": len(messages)}
        )
        following += messages
    return [{"type": "snapshot", "trees": listed}, *following]


def user_snapshot(user: Any) -> list[dict[str, Any]]:
    """The user's trees still running, newest first, then the most recent finished ones."""
    roots = UserTaskStatus.objects.snapshot_roots(user).order_by("-created").values_list("uuid", "state")
    running = [root for root, state in roots if state not in UserTaskStatus.TERMINAL_STATES]
    finished = [root for root, state in roots if state in UserTaskStatus.TERMINAL_STATES]
    return serialize_trees(running + finished)


def followed_sequences(user: Any, foreign: Iterable[str], muted: Iterable[str]) -> dict[str, int]:
    """The current sequence of every tree a connection follows: the user's snapshot trees (less those it
    unsubscribed from) and the foreign trees it subscribed to. One query."""
    roots = UserTaskStatus.objects.snapshot_roots(user).exclude(uuid__in=list(muted))
    followed = UserTaskStatus.objects.roots().filter(Q(pk__in=roots.values("pk")) | Q(uuid__in=list(foreign)))
    return {str(root): sequence for root, sequence in followed.values_list("uuid", "sequence")}
