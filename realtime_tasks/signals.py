from __future__ import annotations

from django.dispatch import Signal

# Sent once for every record that reaches a terminal state, containers included; kwargs: ``status``.
user_task_stopped = Signal()

# Sent after every committed change of a record (its creation included); kwargs: ``status``.
status_changed = Signal()
