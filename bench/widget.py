"""``python -m bench.widget [--quick]``: the widget in real Chromium (Debian's, through Playwright).

First render of a 1,000-node tree, then frames while 1,000 updates a second arrive; then the time to first
paint of a 10,000-task group. No server: Playwright serves the built module to the page, and a fake socket
plays the server. The group arrives as the server sends it: the messages are made by
``realtime_tasks.serializers`` (a snapshot, then the tree in parts under 1 MB each).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "realtime_tasks" / "static" / "realtime_tasks" / "task-progress.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--disable-sync", "--no-first-run", "--disable-quic"]

PAGE = """<!doctype html><html lang="en"><body><main></main>
<script type="module">
import { TaskProgressElement } from "/task-progress.js";

class FakeSocket { constructor() { window.socket = this; } send() {} close() {} }
TaskProgressElement.prototype.createSocket = () => new FakeSocket();

const record = (uuid, parent, kind, position, completed, version) => ({
  uuid, root: "root", parent, position, task_id: uuid, kind,
  task_class: kind === "task" ? "bench.step" : `celery.${kind}`, name: uuid, state: "In Progress",
  state_text: "In Progress", completed_steps: completed, total_steps: 100, attempts: 1, version,
  created: "2026-11-23T20:00:00+00:00", modified: "2026-11-23T20:00:00+00:00",
  started: "2026-11-23T20:00:00+00:00", finished: null, error: null,
});
const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())));

window.bench = async (groups, members, seconds, perSecond) => {
  const records = [record("root", null, "chain", 0, 0, 1)];
  const leaves = [];
  for (let g = 0; g < groups; g++) {
    records.push(record(`g${g}`, "root", "group", g, 0, 1));
    for (let m = 0; m < members; m++) {
      leaves.push(`g${g}-${m}`);
      records.push(record(`g${g}-${m}`, `g${g}`, "task", m, 0, 1));
    }
  }
  const element = document.createElement("task-progress");
  element.setAttribute("src", "/ws/tasks/");
  document.querySelector("main").append(element);
  await frame();
  const start = performance.now();
  window.socket.onmessage({ data: JSON.stringify({ type: "snapshot", trees: [{ root: "root", records }] }) });
  await frame();
  await frame();
  element.shadowRoot.querySelector("li").getBoundingClientRect();
  const firstRender = performance.now() - start;
  const firstNodes = element.shadowRoot.querySelectorAll("li.node").length;
  // A large tree is drawn over several frames, its top first: until every node is there.
  while (element.shadowRoot.querySelectorAll("li.node").length < records.length) await frame();
  element.shadowRoot.querySelector("li").getBoundingClientRect();
  const complete = performance.now() - start;
  const nodes = element.shadowRoot.querySelectorAll("li.node").length;

  // Updates arrive in batches every 10 ms, as coalesced status messages would.
  let version = 1;
  const batch = perSecond / 100;
  const timer = setInterval(() => {
    version += 1;
    const changed = [];
    for (let i = 0; i < batch; i++) {
      const leaf = leaves[Math.floor(Math.random() * leaves.length)];
      const [g] = leaf.split("-");
      changed.push(record(leaf, g, "task", Number(leaf.split("-")[1]), version % 100, version));
    }
    window.socket.onmessage({ data: JSON.stringify({ type: "status", records: changed }) });
  }, 10);
  const frames = [];
  let last = await frame();
  const end = last + seconds * 1000;
  while (last < end) {
    const now = await frame();
    frames.push(now - last);
    last = now;
  }
  clearInterval(timer);
  return { firstRender, firstNodes, complete, nodes, frames };
};
// The time from the first message of a large group to the first frame that paints its summary.
window.firstPaint = async (messages) => {
  const element = document.createElement("task-progress");
  element.setAttribute("src", "/ws/tasks/");
  document.querySelector("main").append(element);
  await frame();
  const root = JSON.parse(messages[0]).trees[0].root;
  const summary = `li.node[data-uuid="${root}"] > .children > .summary:not([hidden])`;
  const drawn = () => element.shadowRoot.querySelector(summary);
  const start = performance.now();
  // Each message in a task of its own, as frames off the socket arrive.
  for (const data of messages) setTimeout(() => window.socket.onmessage({ data }));
  while (!drawn()) await frame();
  drawn().getBoundingClientRect();
  await frame();
  return { firstPaint: performance.now() - start, text: drawn().textContent };
};
window.ready = true;
</script></body></html>"""


def group_messages(members: int) -> list[str]:
    """The server's messages for a new page whose user has one group of ``members`` pending tasks."""
    import django
    from django.conf import settings

    if not settings.configured:
        apps = ["django.contrib.contenttypes", "django.contrib.auth", "realtime_tasks"]
        settings.configure(INSTALLED_APPS=apps, USE_TZ=True)
        django.setup()
    from django.utils.timezone import now

    from realtime_tasks.models import UserTaskStatus
    from realtime_tasks.serializers import serialize, snapshot_messages

    created = now()
    top = uuid.uuid4()
    group = UserTaskStatus(
        uuid=top,
        root_id=top,
        path="",
        task_id=str(top),
        task_class=UserTaskStatus.GROUP,
        is_container=True,
        total_steps=members,
        created=created,
        modified=created,
    )
    leaves = [
        UserTaskStatus(
            root_id=top,
            path=f"{top.hex}/",
            position=position,
            task_id=str(uuid.uuid4()),
            task_class="tests.step",
            name="tests.step",
            total_steps=1,
            created=created,
            modified=created,
        )
        for position in range(members)
    ]
    tree = {"root": str(top), "sequence": 1, "records": [serialize(record) for record in [group, *leaves]]}
    return [json.dumps(message, separators=(",", ":")) for message in snapshot_messages([tree])]


