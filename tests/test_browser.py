"""The widget in real Chromium, on the demo served by daphne with its embedded worker.

Debian's Chromium, driven by Playwright (no browser download). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright")
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from tests import logrecords

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
BUILT = ROOT / "realtime_tasks" / "static" / "realtime_tasks" / "task-progress.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What the element's "state" attribute says for each state (any other, custom ones too: "running").
STATE_KEYS = {
    "Pending": "pending",
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Canceled": "canceled",
    "Retrying": "retrying",
}
# The flags keep Chromium off the network, which this machine does not have.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--disable-sync", "--no-first-run", "--disable-quic"]

# On CI (services required) a missing Chromium fails the tests instead of skipping them.
REQUIRED = os.environ.get("REALTIME_TASKS_REQUIRE_SERVICES") == "1"
MISSING = not Path(CHROMIUM).exists() and not REQUIRED
pytestmark = pytest.mark.skipif(MISSING, reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def page(demo_server: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(
            base_url=f"http://{demo_server}", viewport={"width": 1100, "height": 900}
        )
        page = context.new_page()
        log_in_to_demo(page)
        yield page
        browser.close()


def log_in_to_demo(page: Page) -> None:
    """Log in as the demo's user, and land on its page."""
    page.goto("/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo")
    page.click("button")
    page.wait_for_url("**/")


def newest_root(page: Page) -> str:
    trees = page.request.get("/tasks/trees/").json()["trees"]
    return str(max(trees, key=lambda tree: tree["records"][0]["created"])["root"])


def shown(page: Page, selector: str = "task-progress") -> dict[str, dict[str, Any]]:
    """What the element shows for each record: its state and its counts, read from the page."""
    script = """(element) => Array.from(element.shadowRoot.querySelectorAll("li.node")).map((node) => ({
        uuid: node.dataset.uuid,
        state: node.getAttribute("state"),
        counts: node.querySelector(":scope > .row > .counts").textContent,
        name: node.querySelector(":scope > .row > .name").textContent,
    }))"""
    return {node["uuid"]: node for node in page.locator(selector).first.evaluate(script)}


def wait_until_shown_equals_database(page: Page, root: str, selector: str = "task-progress") -> None:
    deadline = time.monotonic() + 60
    while True:
        records = page.request.get(f"/tasks/trees/{root}/").json()["records"]
        expected = {
            r["uuid"]: (STATE_KEYS.get(r["state"], "running"), f"{r['completed_steps']} / {r['total_steps']}")
            for r in records
        }
        nodes = shown(page, selector)
        seen = {
            uuid: (nodes[uuid]["state"], nodes[uuid]["counts"].split(" ·")[0])
            for uuid in expected
            if uuid in nodes
        }
        finished = all(state in {"succeeded", "failed", "canceled"} for state, _ in expected.values())
        if finished and seen == expected:
            return
        assert time.monotonic() < deadline, f"the page shows {seen}, the database holds {expected}"
        time.sleep(0.2)


def test_nested_canvas_started_from_the_page_ends_as_in_the_database(page: Page) -> None:
    page.click("text=A chain of chords of groups")
    page.wait_for_selector('p[data-started]:text-is("Started: A chain of chords of groups.")')
    root = newest_root(page)
    page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
    wait_until_shown_equals_database(page, root)
    page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)


def test_failed_task_shows_its_error_as_text(page: Page) -> None:
    page.click("text=A failing task")
    page.wait_for_selector('p[data-started]:text-is("Started: A failing task.")')
    root = newest_root(page)
    wait_until_shown_equals_database(page, root)
    node = page.locator(f'task-progress li.node[data-uuid="{root}"]')
    assert node.get_attribute("state") == "failed"
    # Shown once, on the task that failed (a container does not repeat its child's error).
    errors = node.locator(".error:not([hidden])")
    assert errors.count() == 1
    assert "Out of paper" in errors.first.text_content()


def test_page_has_no_accessibility_violations(page: Page) -> None:
    page.goto("/")
    page.click("text=A chord")
    page.wait_for_selector('p[data-started]:text-is("Started: A chord.")')
    wait_until_shown_equals_database(page, newest_root(page))
    results = Axe().run(page)
    violations = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]
    ]
    assert violations == [], violations


def test_admin_tree_page_is_live(page: Page) -> None:
    page.goto("/")
    page.click("text=One long task")
    page.wait_for_selector('p[data-started]:text-is("Started: One long task.")')
    root = newest_root(page)
    page.goto(f"/admin/realtime_tasks/usertaskstatus/{root}/tree/")
    page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
    first = shown(page)[root]["counts"]
    deadline = time.monotonic() + 30
    while shown(page)[root]["counts"] == first:
        assert time.monotonic() < deadline, "the admin tree did not move"
        time.sleep(0.2)
    page.screenshot(path=str(ARTIFACTS / "admin-tree.png"), full_page=True)


