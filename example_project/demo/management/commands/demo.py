"""Serve the demo: daphne, and Celery workers beside it.

Embedded (no REDIS_URL): SQLite, an in-memory broker and channel layer, and a worker of 4 threads in this
process, so nothing needs installing. With REDIS_URL (and DATABASE_URL), the production layout: Redis as
broker, result backend and channel layer, and workers started as separate ``celery worker`` processes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery.contrib.testing.worker import start_worker
from config.celery import app
from daphne.server import Server
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from realtime_tasks.models import UserTaskStatus

PROJECT = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Serve the demo page on 127.0.0.1 with Celery workers, set up and ready to log in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, port: int, **options: Any) -> None:
        call_command("migrate", verbosity=0)
        user, created = get_user_model().objects.get_or_create(username="demo", defaults={"is_staff": True})
        if created:
            user.set_password("demo")
            user.is_superuser = True
            user.save()
        embedded = not settings.REDIS_URL
        layout = (
            "embedded: SQLite or DATABASE_URL, in-process worker and channel layer" if embedded else "Redis"
        )
        self.stdout.write(
            f"\nThe demo runs at http://127.0.0.1:{port}/ ({layout})\n"
            "Log in as demo / demo (also an admin: /admin/). Ctrl-C stops it.\n"
        )
        from config.asgi import application

        with self.workers(embedded):
            server = Server(application, endpoints=[f"tcp:port={port}:interface=127.0.0.1"], verbosity=0)
            try:
                server.run()
            finally:
                # Ctrl-C: the workers would wait for the running tasks; canceled, each stops at its next step.
                self.cancel_unfinished()

    def cancel_unfinished(self) -> None:
        unfinished = UserTaskStatus.objects.filter(parent=None).exclude(
            state__in=UserTaskStatus.TERMINAL_STATES
        )
        for root in unfinished:
            root.cancel()

    @contextlib.contextmanager
    def workers(self, embedded: bool) -> Iterator[None]:
        if embedded:
            with start_worker(
                app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="CRITICAL"
            ):
                yield
            return
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency",
            "2",
            "-l",
            "warning",
        ]
        workers = [
            subprocess.Popen([*command, "-n", f"demo{n}@%h"], cwd=PROJECT, env=os.environ.copy())
            for n in (1, 2)
        ]
        try:
            yield
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