def run(quick: bool = False) -> dict[str, Any]:
    """Measure once; quick mode uses a small tree, one second and a group of 1,000."""
    from playwright.sync_api import sync_playwright

    groups, members, seconds = (4, 24, 1) if quick else (20, 49, 5)
    members_of_group = 1_000 if quick else 10_000
    big = group_messages(members_of_group)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.route("http://bench.invalid/", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
        page.route(
            "http://bench.invalid/task-progress.js",
            lambda route: route.fulfill(body=BUILT.read_text(), content_type="text/javascript"),
        )
        page.goto("http://bench.invalid/")
        page.wait_for_function("window.ready === true")
        result = page.evaluate("([g, m, s, r]) => window.bench(g, m, s, r)", [groups, members, seconds, 1000])
        # A fresh page: the group is the only thing in it.
        page.goto("http://bench.invalid/")
        page.wait_for_function("window.ready === true")
        paint = page.evaluate("(messages) => window.firstPaint(messages)", big)
        browser.close()
    frames = sorted(result["frames"])
    return {
        "nodes": result["nodes"],
        "first_render_ms": round(result["firstRender"], 1),
        "first_render_nodes": result["firstNodes"],
        "complete_ms": round(result["complete"], 1),
        "frame_ms_p50": round(statistics.median(frames), 1),
        "frame_ms_p99": round(frames[int(len(frames) * 0.99) - 1], 1),
        "frame_ms_max": round(frames[-1], 1),
        "frames_over_16_7_ms": sum(1 for frame in frames if frame > 1000 / 60 * 1.5),
        "frames": len(frames),
        "group_members": members_of_group,
        "group_messages": len(big),
        "group_largest_message_bytes": max(len(message.encode()) for message in big),
        "group_bytes": sum(len(message.encode()) for message in big),
        "group_first_paint_ms": round(paint["firstPaint"], 1),
        "group_summary": paint["text"],
    }


def main(quick: bool = False) -> None:
    figures = run(quick)
    print(f"widget in Chromium: {figures['nodes']} nodes")
    print(
        f"  first render: {figures['first_render_ms']} ms, {figures['first_render_nodes']} nodes on screen "
        f"(goal < 100 ms); whole tree drawn: {figures['complete_ms']} ms"
    )
    print(
        f"  frames at 1,000 updates/s: p50 {figures['frame_ms_p50']} ms, p99 {figures['frame_ms_p99']} ms, "
        f"max {figures['frame_ms_max']} ms; {figures['frames_over_16_7_ms']} of {figures['frames']} frames "
        "took over 1.5 frame (goal: frames within 16 ms)"
    )
    print(
        f"  a group of {figures['group_members']:,} tasks, in {figures['group_messages']} messages "
        f"({figures['group_bytes']:,} bytes, the largest {figures['group_largest_message_bytes']:,}): "
        f"first paint of its summary {figures['group_first_paint_ms']} ms after its first message"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