@contextlib.contextmanager
def logged_in_page(user: Any, port: int) -> Iterator[Page]:
    """The tests' page, served by the daphne on ``port``, in Chromium, logged in as ``user``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(base_url=f"http://127.0.0.1:{port}")
        session = client.cookies["sessionid"].value
        context.add_cookies([{"name": "sessionid", "value": session, "url": f"http://127.0.0.1:{port}"}])
        page = context.new_page()
        page.route("**/static/realtime_tasks/task-progress.js", lambda route: route.fulfill(path=BUILT))
        page.goto("/")
        page.wait_for_selector('task-progress[connection="live"]')
        try:
            yield page
        finally:
            browser.close()


def stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_widget_reconnects_after_daphne_restarts_and_shows_the_exact_state(celery_worker: Any) -> None:
    from django.contrib.auth.models import User

    from realtime_tasks.models import UserTaskStatus
    from tests.conftest import start_daphne
    from tests.tasks import step

    user = User.objects.create_user("ada")
    server, port = start_daphne()
    # Before Playwright starts: its event loop forbids the ORM in this thread.
    root = UserTaskStatus.objects.get(task_id=step.delay(user_id=user.pk, steps=60, pause=0.1).id).root_id
    try:
        with logged_in_page(user, port) as page:
            page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
            server.kill()  # no goodbye: the socket just drops
            server.wait()
            time.sleep(1)
            server, _ = start_daphne(port)
            assert page.get_attribute("task-progress", "connection") != "live"
            page.wait_for_selector('task-progress[connection="live"]', timeout=30_000)
            wait_until_shown_equals_database(page, str(root))
    finally:
        stopped(server)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_redis_outage_mid_canvas_the_widget_polls_then_goes_live_and_ends_exact(private_redis: Any) -> None:
    """The channel layer's Redis stops while a canvas runs: the tasks go on, the page polls the JSON API
    meanwhile, and once Redis is back it goes live again and ends with the database's state; each process
    logs the outage once, and its end once."""
    from celery import chain, group
    from django.conf import settings
    from django.contrib.auth.models import User

    from realtime_tasks.testing import root_of
    from tests.conftest import start_daphne, start_worker_process
    from tests.tasks import step

    user = User.objects.create_user("ada")
    # A worker and a daphne of this test's own, on its own queue, with the private Redis as channel layer.
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-outage"
    env = {"REALTIME_TASKS_TEST_CHANNEL_LAYER_URL": private_redis.url, "REALTIME_TASKS_TEST_QUEUE": queue}
    name = f"outage-{os.getpid()}-{private_redis.port}"
    worker = start_worker_process(name, concurrency=2, queue=queue, env=env)
    server, port = start_daphne(env=env)
    try:
        members = group(step.si(user_id=user.pk, steps=100, pause=0.1) for _ in range(2))
        canvas = chain(members, step.si(user_id=user.pk, steps=40, pause=0.1))
        root = str(root_of(canvas.apply_async(queue=queue)).uuid)
        with logged_in_page(user, port) as page:
            page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
            private_redis.stop()
            down = time.monotonic()
            page.wait_for_selector('task-progress[connection="polling"]', timeout=30_000)
            before = shown(page)[root]["counts"]
            # Down for a few seconds, while the page keeps moving.
            while shown(page)[root]["counts"] == before or time.monotonic() < down + 3:
                assert time.monotonic() < down + 30, "the page did not move while polling"
                time.sleep(0.2)
            assert page.get_attribute("task-progress", "connection") == "polling"
            private_redis.start()
            page.wait_for_selector('task-progress[connection="live"]', timeout=60_000)
            wait_until_shown_equals_database(page, root)
    finally:
        stopped(server)
        stopped(worker)
    # Once per outage in each process that broadcasts: the worker's two children, the daphne.
    worker_records = logrecords.read(ARTIFACTS / f"worker-{name}.jsonl")
    for message in ("Status broadcasts are failing", "Status broadcasts work again"):
        pids = [record["pid"] for record in worker_records if record["message"].startswith(message)]
        assert sorted(pids) == sorted(set(pids)) != [], worker_records
    daphne_records = logrecords.read(ARTIFACTS / f"daphne-{port}.jsonl")
    for message in ("The channel layer is failing", "The channel layer works again"):
        assert [r["message"].startswith(message) for r in daphne_records].count(True) == 1, daphne_records
    # One record carries a traceback in all: the outage's, logged once.
    assert [r for r in daphne_records if r["exception"]] == [
        r for r in daphne_records if r["message"].startswith("The channel layer is failing")
    ], daphne_records
