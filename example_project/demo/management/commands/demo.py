"""Serve the demo: daphne, and Celery workers beside it, with django-tasks-db's worker for the django.tasks
task (Django 6.0+).

Embedded (no REDIS_URL): SQLite, an in-memory broker and channel layer, a Celery worker of 4 threads and the
database backend's worker in a thread, all in this process, so nothing needs installing. With REDIS_URL (and
DATABASE_URL), the production layout: Redis as broker, result backend and channel layer, and workers started
as separate ``celery worker`` and ``manage.py db_worker`` processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery.contrib.testing.worker import start_worker
from config.celery import app
from daphne.server import Server
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from realtime_tasks.models import UserTaskStatus

PROJECT = Path(__file__).resolve().parents[3]
# How often django-tasks-db's worker looks for a task when it has none.
DB_WORKER_INTERVAL = 0.2


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
        django_tasks = apps.is_installed("django_tasks_db")
        if embedded:
            with (
                start_worker(
                    app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="CRITICAL"
                ),
                self.db_worker_thread() if django_tasks else contextlib.nullcontext(),
            ):
                yield
            return
        celery = [
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
        commands = [[*celery, "-n", f"demo{n}@%h"] for n in (1, 2)]
        if django_tasks:
            options = ["--backend", "database", "--interval", str(DB_WORKER_INTERVAL), "--no-reload"]
            commands.append([sys.executable, "manage.py", "db_worker", *options, "--no-startup-delay"])
        workers = [subprocess.Popen(command, cwd=PROJECT, env=os.environ.copy()) for command in commands]
        try:
            yield
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)

    @contextlib.contextmanager
    def db_worker_thread(self) -> Iterator[None]:
        """django-tasks-db's worker in a thread of this process: its ``db_worker`` command would take over the
        signals, which only the main thread may, so its ``Worker`` runs here, stopped by clearing ``running``
        (a task still running was canceled first: it stops at its next step)."""
        from django_tasks_db.management.commands.db_worker import Worker

        # Quiet as the embedded Celery worker: no line per task, nor a traceback per task canceled by Ctrl-C.
        for name in ("django.tasks", "django_tasks_db"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        worker = Worker(
            queue_names=["default"],
            excluded_queue_names=[],
            interval=DB_WORKER_INTERVAL,
            batch=False,
            backend_name="database",
            startup_delay=False,
            max_tasks=None,
            worker_id="demo",
        )

        def run() -> None:
            try:
                worker.run()
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, name="db_worker", daemon=True)
        thread.start()
        try:
            yield
        finally:
            worker.running = False
            thread.join(timeout=30)
