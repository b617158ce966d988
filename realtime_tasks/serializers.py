"""The one JSON shape of a record and of a tree: for the WebSocket, the JSON API, the admin and templates."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from .conf import conf
from .models import UserTaskArtifact, UserTaskStatus

KINDS = {UserTaskStatus.CHAIN: "chain", UserTaskStatus.GROUP: "group", UserTaskStatus.CHORD: "chord"}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def serialize(record: UserTaskStatus, error: str | None = None) -> dict[str, Any]:
    """One record as JSON. ``error`` is the text of its "Error" artifact, for a failed record."""
    return {
        "uuid": str(record.uuid),
        "root": str(record.root_id),
        "parent": None if record.parent_id is None else str(record.parent_id),
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
    """Whole trees, in the order of ``roots``, from two queries whatever their size."""
    order = list(roots)
    records = list(UserTaskStatus.objects.filter(root__uuid__in=order).order_by("path", "position"))
    errors = _errors(UserTaskArtifact.objects.filter(status__root__uuid__in=order))
    trees: dict[uuid.UUID, list[dict[str, Any]]] = {root: [] for root in order}
    for record in records:
        trees[record.root_id].append(serialize(record, errors.get(record.pk)))
    return [{"root": str(root), "records": trees[root]} for root in order if trees[root]]


def _errors(artifacts: QuerySet[UserTaskArtifact]) -> dict[int, str]:
    """The latest error message of each record."""
    latest: dict[int, str] = {}
    for status_id, text in artifacts.filter(name="Error").order_by("pk").values_list("status_id", "text"):
        latest[status_id] = text
    return latest


def visible_roots(user: Any) -> QuerySet[UserTaskStatus]:
    """The trees that ``user`` may see: their own, or every tree for staff allowed to view records."""
    roots = UserTaskStatus.objects.filter(parent=None)
    if user.is_staff and user.has_perm("realtime_tasks.view_usertaskstatus"):
        return roots
    return roots.filter(user_id=user.pk)


def user_snapshot(user: Any) -> list[dict[str, Any]]:
    """The user's trees still running, newest first, then the most recent finished ones."""
    mine = UserTaskStatus.objects.filter(parent=None, user_id=user.pk).order_by("-created")
    running = mine.exclude(state__in=UserTaskStatus.TERMINAL_STATES)
    recent = mine.filter(state__in=UserTaskStatus.TERMINAL_STATES)[: conf.SNAPSHOT_RECENT]
    roots = list(running.values_list("uuid", flat=True)) + list(recent.values_list("uuid", flat=True))
    return serialize_trees(roots)


def find_tree(user: Any, root: str) -> UserTaskStatus | None:
    """The root record ``root`` (a uuid) if ``user`` may see it; None whether it is missing or not theirs."""
    try:
        key = uuid.UUID(str(root))
    except ValueError:
        return None
    return visible_roots(user).filter(Q(uuid=key)).first()
