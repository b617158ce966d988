"""The reconciler: finishes the records of tasks that ended without their end being written.

That happens when a worker process is killed while it holds events it had not written yet (batching.py), or
when a write failed in a way that cannot be retried. Such a record stays unfinished while Celery knows better.
The reconciler looks at the unfinished tasks that have not changed for ``REALTIME_TASKS_RECONCILE_GRACE``
seconds and asks Celery's result backend what became of them:

- ``SUCCESS``: the record succeeds (its steps topped up, its containers rolled up);
- ``FAILURE``: it fails with the result's error; ``REVOKED``: it fails as revoked;
- anything else (the task is queued, running, or its result is not kept): it is left alone, unless it is
  older than ``REALTIME_TASKS_RECONCILE_LOST_AFTER`` and no worker reports it active, reserved or scheduled:
  then it fails as lost (the last resort, for a result backend that keeps nothing).

Each record is finished through its own methods, so a record that reached its end meanwhile is left as it is,
and ``user_task_stopped`` goes out exactly once. It runs every ``REALTIME_TASKS_RECONCILE_INTERVAL`` seconds
(the Celery task ``realtime_tasks.tasks.reconcile_user_tasks``, scheduled with beat), when a worker starts,
and on demand (``manage.py reconcile_user_tasks``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app, states
from django.utils.timezone import now

from .conf import conf
from .models import UserTaskStatus

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class Report:
    """What one run found and did, by outcome: uuids of the records."""

    checked: int = 0
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.checked} unfinished tasks checked: {len(self.succeeded)} succeeded, "
            f"{len(self.failed)} failed, {len(self.lost)} lost"
        )


def reconcile(grace: float | None = None, app: Any = None) -> Report:
    """Finish the records whose task ended without it being written; see the module's docstring."""
    app = app or current_app
    grace = conf.RECONCILE_GRACE if grace is None else grace
    report = Report()
    quiet_since = now() - timedelta(seconds=grace)
    candidates = UserTaskStatus.objects.filter(is_container=False, modified__lt=quiet_since).unfinished()
    lost_before = now() - conf.RECONCILE_LOST_AFTER
    unknown: list[UserTaskStatus] = []
    for batch in _batches(candidates.order_by("pk")):
        report.checked += len(batch)
        for record, meta in zip(batch, _results(app, [record.task_id for record in batch]), strict=True):
            state = meta.get("status")
            if state == states.SUCCESS:
                record.succeed()
                report.succeeded.append(str(record.uuid))
            elif state in (states.FAILURE, states.REVOKED):
                record.fail(_error(meta) if state == states.FAILURE else "The task was revoked")
                report.failed.append(str(record.uuid))
            elif record.created < lost_before:
                unknown.append(record)
    if unknown:
        busy = _known_to_workers(app)
        for record in unknown:
            if record.task_id not in busy:
                record.fail("The task was lost: no worker has it and its result backend knows nothing of it")
                report.lost.append(str(record.uuid))
    if report.succeeded or report.failed or report.lost:
        logger.warning("Reconciled task records: %s", report)
    return report


def _batches(query: Any) -> Iterator[list[UserTaskStatus]]:
    last = 0
    while batch := list(query.filter(pk__gt=last)[:BATCH]):
        yield batch
        last = batch[-1].pk


def _results(app: Any, task_ids: list[str]) -> list[dict[str, Any]]:
    """The result backend's metadata of each task, ``{}`` where it has none."""
    backend = app.backend
    if hasattr(backend, "mget") and hasattr(backend, "get_key_for_task"):
        # A key-value backend (Redis): all of them in one round trip.
        values = backend.mget([backend.get_key_for_task(task_id) for task_id in task_ids])
        return [backend.decode_result(value) if value else {} for value in values]
    return [backend.get_task_meta(task_id) for task_id in task_ids]


def _error(meta: dict[str, Any]) -> str:
    result = meta.get("result")
    if isinstance(result, dict) and "exc_message" in result:
        message = result["exc_message"]
        text = " ".join(map(str, message)) if isinstance(message, list | tuple) else str(message)
        return text or str(result.get("exc_type", "The task failed"))
    return str(result) if result else "The task failed"


def _known_to_workers(app: Any) -> set[str]:
    """The ids of the tasks that running workers report active, reserved or scheduled."""
    inspect = app.control.inspect(timeout=1.0)
    known: set[str] = set()
    for reply in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        for tasks in (reply or {}).values():
            for task in tasks:
                request = task.get("request", task)
                if request.get("id"):
                    known.add(request["id"])
    return known
