"""Tasks that the test worker runs."""

from __future__ import annotations

import functools
import os
import signal
import time
from typing import Any

import redis
from celery import Task
from django.conf import settings

from realtime_tasks.signals import user_task_stopped
from realtime_tasks.tasks import UserTask, UserTaskMixin

from .celery_app import app

STOPPED_KEY = "realtime-tasks-tests:stopped"


@functools.cache
def _redis() -> redis.Redis:
    # One client per process: one made per call would be left for the garbage collector to close.
    return redis.Redis.from_url(settings.REDIS_URL)


class Step(UserTask):
    """A user task of ``steps`` steps, reporting each one."""

    name = "tests.step"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict.get("steps", 1))

    def run(
        self, *previous: Any, user_id: int, steps: int = 1, user_task_name: str = "", **behaviour: Any
    ) -> str:
        if behaviour.get("state"):
            self.status.set_state(behaviour["state"])
        if behaviour.get("start_at"):
            # Many tasks finish at the same moment, to race on their parents.
            time.sleep(max(0.0, behaviour["start_at"] - time.time()))
        for _ in range(steps):
            if behaviour.get("pause"):
                time.sleep(behaviour["pause"])
            self.status.increment_completed_steps()
        if behaviour.get("hold"):
            time.sleep(behaviour["hold"])
        if behaviour.get("fail"):
            raise ValueError(behaviour["fail"])
        if behaviour.get("retry") and self.request.retries < behaviour["retry"]:
            raise self.retry(countdown=0.1)
        if behaviour.get("die"):
            os.kill(os.getpid(), signal.SIGKILL)
        return self.name


step = app.register_task(Step())


class WriterConnection(UserTask):
    """Reports progress, then answers the database backend of its process's writer (PostgreSQL)."""

    name = "tests.writer_connection"

    def run(self, user_id: int) -> int:
        from django.db import connection

        from realtime_tasks.batching import writer

        def backend() -> int:
            connection.ensure_connection()
            return int(connection.connection.info.backend_pid)

        self.status.increment_completed_steps()
        return writer.call(backend)


writer_connection = app.register_task(WriterConnection())


@app.task(name="tests.plain")
def plain(*previous: Any, fail: str = "", **kwargs: Any) -> str:
    """A task without a status record."""
    if fail:
        raise ValueError(fail)
    return "plain"


@app.task(name="tests.ping")
def ping() -> str:
    return "pong"


def _note_stopped(sender: Any, status: Any, **kwargs: Any) -> None:
    _redis().rpush(STOPPED_KEY, str(status.uuid))


user_task_stopped.connect(_note_stopped, weak=False, dispatch_uid="tests.note_stopped")


# django-user-tasks' ways of declaring tasks (tests/test_compat_*.py).


class MinimalTask(Task, UserTaskMixin):  # type: ignore[misc,type-arg]
    """Task before the mixin, the way django-user-tasks declares its own UserTask; default name and steps."""


@app.task(base=MinimalTask, bind=True, name="tests.minimal_task")
def minimal_task(self: Any, user_id: int, argument: Any, **kwargs: Any) -> Any:
    return argument


class ArgumentsTask(UserTask):
    """Named and sized from its arguments, however they were passed."""

    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        return f"SampleTask: {arguments_dict['arg1']}, {arguments_dict['arg2']}"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["arg1"] * arguments_dict["arg2"])


@app.task(base=ArgumentsTask, bind=True, name="tests.arguments_task")
def arguments_task(self: Any, user_id: int, arg1: int, arg2: int, **kwargs: Any) -> list[int]:
    return [arg1, arg2]


@app.task(base=UserTask, bind=True, name="tests.fails_itself")
def fails_itself(self: Any, user_id: int) -> str:
    """Fails its record without raising."""
    self.status.fail("Something went wrong")
    return "returned"


@app.task(base=UserTask, bind=True, name="tests.cancels_itself")
def cancels_itself(self: Any, user_id: int) -> None:
    """Canceled while it runs: its next progress call stops it."""
    self.status.cancel()
    for _ in range(100):
        self.status.increment_completed_steps()
        time.sleep(0.05)
