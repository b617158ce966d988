"""The demo page and the admin's pages in real Chromium: live parts, no reload, light and dark, accessibility,
keyboard; and the README's screenshots (docs/screenshot-*.png with ``make screenshots``), taken of the demo
with a finished nested canvas.

Each test here would catch again a defect that issue 13 lists for the demo or the admin.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright")
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.test_browser import (
    CHROMIUM,
    FLAGS,
    MISSING,
    log_in_to_demo,
    newest_root,
    shown,
    wait_until_shown_equals_database,
)

ROOT = Path(__file__).resolve().parent.parent
# The screenshots land in test-artifacts/; `make screenshots` writes them to docs/ (the README's), so that an
# ordinary test run leaves the tree as it was.
SCREENSHOTS = ROOT / ("docs" if os.environ.get("REALTIME_TASKS_UPDATE_SCREENSHOTS") else "test-artifacts")
CHANGELIST = "/admin/realtime_tasks/usertaskstatus/"
pytestmark = pytest.mark.skipif(MISSING, reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def opened(
    chromium: Browser, demo_server: str, scheme: str = "light", width: int = 1280, height: int = 900
) -> Iterator[Page]:
    """The demo's page, logged in, in a browser context of its own with the system set to ``scheme``. Any
    answer of 400 or more on the way (a missing favicon, say) fails the test."""
    context = chromium.new_context(
        base_url=f"http://{demo_server}",
        viewport={"width": width, "height": height},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    failed: list[str] = []
    context.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page = context.new_page()
    log_in_to_demo(page)
    page.wait_for_selector('task-progress[connection="live"]')
    try:
        yield page
        page.wait_for_load_state("networkidle")
        assert failed == []
    finally:
        context.close()


def start(page: Page, label: str) -> str:
    """Click the demo's button ``label``; the new tree's root once the element shows it."""
    # A click from a script: the browser would scroll the button into view, and the scroll is tested.
    page.get_by_role("button", name=label, exact=True).evaluate("(button) => button.click()")
    # The page says "Starting ..." at the click, and "Started ..." once the canvas is published.
    page.wait_for_selector(f'p[data-started]:text-is("Started: {label}.")')
    root = newest_root(page)
    page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
    return root


@pytest.fixture(scope="module")
def finished(chromium: Browser, demo_server: str) -> dict[str, str]:
    """A finished nested canvas and a failed chain on the demo, started from its page: their roots."""
    with opened(chromium, demo_server) as page:
        roots = {
            "failing": start(page, "A failing task"),
            "nested": start(page, "A chain of chords of groups"),
        }
        for root in roots.values():
            wait_until_shown_equals_database(page, root)
    return roots


def settled(page: Page, roots: dict[str, str]) -> None:
    for root in roots.values():
        page.wait_for_selector(f'task-progress li.node[data-uuid="{root}"]')
        wait_until_shown_equals_database(page, root)
    page.evaluate("document.fonts.ready")


@pytest.mark.parametrize(
    ("scheme", "width", "name"),
    [
        ("light", 1280, "screenshot-light"),
        ("dark", 1280, "screenshot-dark"),
        ("light", 375, "screenshot-narrow"),
    ],
)
def test_screenshots_of_the_demo(
    scheme: str, width: int, name: str, chromium: Browser, demo_server: str, finished: dict[str, str]
) -> None:
    with opened(chromium, demo_server, scheme, width=width, height=800) as page:
        settled(page, finished)
        assert page.get_attribute("task-progress", "theme") == scheme
        # The whole page in the viewport: the element does not lay out what is off screen.
        # Once laid out, nodes may take more room than their placeholders: again until it holds.
        height = 0
        for _ in range(5):
            page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            if page.evaluate("document.documentElement.scrollHeight") <= height:
                break
            height = page.evaluate("document.documentElement.scrollHeight")
            page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def luminance(colour: str) -> float:
    """The relative luminance of a computed ``rgb(...)`` colour."""
    channels = [int(part) / 255 for part in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_demo_page_and_element_take_the_same_scheme(scheme: str, chromium: Browser, demo_server: str) -> None:
    """A dark system once gave light text on a white page."""
    with opened(chromium, demo_server, scheme) as page:
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (luminance(background) < 0.2) == (scheme == "dark")
        assert page.get_attribute("task-progress", "theme") == scheme


def test_a_button_starts_its_canvas_and_the_page_keeps_its_state(
    chromium: Browser, demo_server: str, finished: dict[str, str]
) -> None:
    """The buttons once posted a form and reloaded the page: collapsed trees, "Show all" and the scroll
    position were lost."""
    with opened(chromium, demo_server, height=500) as page:
        settled(page, finished)
        toggle = page.locator(
            f'task-progress li.node[data-uuid="{finished["nested"]}"] > .row > button.toggle'
        )
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "false"
        page.evaluate("window.keptAcrossTheClick = true")
        page.mouse.wheel(0, 120)
        page.wait_for_function("window.scrollY > 0")
        scrolled = page.evaluate("window.scrollY")
        root = start(page, "A group")
        assert page.evaluate("window.keptAcrossTheClick") is True
        assert page.evaluate("window.scrollY") == scrolled
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.locator("p[data-started]").text_content() == "Started: A group."
        wait_until_shown_equals_database(page, root)


def test_admin_tree_page_header_and_records_follow_the_live_stream(
    chromium: Browser, demo_server: str
) -> None:
    """The header and the table were frozen at page load while the element above them moved."""
    with opened(chromium, demo_server) as page:
        root = start(page, "A long task to cancel")
        page.goto(f"{CHANGELIST}{root}/tree/")
        header = page.locator(f'p.rt-header[data-live="{root}"]')
        row = page.locator(f'tr[data-uuid="{root}"]')
        counts = header.locator('[data-field="counts"]')
        first = counts.text_content()
        assert header.locator('[data-field="state_text"]').text_content() in {"Pending", "In Progress"}
        page.wait_for_function(
            "([element, first]) => element.textContent !== first", arg=[counts.element_handle(), first]
        )
        page.locator(f'task-progress li.node[data-uuid="{root}"] > .row > button.cancel').click()
        page.wait_for_function(
            "(element) => element.textContent === 'Canceled'",
            arg=header.locator('[data-field="state_text"]').element_handle(),
        )
        assert row.locator('[data-field="state_text"]').text_content() == "Canceled"
        assert row.locator(".rt-state").get_attribute("data-state") == "canceled"
        assert header.locator("progress").get_attribute("data-state") == "canceled"
        assert header.locator('[data-field="finished-part"]').is_visible()
        assert row.locator('[data-field="finished"]').get_attribute("datetime")
        # A step may still land after the cancel (the task stops at its next one): the page follows it too.
        deadline = time.monotonic() + 10
        while True:
            records = page.request.get(f"/tasks/trees/{root}/").json()["records"]
            done = f"{records[0]['completed_steps']} / {records[0]['total_steps']}"
            seen = (row.locator('[data-field="counts"]').text_content(), counts.text_content())
            if seen == (done, done):
                break
            assert time.monotonic() < deadline, (seen, done)
            time.sleep(0.2)
        assert shown(page)[root]["state"] == "canceled"


def bar_colour(page: Page, root: str) -> str:
    return str(
        page.locator(f'.rt-progress[data-live="{root}"] progress').evaluate(
            "(bar) => getComputedStyle(bar).getPropertyValue('--rt-bar').trim()"
        )
    )


def palette(page: Page) -> dict[str, str]:
    script = """() => Object.fromEntries(["running", "succeeded", "failed", "canceled"].map((state) =>
        [state, getComputedStyle(document.documentElement).getPropertyValue(`--rt-${state}`).trim()]))"""
    return dict(page.evaluate(script))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_changelist_rows_follow_their_trees_coloured_by_state(
    scheme: str, chromium: Browser, demo_server: str, finished: dict[str, str]
) -> None:
    """The changelist was frozen, and its bars blue even for Failed and Canceled."""
    with opened(chromium, demo_server, scheme) as page:
        root = start(page, "A long task to cancel")
        page.goto(CHANGELIST)
        colours = palette(page)
        assert len(set(colours.values())) == 4
        state = page.locator(f'.rt-state[data-live="{root}"]')
        assert state.text_content() in {"Pending", "In Progress"}
        assert bar_colour(page, finished["failing"]) == colours["failed"]
        assert bar_colour(page, finished["nested"]) == colours["succeeded"]
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        answer = page.request.post(f"/tasks/trees/{root}/cancel/", headers={"X-CSRFToken": token})
        assert answer.status == 200
        page.wait_for_function("(element) => element.textContent === 'Canceled'", arg=state.element_handle())
        assert bar_colour(page, root) == colours["canceled"]
        assert page.locator(f'.rt-state[data-live="{root}"]').get_attribute("data-state") == "canceled"


def violations(page: Page) -> list[Any]:
    results = Axe().run(page)
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("where", ["demo", "tree", "changelist"])
def test_pages_have_no_accessibility_violations(
    where: str, scheme: str, chromium: Browser, demo_server: str, finished: dict[str, str]
) -> None:
    with opened(chromium, demo_server, scheme) as page:
        url = {"demo": "/", "tree": f"{CHANGELIST}{finished['nested']}/tree/", "changelist": CHANGELIST}[
            where
        ]
        page.goto(url)
        if where != "changelist":
            settled(page, {"nested": finished["nested"]})
        assert violations(page) == []


# Every control of a page, its own and those in the element's shadow root, that can be seen.
CONTROLS = """() => {
  const all = [];
  const visit = (root) => {
    if (root.shadowRoot) visit(root.shadowRoot);
    for (const el of root.querySelectorAll("a[href], button, input, select, textarea, [tabindex]")) {
      const box = el.getBoundingClientRect();
      if (!el.disabled && el.tabIndex >= 0 && box.width > 0 && box.height > 0) all.push(el);
    }
    for (const host of root.querySelectorAll("*")) if (host.shadowRoot) visit(host.shadowRoot);
  };
  visit(document);
  window.controls = all;
  return all.length;
}"""
# The control that has the focus, down through shadow roots: its index in window.controls, its size, and
# whether a focus ring shows (an outline or a box shadow that differ from its look without focus).
FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== "none";
  const control = el.matches("a[href], button, input, select, textarea");
  return {index: window.controls.indexOf(el), width: box.width, height: box.height, ring, control,
          html: el.outerHTML.slice(0, 120)};
}"""


