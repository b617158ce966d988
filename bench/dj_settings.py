"""The benchmarks' Django settings (``bench.settings``) without the tracker: the ``dj`` contender's project.
It serves no page: its URLconf is this module, with no patterns."""

from typing import Any

from bench.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "realtime_tasks"]  # noqa: F405
ROOT_URLCONF = "bench.dj_settings"
urlpatterns: list[Any] = []
