from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from realtime_tasks.conf import conf
from realtime_tasks.tasks import purge_old_user_tasks


class Command(BaseCommand):
    help = "Delete the task trees older than REALTIME_TASKS_MAX_AGE that are not running, with their files."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_old_user_tasks()
        self.stdout.write(f"Deleted {deleted} status records older than {conf.MAX_AGE}.")
