"""The start and the progress steps of a running task's own record, written at most once per window.

A task that reports progress as fast as it can would otherwise pay a transaction, which locks the record's
whole lineage, for every step, and every task a second one for its start. Here the start is held back, and
so is every step that follows a write within the window; what is held back is written in one transaction
when the window ends, by one thread of the process (so that a burst followed by a long pause is never left
unwritten), with the record's next step that is not held back, or with the record's next other change (so
that its success or failure comes after all of its steps; a task that ends within the window is written
once). A canceled task learns of it at the first write after the cancel: at its next progress call, or
within one window. What is held back when the worker process dies is lost with it; its task fails anyway.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from django.db import connections
from django.utils.timezone import now

from .exceptions import TaskCanceledException

if TYPE_CHECKING:
    from .models import UserTaskStatus

logger = logging.getLogger(__name__)

# How long the flusher's thread keeps its database connection without anything to write.
IDLE_SECONDS = 1.0

P = ParamSpec("P")
R = TypeVar("R")


class Progress:
    """The start and the steps held back for one record, and when it was last written."""

    def __init__(self, record: UserTaskStatus, window: float) -> None:
        self.record = record
        self.window = window
        # Held while the record is written, by whichever thread writes it.
        self.lock = threading.RLock()
        self.started: datetime | None = None
        self.pending = 0
        self.written_at = float("-inf")
        self.scheduled = False
        self.canceled = False

    def hold_start(self) -> None:
        with self.lock:
            self.started = now()
            # The first window opens with the task: a task that ends within it is written once.
            self.written_at = time.monotonic()
            self._schedule(self.written_at + self.window)

    def add(self, steps: int) -> None:
        with self.lock:
            self._raise_if_canceled()
            self.pending += steps
            if time.monotonic() < self.written_at + self.window:
                self._schedule(self.written_at + self.window)
                return
            self.write_pending()
            self._raise_if_canceled()

    def _raise_if_canceled(self) -> None:
        if self.canceled:
            raise TaskCanceledException(f"The task of {self.record.uuid} was canceled")

    def write_pending(self) -> None:
        """Write the start and the steps held back, if any; the lock must be held."""
        with self.taken() as (started, steps):
            if started is None and not steps:
                return
            self.written_at = time.monotonic()
            try:
                self.record._write_progress(started, steps)
            except TaskCanceledException:
                self.canceled = True  # written all the same; the task stops at its next progress call

    @contextlib.contextmanager
    def taken(self) -> Iterator[tuple[datetime | None, int]]:
        """The start and the steps held back, for the caller to write; held back again if the write fails."""
        held = self.started, self.pending
        self.started, self.pending = None, 0
        try:
            yield held
        except BaseException:
            self.started = self.started or held[0]
            self.pending += held[1]
            raise

    def _schedule(self, when: float) -> None:
        if not self.scheduled:
            self.scheduled = True
            flusher.at(when, self)

    def due(self) -> None:
        """Called by the flusher's thread when the window has ended."""
        with self.lock:
            self.scheduled = False
            try:
                self.write_pending()
            except Exception:
                logger.exception(
                    "Writing the progress of %s failed; it is written with its next change", self.record.uuid
                )


class _Flusher:
    """One thread per process that writes held-back steps when their window ends."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due: list[tuple[float, int, Progress]] = []
        self._order = itertools.count()
        self._pid = 0

    def at(self, when: float, progress: Progress) -> None:
        with self._condition:
            # A forked worker process inherits the object but not the thread.
            if self._pid != os.getpid():
                self._pid, self._due = os.getpid(), []
                threading.Thread(target=self._run, name="realtime-tasks-progress", daemon=True).start()
            heapq.heappush(self._due, (when, next(self._order), progress))
            self._condition.notify()

    def _run(self) -> None:
        worked_at = time.monotonic()
        while True:
            with self._condition:
                while not self._due or self._due[0][0] > time.monotonic():
                    timeout = self._due[0][0] - time.monotonic() if self._due else IDLE_SECONDS
                    self._condition.wait(min(timeout, IDLE_SECONDS))
                    if time.monotonic() - worked_at >= IDLE_SECONDS:
                        connections.close_all()  # idle: give the database this thread's connection back
                _, _, progress = heapq.heappop(self._due)
            progress.due()
            worked_at = time.monotonic()


flusher = _Flusher()


def hold_progress(record: UserTaskStatus, window: float) -> None:
    """Write the progress steps of ``record`` at most once per ``window`` seconds (0: every step at once)."""
    record._progress = Progress(record, window) if window > 0 else None


@contextlib.contextmanager
def held_progress(record: UserTaskStatus) -> Iterator[tuple[datetime | None, int]]:
    """The start and the steps held back for ``record``, for the caller's change to write; the flusher is
    kept out until it has."""
    progress = record._progress
    if progress is None:
        yield None, 0
        return
    with progress.lock, progress.taken() as held:
        yield held


def steps_first(
    method: Callable[Concatenate[UserTaskStatus, P], R],
) -> Callable[Concatenate[UserTaskStatus, P], R]:
    """Write the steps held back before ``method`` changes the record; keep the flusher out until it has."""

    @functools.wraps(method)
    def wrapper(record: UserTaskStatus, /, *args: P.args, **kwargs: P.kwargs) -> R:
        progress = record._progress
        if progress is None:
            return method(record, *args, **kwargs)
        with progress.lock:
            progress.write_pending()
            return method(record, *args, **kwargs)

    return wrapper
