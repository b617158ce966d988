"""Sphinx configuration of the documentation site: `make docs` builds it into docs/_build/html."""

from __future__ import annotations

project = "django-realtime-tasks"
author = "django-realtime-tasks contributors"
copyright = "2026, django-realtime-tasks contributors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Every reference must resolve: a broken link fails the build (`make docs` runs with -W -n).
nitpicky = True
# Anchors for the headings, so that `[text](#a-heading)` and `[text](page.md#a-heading)` links resolve.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "django-realtime-tasks"
