"""The docs say what the code does: the settings tables match conf.py, the check ids the checks, and the
Python samples compile."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from realtime_tasks.conf import Settings, conf

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
SETTING_ROW = re.compile(r"^\| `(REALTIME_TASKS_\w+)` \| `([^`]+)` \| (.+) \|$", re.MULTILINE)


def documented(page: Path) -> dict[str, Any]:
    """The settings table of ``page``: each setting's name and its default, as a Python value."""
    rows = SETTING_ROW.findall(page.read_text())
    assert rows, f"{page} has no settings table"
    return {name: eval(default, {"timedelta": timedelta}) for name, default, _ in rows}


def defaults() -> dict[str, Any]:
    """Every setting conf.py reads, with the value it takes when the project sets nothing."""
    values = {}
    for attribute, value in vars(Settings).items():
        if isinstance(value, property):
            name = f"REALTIME_TASKS_{attribute}"
            with override_settings():
                if hasattr(settings, name):
                    delattr(settings, name)
                values[name] = getattr(conf, attribute)
    return values


@pytest.mark.parametrize("page", ["docs/settings.md", "README.md"])
def test_settings_table_lists_every_setting_with_its_default(page: str) -> None:
    assert documented(ROOT / page) == defaults()


def test_settings_page_lists_every_system_check() -> None:
    source = "".join(path.read_text() for path in (ROOT / "realtime_tasks").glob("*checks.py"))
    in_code = set(re.findall(r"realtime_tasks\.[EW]\d{3}", source))
    listed = set(re.findall(r"`(realtime_tasks\.[EW]\d{3})`", (ROOT / "docs" / "settings.md").read_text()))
    assert listed == in_code


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_python_samples_compile(page: Path) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```$", page.read_text(), re.MULTILINE | re.DOTALL)
    for block in blocks:
        ast.parse(block, filename=str(page))
