"""Where artifact files go: django-user-tasks' STORAGES key and fallback, as its storage tests check them.

Here the storage is always a key of STORAGES, named by REALTIME_TASKS_ARTIFACT_STORAGE ("default" unless set);
django-user-tasks' USER_TASKS_ARTIFACT_STORAGE import path becomes such a key. The field's storage is chosen
when the models load, so a configured site is run in a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from realtime_tasks.models import UserTaskArtifact, UserTaskStatus
from tests.conftest import ROOT

pytestmark = [pytest.mark.core, pytest.mark.django_db]

# Saves an artifact file in a configured site, and prints where it went.
SAVE = """
import django
django.setup()
from django.core.files.base import ContentFile
from realtime_tasks.models import UserTaskArtifact
storage = UserTaskArtifact._meta.get_field("file").storage
name = storage.save("user_tasks/report.txt", ContentFile(b"File content"))
print(type(storage).__name__, storage.path(name))
"""


def test_files_go_to_the_default_storage_unless_told() -> None:
    storage = UserTaskArtifact._meta.get_field("file").storage
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == settings.STORAGES["default"]["OPTIONS"]["location"]


def test_an_artifact_file_is_saved_in_the_storage_and_read_back() -> None:
    user = User.objects.create_user("ada")
    status = UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="tests.sample")
    artifact = UserTaskArtifact.objects.create(
        status=status, file=ContentFile(b"File content", name="out.txt")
    )
    try:
        assert artifact.file.name.startswith("user_tasks/")
        with artifact.file.open("rb") as content:
            assert content.read() == b"File content"
    finally:
        artifact.file.storage.delete(artifact.file.name)


def test_files_go_to_the_storage_the_setting_names(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.compat_storage_settings",
        "REALTIME_TASKS_TEST_ARTIFACTS": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", SAVE], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    backend, path = done.stdout.split()
    assert backend == "FileSystemStorage"
    assert path == str(tmp_path / "user_tasks" / "report.txt")
    assert (tmp_path / "user_tasks" / "report.txt").read_bytes() == b"File content"
