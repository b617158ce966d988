"""The writer of a Celery worker process: its tasks' record events, written together once per window.

A task's start, progress steps, success, failure and retry do not write anything in the task's own thread:
they are handed to the process's writer, which applies every event of the last ``REALTIME_TASKS_WRITE_WINDOW``
seconds in one transaction (``changes.apply``): on PostgreSQL one query locks the batch's leaves and their
containers, one UPDATE writes the leaves' changes and the containers' roll-up (a backlog writes its leaves
first). So a tree's containers are locked once per window per process, for a few statements, and however many
processes run a tree's tasks none of them queues behind another's every event. A task
that ends within the window is written once, and one reporting progress for minutes once per window.

The writer is one thread with its own database connection, which Celery's Django fix-up (closing the task
thread's connections around every task) does not touch: tracking opens no connection per task. A task's
record (``task.status``) is read on that thread too, and only when one of its fields is asked for.

Nothing is lost while the database is away: a batch it refuses is kept and written again, first in line,
when it answers. A batch that fails otherwise is written again record by record, so that one bad event
loses only its own record's. What the process holds when it is killed is lost with it; the reconciler
(reconcile.py) finishes those records from what Celery's result backend knows.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connections

from .changes import AmbiguousCommit, Event, Kind, apply
from .conf import conf

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long the writer keeps its database connection without anything to write.
IDLE_SECONDS = 5.0
# Events that add up: a run of them for one record is held as one.
ADDITIVE = frozenset({Kind.STEPS, Kind.TOTAL})
# The longest wait between two tries of a batch while the database is away.
MAX_BACKOFF = 5.0
# The most events one transaction applies: a backlog (what piled up while the database was away, a process
# handing over thousands of events at once) is written in several, none holding a tree's containers long.
MAX_BATCH = 1000


class Writer:
    """One per process: a buffer of events and the thread that writes them."""

    def __init__(self) -> None:
        self._reset()
        # A forked child (a prefork pool's process) inherits the parent's buffer and lock, maybe held by the
        # parent's writer at the moment of the fork, but not its thread: it starts afresh.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._events: list[Event] = []
        # The latest event held for each record, which steps that follow it are added to.
        self._last: dict[Any, Event] = {}
        self._calls: list[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = []
        self._due: float | None = None
        self._writing = False
        self._pid = 0
        self._failures = 0

    def submit(self, *events: Event) -> None:
        """Write ``events`` with the others of this window."""
        with self._condition:
            self._start()
            for event in events:
                key = _key(event)
                last = self._last.get(key)
                if last is not None and last.kind is event.kind and event.kind in ADDITIVE:
                    # Steps follow steps: one event carries their sum, however fast the task reports them.
                    last.value += event.value
                else:
                    self._events.append(event)
                    self._last[key] = event
            if self._due is None:
                self._due = time.monotonic() + conf.WRITE_WINDOW
                self._condition.notify()

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the writer's thread (with its database connection) and return its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._condition:
            self._start()
            self._calls.append((function, future))
            self._condition.notify()
        return future.result()

    def flush(self, timeout: float = 30.0) -> bool:
        """Write what is held now and wait until it is written; False if that took over ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._condition:
            if self._pid != os.getpid():
                return True  # nothing was submitted in this process
            self._due = time.monotonic()
            self._condition.notify()
            while self._events or self._writing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
        return True

    def _start(self) -> None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="realtime-tasks-writer", daemon=True).start()

    def _run(self) -> None:
        worked_at = time.monotonic()
        while True:
            with self._condition:
                while not self._calls and (self._due is None or self._due > time.monotonic()):
                    timeout = IDLE_SECONDS if self._due is None else self._due - time.monotonic()
                    self._condition.wait(min(timeout, IDLE_SECONDS))
                    if time.monotonic() - worked_at >= IDLE_SECONDS and not self._calls:
                        connections.close_all()  # idle: give the database this thread's connection back
                        worked_at = time.monotonic()
                calls, self._calls = self._calls, []
                events: list[Event] = []
                if self._due is not None and self._due <= time.monotonic():
                    events, self._events = self._events[:MAX_BATCH], self._events[MAX_BATCH:]
                    # The rest is due at once; steps that follow add to its events, not to those written now.
                    self._last = {_key(event): event for event in self._events}
                    self._due = time.monotonic() if self._events else None
                self._writing = True
            for function, future in calls:
                try:
                    future.set_result(function())
                except BaseException as error:
                    future.set_exception(error)
            if events:
                self._write(events)
            with self._condition:
                self._writing = False
                self._condition.notify_all()
            worked_at = time.monotonic()

    def _write(self, events: list[Event]) -> None:
        try:
            outcome = apply(events, reconnect=False)
        except (InterfaceError, OperationalError) as error:
            # Nothing was written: kept, first in line, and tried again once the database answers.
            self._failures += 1
            if self._failures == 1:
                logger.error("Writing task records failed; they are kept and written again", exc_info=error)
            connections.close_all()
            with self._condition:
                self._events[:0] = events
                self._last = {}
                backoff = min(conf.WRITE_WINDOW * 2**self._failures, MAX_BACKOFF)
                self._due = time.monotonic() + max(backoff, 0.05)
            return
        except AmbiguousCommit:
            # The connection failed during COMMIT: written or not, nobody can tell; the reconciler finishes
            # what the records still lack (writing the batch again could count steps twice).
            logger.exception("The database connection failed while committing task records")
            connections.close_all()
            return
        except Exception:
            records = _by_record(events)
            if len(records) == 1:
                logger.exception("Writing the record of %s failed; its events are dropped", _key(events[0]))
                return
            # One record's bad event (a foreign key failing at commit, say) must not cost the others theirs:
            # each record is written on its own.
            logger.warning("Writing a batch failed; its records are written one by one", exc_info=True)
            for own in records:
                self._write(own)
            return
        if self._failures:
            self._failures = 0
            logger.warning("Writing task records works again")
        for event in outcome.missing:
            logger.warning(
                "No status record for %s: its %s is dropped", event.task_id or event.uuid, event.kind
            )
        for event in events:
            record = event.record
            if record is not None and record.is_read and record.uuid in outcome.canceled:
                record._canceled = True


def _key(event: Event) -> Any:
    """What names an event's record: its uuid or, for a running task's record, its task id."""
    return event.uuid or event.task_id


def _by_record(events: list[Event]) -> list[list[Event]]:
    """``events`` by record, each record's in the order they happened."""
    records: dict[Any, list[Event]] = {}
    for event in events:
        records.setdefault(_key(event), []).append(event)
    return list(records.values())


writer = Writer()