@pytest.mark.parametrize("where", ["demo", "tree"])
def test_keyboard_reaches_every_control_with_a_focus_ring_and_a_24px_target(
    where: str, chromium: Browser, demo_server: str, finished: dict[str, str]
) -> None:
    with opened(chromium, demo_server) as page:
        if where == "tree":
            page.goto(f"{CHANGELIST}{finished['nested']}/tree/")
            settled(page, {"nested": finished["nested"]})
            # Django's own admin links (breadcrumbs, header) are not this project's: the element's controls.
            scope = "task-progress"
        else:
            settled(page, finished)
            scope = "body"
        total = page.evaluate(
            CONTROLS.replace("visit(document)", f"visit(document.querySelector('{scope}'))")
        )
        assert total > 3
        page.evaluate("document.activeElement && document.activeElement.blur()")
        reached: dict[int, dict[str, Any]] = {}
        for _ in range(400 if where == "tree" else 200):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused["index"] >= 0:
                reached[focused["index"]] = focused
            if len(reached) == total:
                break
        assert sorted(reached) == list(range(total))
        # A target is what a pointer acts on; a focusable text (a duration, its times on focus) is not.
        small = [
            f["html"] for f in reached.values() if f["control"] and (f["width"] < 24 or f["height"] < 24)
        ]
        assert small == []
        assert [f["html"] for f in reached.values() if not f["ring"]] == []
