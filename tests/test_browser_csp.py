"""The widget in real Chromium on a page under a strict Content Security Policy (Django's own): the template
tag's script carries the nonce, and nothing the element does is refused."""

from __future__ import annotations

from typing import Any

import django
import pytest

pytest.importorskip("playwright")
from celery import chain, group
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import sync_playwright

from realtime_tasks.testing import root_of
from tests.conftest import start_daphne
from tests.tasks import step
from tests.test_browser import ARTIFACTS, BUILT, CHROMIUM, FLAGS, MISSING, wait_until_shown_equals_database

pytestmark = [
    pytest.mark.skipif(MISSING, reason="needs Debian's chromium"),
    pytest.mark.skipif(django.VERSION < (6, 0), reason="Django's own CSP came in 6.0"),
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

# Every violation the page reports, wherever it happens (in the element's shadow root too: the event is
# composed).
LISTEN = """window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    const what = event.blockedURI || "inline";
    window.violations.push(`${event.effectiveDirective} refused ${what}: ${event.sample}`);
}, true);"""


def test_widget_runs_live_under_a_strict_policy_without_a_violation(celery_worker: Any) -> None:
    user = User.objects.create_user("ada")
    client = Client()
    client.force_login(user)
    server, port = start_daphne(env={"DJANGO_SETTINGS_MODULE": "tests.csp_settings"})
    # Published before Playwright starts (its event loop forbids the ORM in this thread); slow enough to be
    # running when the page opens.
    canvas = chain(
        step.si(user_id=user.pk, steps=10, pause=0.1),
        group(step.si(user_id=user.pk, steps=3, pause=0.1) for _ in range(3)),
    )
    root = str(root_of(canvas.apply_async()).uuid)
    errors: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            context = browser.new_context(base_url=f"http://127.0.0.1:{port}")
            session = client.cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": session, "url": f"http://127.0.0.1:{port}"}])
            # Init scripts are added by the browser itself, not by the page, so the policy does not apply.
            context.add_init_script(LISTEN)
            page = context.new_page()
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/static/realtime_tasks/task-progress.js", lambda route: route.fulfill(path=BUILT))

            response = page.goto("/")
            assert response is not None
            policy = response.headers["content-security-policy"]
            assert "'unsafe-inline'" not in policy
            # Browsers hide the attribute once the script is in the page; the property keeps it.
            nonce = page.eval_on_selector('script[type="module"]', "script => script.nonce")
            assert nonce
            assert f"script-src 'self' 'nonce-{nonce}'" in policy

            page.wait_for_selector('task-progress[connection="live"]')
            page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
            wait_until_shown_equals_database(page, root)
            page.screenshot(path=str(ARTIFACTS / "csp.png"), full_page=True)
            violations = page.evaluate("window.violations")
            seen_errors = list(errors)
            # The control: an inline style, which the policy refuses, is heard.
            page.evaluate("document.body.setAttribute('style', 'color: red')")
            page.wait_for_function(f"window.violations.length > {len(violations)}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert violations == []
    assert seen_errors == []
