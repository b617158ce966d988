from __future__ import annotations

from django.dispatch import Signal

# Sent once for every record that reaches a terminal state, containers included; kwargs: ``status``.
user_task_stopped = Signal()

# Sent after every committed change of a record (its creation included); kwargs: ``status``.
status_changed = Signal()

# Sent once per committed change (one method call, or one published canvas), after its ``status_changed``
# signals, with every record it changed or created as ``statuses`` (a list): for receivers that want one call
# per change, like the live layer.
changes_committed = Signal()
