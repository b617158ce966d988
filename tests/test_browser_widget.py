"""The element in real Chromium against a real daphne and a real worker: many elements on one page, a
10,000-task group, and the visual defects of issue 13 (layout, retries, errors, time left, theme).

Pages come from tests/urls.py's ``elements/`` view (one element per ``root``, one for all trees with
``all``, the page's own colour scheme from ``scheme``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Page, WebSocket, sync_playwright

from tests.test_browser import (
    BUILT,
    CHROMIUM,
    FLAGS,
    MISSING,
    STATE_KEYS,
    shown,
    stopped,
    wait_until_shown_equals_database,
)

pytestmark = [
    pytest.mark.skipif(MISSING, reason="needs Debian's chromium"),
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

T = TypeVar("T")
MAX_FRAME_BYTES = 1_000_000


@pytest.fixture(scope="module")
def port(django_db_setup: Any) -> Iterator[int]:
    """A daphne of this module's own, on the test database."""
    from tests.conftest import start_daphne

    server, port = start_daphne()
    yield port
    stopped(server)


def off_thread(function: Callable[[], T]) -> T:
    """``function`` run in a thread of its own: Playwright's event loop forbids the ORM in this one."""
    from django.db import connections

    def run() -> T:
        try:
            return function()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=600)


@contextlib.contextmanager
def browser_page(user: Any, port: int, **options: Any) -> Iterator[Page]:
    """A blank page of Chromium logged in as ``user`` on the daphne of ``port``, serving the built element;
    ``options`` go to the browser context (viewport, color_scheme)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    origin = f"http://127.0.0.1:{port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = browser.new_context(base_url=origin, **options)
            context.add_cookies(
                [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": origin}]
            )
            page = context.new_page()
            page.route("**/static/realtime_tasks/task-progress.js", lambda route: route.fulfill(path=BUILT))
            yield page
        finally:
            browser.close()


def elements_url(roots: list[str] = (), every: bool = False, scheme: str = "") -> str:  # type: ignore[assignment]
    query = [("root", root) for root in roots] + ([("all", "1")] if every else [])
    return "/elements/?" + urlencode(query + ([("scheme", scheme)] if scheme else []))


def wait_for(page: Page, condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(200)


def database_uuids(page: Page, root: str) -> set[str]:
    return {record["uuid"] for record in page.request.get(f"/tasks/trees/{root}/").json()["records"]}


# Issue 11: one connection per page.


def test_twenty_elements_share_one_websocket_and_each_shows_its_own_tree(
    celery_worker: Any, port: int
) -> None:
    from celery import chain, group
    from django.contrib.auth.models import User

    from realtime_tasks.testing import root_of
    from tests.tasks import step

    user = User.objects.create_user("ada")
    roots = []
    for index in range(20):
        task = step.si(user_id=user.pk, steps=4, pause=0.05)
        canvas = [task, chain(task.clone(), task.clone()), group(task.clone(), task.clone())][index % 3]
        roots.append(str(root_of(canvas.apply_async()).uuid))
    with browser_page(user, port) as page:
        sockets: list[WebSocket] = []
        page.on("websocket", lambda socket: sockets.append(socket))
        page.goto(elements_url(roots, every=True))
        assert page.locator("task-progress").count() == 21
        page.wait_for_function(
            "() => [...document.querySelectorAll('task-progress')].every((e) => e.connection === 'live')",
            timeout=60_000,
        )
        every = {}
        for root in roots:
            selector = f'task-progress[root="{root}"]'
            wait_until_shown_equals_database(page, root, selector)
            wait_until_shown_equals_database(page, root, "task-progress:not([root])")
            uuids = database_uuids(page, root)
            # Its own tree, nothing else.
            assert set(shown(page, selector)) == uuids
            every.update(dict.fromkeys(uuids))
        assert set(shown(page, "task-progress:not([root])")) == set(every)
        assert [socket.url for socket in sockets] == [f"ws://127.0.0.1:{port}/ws/tasks/"]
        assert not sockets[0].is_closed()


# Issue 11: a 10,000-task group.


def summary_counts(page: Page, root: str) -> dict[str, int]:
    """The state counts of the summary of the group ``root``, as the element shows them."""
    script = """(node) => [...node.querySelectorAll(':scope > .children > .summary > .summary-count')].map(
        (item) => [item.getAttribute('state'), item.lastChild.textContent])"""
    items = page.locator(f'task-progress li.node[data-uuid="{root}"]').evaluate(script)
    return {state: int(text.split()[0].replace(",", "")) for state, text in items}


def database_counts(root: str) -> dict[str, int]:
    from django.db.models import Count

    from realtime_tasks.models import UserTaskStatus

    rows = (
        UserTaskStatus.objects.filter(root_id=root, is_container=False)
        .values("state")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, int] = {}
    for row in rows:
        key = STATE_KEYS.get(row["state"], "running")
        counts[key] = counts.get(key, 0) + row["n"]
    return counts


def test_ten_thousand_task_group_comes_in_frames_under_1_mb_shows_and_stays_responsive(port: int) -> None:
    from celery import group
    from django.contrib.auth.models import User

    from realtime_tasks.canvas import record_canvas
    from realtime_tasks.models import UserTaskStatus
    from tests.tasks import step

    user = User.objects.create_user("ada")
    frames: list[tuple[int, Any]] = []

    def watch(socket: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            data = payload.encode() if isinstance(payload, str) else payload
            frames.append((len(data), json.loads(data)))

        socket.on("framereceived", received)

    def publish() -> str:
        # Recorded as a publisher records it, without running 10,000 tasks.
        record_canvas(group(step.si(user_id=user.pk) for _ in range(10_000)))
        return str(UserTaskStatus.objects.get(user=user, parent=None).uuid)

    def change(count: int) -> None:
        leaves = UserTaskStatus.objects.filter(user=user, is_container=False, state=UserTaskStatus.PENDING)
        for leaf in leaves.order_by("position")[:count]:
            leaf.start()
            leaf.succeed()
        running = leaves.order_by("-position").first()
        assert running is not None
        running.start()

    def group_shown(page: Page, root: str) -> None:
        node = f'task-progress li.node[data-uuid="{root}"]'
        page.wait_for_selector(f"{node} > .children > .summary:not([hidden])", timeout=60_000)
        # Its parts arrive one after another: until the last, the label counts the members received.
        wait_for(
            page,
            lambda: page.locator(f"{node} > .row > .name").text_content() == "Group · 10,000 tasks",
            "the group is not shown whole",
        )
        assert page.locator(f"{node} .summary > .expand").text_content() == "Show all 10,000"
        assert page.locator(f"{node} > .children li.node").count() == 0  # summarized: no node per member

    def counts_equal_database(page: Page, root: str) -> None:
        expected = off_thread(lambda: database_counts(root))
        wait_for(page, lambda: summary_counts(page, root) == expected, f"the summary is not {expected}")

    with browser_page(user, port) as page:
        page.on("websocket", watch)
        page.goto(elements_url(every=True))
        page.wait_for_selector('task-progress[connection="live"]')
        # Published while the page is open: it arrives live.
        root = off_thread(publish)
        group_shown(page, root)
        counts_equal_database(page, root)
        # Responsive: the toggle answers, and a script runs.
        toggle = page.locator(f'task-progress li.node[data-uuid="{root}"] > .row > .toggle')
        for expanded in ("false", "true"):
            toggle.click(timeout=60_000)
            page.wait_for_selector(
                f'task-progress li.node[data-uuid="{root}"] > .row > .toggle[aria-expanded="{expanded}"]',
                timeout=60_000,
            )
        assert page.evaluate("() => 6 * 7") == 42
        off_thread(lambda: change(2))
        counts_equal_database(page, root)
        live = len(frames)
        assert page.get_attribute("task-progress", "connection") == "live"
        # A page opened afterwards: the snapshot, then a later change.
        page.reload()
        page.wait_for_selector('task-progress[connection="live"]')
        group_shown(page, root)
        counts_equal_database(page, root)
        off_thread(lambda: change(3))
        counts_equal_database(page, root)
        assert page.get_attribute("task-progress", "connection") == "live"
    sizes = [size for size, _ in frames]
    assert max(sizes) <= MAX_FRAME_BYTES, sorted(sizes)[-5:]
    # Every record of the tree came through the socket, live and in the snapshot.
    carried = [
        sum(len(message.get("records", [])) for _, message in part if message.get("root") == root)
        + sum(
            len(tree["records"])
            for _, message in part
            if message["type"] == "snapshot"
            for tree in message["trees"]
            if tree["root"] == root
        )
        for part in (frames[:live], frames[live:])
    ]
    assert all(count >= 10_001 for count in carried), carried


# Issue 13: the widget's visual defects.


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    return page.locator(selector).evaluate_all(
        "(els) => els.map((el) => el.getBoundingClientRect()).map((r) => ({top: r.top, left: r.left}))"
    )


def test_small_group_in_a_chord_header_sits_side_by_side_at_1280_px(celery_worker: Any, port: int) -> None:
    from celery import chord
    from django.contrib.auth.models import User

    from realtime_tasks.models import UserTaskStatus
    from realtime_tasks.testing import root_of
    from tests.tasks import step

    user = User.objects.create_user("ada")
    canvas = chord(
        [step.si(user_id=user.pk, steps=2, pause=0.05) for _ in range(3)], step.si(user_id=user.pk)
    )
    root = root_of(canvas.apply_async())
    header = UserTaskStatus.objects.get(root_id=root.uuid, task_class=UserTaskStatus.GROUP)
    members = [str(uuid) for uuid in header.children.order_by("position").values_list("uuid", flat=True)]
    with browser_page(user, port, viewport={"width": 1280, "height": 900}) as page:
        page.goto(elements_url([str(root.uuid)]))
        wait_until_shown_equals_database(page, str(root.uuid))
        assert page.locator(f'task-progress li.node[data-uuid="{header.uuid}"] > .section').is_visible()
        found = boxes(page, ", ".join(f'task-progress li.node[data-uuid="{uuid}"]' for uuid in members))
        assert len(found) == 3
        assert len({box["top"] for box in found}) == 1, found  # one row
        assert len({box["left"] for box in found}) == 3, found  # side by side


def test_tree_header_keeps_its_height_when_the_cancel_button_goes(celery_worker: Any, port: int) -> None:
    from django.contrib.auth.models import User

    from realtime_tasks.models import UserTaskStatus
    from tests.tasks import step

    user = User.objects.create_user("ada")
    # A minute long unless canceled: the test ends it with the button.
    root = str(UserTaskStatus.objects.get(task_id=step.delay(user_id=user.pk, steps=600, pause=0.1).id).uuid)
    row = f'task-progress li.node[data-uuid="{root}"] > .row'
    with browser_page(user, port, viewport={"width": 1280, "height": 900}) as page:
        page.goto(elements_url([root]))
        page.wait_for_selector(f"{row} > .cancel", state="visible", timeout=60_000)
        before = page.locator(row).bounding_box()
        page.click(f"{row} > .cancel")
        wait_until_shown_equals_database(page, root)
        assert shown(page)[root]["state"] == "canceled"
        assert page.locator(f"{row} > .cancel").is_hidden()
        after = page.locator(row).bounding_box()
        assert before is not None
        assert after is not None
        assert after["height"] == before["height"], (before, after)


# Samples, in the page, every state of the nodes drawn: one sample per DOM change of the element.
SAMPLER = """() => {
  window.samples = [];
  const element = document.querySelector("task-progress");
  const sample = () => {
    for (const node of element.shadowRoot.querySelectorAll("li.node")) {
      const bar = node.querySelector(":scope > .bar");
      const fill = bar.querySelector(".fill");
      window.samples.push({
        uuid: node.dataset.uuid,
        state: node.getAttribute("state"),
        counts: node.querySelector(":scope > .row > .counts").textContent,
        rate: node.querySelector(":scope > .row > .rate").textContent,
        valueNow: Number(bar.getAttribute("aria-valuenow")),
        fillWidth: fill.getBoundingClientRect().width,
        barWidth: bar.getBoundingClientRect().width,
      });
    }
  };
  new MutationObserver(sample).observe(element.shadowRoot, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}"""


def counts_of(text: str) -> tuple[int, int, int]:
    """``(done, total, percent)`` of a counts text such as "2 / 3 · 66%"."""
    fraction, percent = text.split(" · ")
    done, total = fraction.split(" / ")
    return int(done.replace(",", "")), int(total.replace(",", "")), int(percent.rstrip("%"))


def sampled_until_finished(user: Any, port: int, publish: Callable[[], str]) -> list[dict[str, Any]]:
    """Every state drawn of the tree that ``publish`` starts (returning its root) once the page samples."""
    with browser_page(user, port) as page:
        page.goto(elements_url(every=True))
        page.wait_for_selector('task-progress[connection="live"]')
        page.evaluate(SAMPLER)
        root = off_thread(publish)
        wait_until_shown_equals_database(page, root)
        return page.evaluate("() => window.samples")  # type: ignore[no-any-return]


def test_retried_task_never_shows_over_100_percent(celery_worker: Any, port: int) -> None:
    from django.contrib.auth.models import User

    from realtime_tasks.models import UserTaskStatus
    from tests.tasks import step

    user = User.objects.create_user("ada")
    task_ids = []

    def publish() -> str:
        task_ids.append(step.delay(user_id=user.pk, steps=3, retry=1, pause=0.3).id)
        return str(UserTaskStatus.objects.get(task_id=task_ids[0]).uuid)

    samples = sampled_until_finished(user, port, publish)
    assert UserTaskStatus.objects.get(task_id=task_ids[0]).attempts == 2  # it was retried
    assert samples
    for sample in samples:
        done, total, percent = counts_of(sample["counts"])
        assert done <= total, sample
        assert percent <= 100, sample
        assert sample["valueNow"] <= 100, sample
        assert sample["fillWidth"] <= sample["barWidth"] + 0.5, sample
    assert samples[-1]["counts"] == "3 / 3 · 100%"


def test_error_of_a_failed_task_shows_once(celery_worker: Any, port: int) -> None:
    from celery import chain
    from django.contrib.auth.models import User

    from realtime_tasks.testing import root_of
    from tests.tasks import step

    user = User.objects.create_user("ada")
    canvas = chain(step.si(user_id=user.pk), step.si(user_id=user.pk, fail="Out of paper"))
    root = root_of(canvas.apply_async())
    failed = str(root.children.get(position=1).uuid)
    script = """(element) => [...element.shadowRoot.querySelectorAll(".error")]
        .filter((error) => error.checkVisibility())
        .map((error) => [error.closest("li.node").dataset.uuid, error.textContent])"""
    with browser_page(user, port) as page:
        page.goto(elements_url([str(root.uuid)]))
        wait_until_shown_equals_database(page, str(root.uuid))
        assert shown(page)[failed]["state"] == "failed"
        errors = page.locator("task-progress").evaluate(script)
        assert [uuid for uuid, _ in errors] == [failed], errors
        assert "Out of paper" in errors[0][1], errors
        # Collapsed, the chain shows it instead, still once.
        page.locator(f'task-progress li.node[data-uuid="{root.uuid}"] > .row > .toggle').click()
        wait_for(
            page,
            lambda: [uuid for uuid, _ in page.locator("task-progress").evaluate(script)] == [str(root.uuid)],
            "the collapsed chain does not show its error once",
        )


def test_running_node_at_100_percent_never_shows_0_sec_left(celery_worker: Any, port: int) -> None:
    from django.contrib.auth.models import User

    from realtime_tasks.models import UserTaskStatus
    from tests.tasks import step

    user = User.objects.create_user("ada")

    def publish() -> str:
        task_id = step.delay(user_id=user.pk, steps=10, pause=0.1, hold=3).id
        return str(UserTaskStatus.objects.get(task_id=task_id).uuid)

    samples = sampled_until_finished(user, port, publish)
    assert not [sample for sample in samples if "0 sec" in sample["rate"]], samples
    full_and_running = [s for s in samples if s["state"] == "running" and counts_of(s["counts"])[2] == 100]
    assert full_and_running, samples  # the hold: 3 s at 100% while running
    assert {sample["rate"] for sample in full_and_running} == {""}, full_and_running


def luminance(color: str) -> float:
    """The relative luminance (WCAG 2) of a computed ``rgb(...)`` colour."""
    channels = [float(part) / 255 for part in color[color.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("scheme", "preferred"), [("light", "dark"), ("dark", "light")])
def test_element_follows_the_page_scheme_not_the_browser_preference(
    celery_worker: Any, port: int, scheme: str, preferred: str
) -> None:
    from django.contrib.auth.models import User

    from realtime_tasks.testing import root_of
    from tests.tasks import step

    user = User.objects.create_user("ada")
    root = str(root_of(step.delay(user_id=user.pk, steps=2)).uuid)
    script = """(element) => {
      const card = element.shadowRoot.querySelector(".trees > li.node");
      const style = (selector) => getComputedStyle(card.querySelector(selector)).color;
      return {
        background: getComputedStyle(card).backgroundColor,
        page: getComputedStyle(document.body).backgroundColor,
        name: style(":scope > .row > .name"),
        counts: style(":scope > .row > .counts"),
        state: style(":scope > .row > .state"),
      };
    }"""
    with browser_page(user, port, color_scheme=preferred) as page:
        page.goto(elements_url([root], scheme=scheme))
        assert page.evaluate("(q) => matchMedia(q).matches", f"(prefers-color-scheme: {preferred})")
        wait_until_shown_equals_database(page, root)
        assert page.get_attribute("task-progress", "theme") == scheme
        colors = page.locator("task-progress").evaluate(script)
        # The card is light on a light page, dark on a dark one, and its text reads on it (WCAG AA).
        assert (luminance(colors["background"]) > 0.5) == (scheme == "light"), colors
        for text in ("name", "counts", "state"):
            assert contrast(colors[text], colors["background"]) >= 4.5, (text, colors)
