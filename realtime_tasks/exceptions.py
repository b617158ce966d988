from __future__ import annotations


class TaskCanceledException(Exception):
    """Raised by a task's progress calls once its status has been canceled."""


class CanvasError(ValueError):
    """Raised when a canvas cannot be tracked, before any of its tasks is published."""
