from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime_tasks.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Finish the records of tasks that ended without their end being written, from what Celery's result "
        "backend knows (see REALTIME_TASKS_RECONCILE_GRACE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            help="Seconds a record must have been unchanged to be checked (default: the setting).",
        )

    def handle(self, *args: Any, grace: float | None = None, **options: Any) -> None:
        self.stdout.write(str(reconcile(grace)))
