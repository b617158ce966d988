"""The states of a status record and the kinds of container: named once, here."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

PENDING = "Pending"
IN_PROGRESS = "In Progress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELED = "Canceled"
RETRYING = "Retrying"

TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})

TRANSLATIONS: dict[str, Any] = {
    PENDING: _("Pending"),
    IN_PROGRESS: _("In Progress"),
    SUCCEEDED: _("Succeeded"),
    FAILED: _("Failed"),
    CANCELED: _("Canceled"),
    RETRYING: _("Retrying"),
}

CHAIN = "celery.chain"
GROUP = "celery.group"
CHORD = "celery.chord"
