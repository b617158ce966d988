"""The French locale: complete, compiled from its .po, and used by a page."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, modify_settings
from django.utils import translation

from realtime_tasks.models import UserTaskStatus

LOCALE = Path(__file__).resolve().parent.parent / "realtime_tasks" / "locale"
PO = LOCALE / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def catalog(mo: Path) -> dict[Any, Any]:
    with open(mo, "rb") as compiled:
        return dict(gettext.GNUTranslations(compiled)._catalog)  # type: ignore[attr-defined]


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (the gettext package) is not installed")
def test_the_committed_mo_is_compiled_from_the_po(tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(PO)], check=True)

    assert catalog(MO) == catalog(fresh), "run: cd realtime_tasks && django-admin compilemessages -l fr"


def test_every_message_is_translated() -> None:
    text = PO.read_text()
    assert "#, fuzzy" not in text
    messages = {key: value for key, value in catalog(MO).items() if key}
    assert len(messages) == text.count("\nmsgid ") - 1  # all but the header
    assert all(messages.values())


def test_states_in_french() -> None:
    with translation.override("fr"):
        assert str(UserTaskStatus.STATE_TRANSLATIONS[UserTaskStatus.IN_PROGRESS]) == "En cours"


@pytest.mark.django_db
@modify_settings(MIDDLEWARE={"append": "django.middleware.locale.LocaleMiddleware"})
def test_the_json_api_answers_in_the_browsers_language() -> None:
    # LocaleMiddleware activates the request's language in this thread: restored after the test.
    with translation.override(translation.get_language()):
        answers_in_french()


def answers_in_french() -> None:
    client = Client(headers={"accept-language": "fr"})

    anonymous = client.get("/tasks/trees/")
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Connectez-vous pour voir vos tâches."

    client.force_login(get_user_model().objects.create_user(username="lectrice"))
    missing = client.get("/tasks/trees/nothing-here/")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "message": "Aucun arbre de tâches 'nothing-here' n\u2019a été trouvé.",
    }


@pytest.mark.django_db
def test_the_json_api_answers_in_english_by_default() -> None:
    with translation.override(None):
        assert Client().get("/tasks/trees/").json()["message"] == "Log in to see your tasks."
