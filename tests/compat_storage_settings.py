"""The test settings with artifacts in a storage of their own, as a site moving from django-user-tasks names
it: STORAGES["user_task_artifacts"] (its location from REALTIME_TASKS_TEST_ARTIFACTS)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import STORAGES

STORAGES = {
    **STORAGES,
    "user_task_artifacts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ.get("REALTIME_TASKS_TEST_ARTIFACTS", "/nonexistent")},
    },
}
REALTIME_TASKS_ARTIFACT_STORAGE = "user_task_artifacts"
