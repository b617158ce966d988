from __future__ import annotations

from django.apps import AppConfig


class RealtimeTasksConfig(AppConfig):
    name = "realtime_tasks"
    verbose_name = "Realtime tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import canvas, checks, djtasks_receivers, receivers
        from .broadcast import broadcaster
        from .signals import changes_committed

        checks.register()
        receivers.connect()
        djtasks_receivers.connect()
        canvas.install()
        changes_committed.connect(broadcaster.changes_committed, dispatch_uid="realtime_tasks.broadcast")
