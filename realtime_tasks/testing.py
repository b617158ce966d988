"""Helpers for the tests of projects that use realtime_tasks (and for its own)."""

from __future__ import annotations

import time
from typing import Any

from .models import UserTaskStatus


def root_of(result: Any) -> UserTaskStatus:
    """The root record of the tree that a canvas's ``apply_async`` result belongs to."""
    return UserTaskStatus.objects.get(task_id=result.id).root


def wait_for_tree(root: UserTaskStatus, timeout: float = 30.0) -> UserTaskStatus:
    """Wait until every record of ``root``'s tree has reached a terminal state, and return the root, fresh.

    Raises ``TimeoutError`` naming the records still unfinished. Needs a running worker.
    """
    deadline = time.monotonic() + timeout
    while True:
        unfinished = UserTaskStatus.objects.filter(root__uuid=root.uuid).exclude(
            state__in=UserTaskStatus.TERMINAL_STATES
        )
        if not unfinished.exists():
            return UserTaskStatus.objects.get(pk=root.pk)
        if time.monotonic() > deadline:
            names = ", ".join(f"{record.task_class} {record.state}" for record in unfinished[:10])
            raise TimeoutError(f"The tree of {root.uuid} did not finish in {timeout} s: {names}")
        time.sleep(0.05)


def run_canvas(canvas: Any, timeout: float = 30.0) -> UserTaskStatus:
    """Publish ``canvas`` and wait until its whole tree has finished; return its root record."""
    return wait_for_tree(root_of(canvas.apply_async()), timeout)
