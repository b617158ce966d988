"""Log records of the processes the tests start, one JSON object a line, so that tests count records (and
the tracebacks they carry) instead of words in a formatted log."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        exception = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        return json.dumps(
            {
                "pid": record.process,
                "logger": record.name,
                "level": record.levelname,
                "message": record.getMessage(),
                "exception": exception,
            }
        )


def settings_for(path: str) -> dict[str, Any]:
    """Django's LOGGING: warnings and errors of every logger to the console, and as JSON lines to ``path``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"records": {"()": "tests.logrecords.JsonLines"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler"},
            "records": {"class": "logging.FileHandler", "filename": path, "formatter": "records"},
        },
        "root": {"handlers": ["console", "records"], "level": "WARNING"},
    }


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]
