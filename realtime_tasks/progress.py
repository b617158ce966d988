"""Progress steps of a running task's own record, written at most once per window.

A task that reports progress as fast as it can would otherwise pay a transaction, which locks the record's
whole lineage, for every step. Here the first step after a quiet window is written at once; the steps that
follow within the window are held back and written together when it ends, by one thread of the process (so
that a burst followed by a long pause is never left unwritten), or before any other change of the record (so
that its success or failure comes after all of its steps). A canceled task learns of it at the first write
after the cancel: at its next progress call, or within one window. Steps held back when the worker process
dies are lost with it; its task fails anyway.
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
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from .exceptions import TaskCanceledException

if TYPE_CHECKING:
    from .models import UserTaskStatus

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class Progress:
    """The steps held back for one record, and when it was last written."""

    def __init__(self, record: UserTaskStatus, window: float) -> None:
        self.record = record
        self.window = window
        # Held while the record is written, by whichever thread writes it.
        self.lock = threading.RLock()
        self.pending = 0
        self.written_at = float("-inf")
        self.scheduled = False
        self.canceled = False

    def add(self, steps: int) -> None:
        with self.lock:
            if self.canceled:
                raise TaskCanceledException(f"The task of {self.record.uuid} was canceled")
            now = time.monotonic()
            if self.pending or now < self.written_at + self.window:
                self.pending += steps
                if not self.scheduled:
                    self.scheduled = True
                    flusher.at(self.written_at + self.window, self)
                return
            self.written_at = now
            self.record._write_completed_steps(steps)

    def write_pending(self) -> None:
        """Write the steps held back, if any; the lock must be held."""
        steps, self.pending = self.pending, 0
        if not steps:
            return
        self.written_at = time.monotonic()
        try:
            self.record._write_completed_steps(steps)
        except TaskCanceledException:
            self.canceled = True  # written all the same; the task stops at its next progress call
        except Exception:
            self.pending += steps  # written with the record's next change
            raise

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
        while True:
            with self._condition:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._condition.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, progress = heapq.heappop(self._due)
            progress.due()


flusher = _Flusher()


def hold_progress(record: UserTaskStatus, window: float) -> None:
    """Write the progress steps of ``record`` at most once per ``window`` seconds (0: every step at once)."""
    record._progress = Progress(record, window) if window > 0 else None


@contextlib.contextmanager
def held_steps(record: UserTaskStatus) -> Iterator[int]:
    """The steps held back for ``record``, for the caller's change to write; the flusher is kept out."""
    progress = record._progress
    if progress is None:
        yield 0
        return
    with progress.lock:
        steps, progress.pending = progress.pending, 0
        try:
            yield steps
        except BaseException:
            progress.pending += steps  # not written: the record's next change writes them
            raise


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
