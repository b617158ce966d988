import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, $$, FakeSocket, frame, mount, node, outline, part, rec, tree } from "./helpers.js";

/** @param {import("./helpers.js").TaskRecord[]} records */
function showing(records, attributes = { src: "/ws/tasks/" }) {
  const el = mount(attributes);
  FakeSocket.last.receive({ type: "snapshot", trees: [{ root: records[0].root, records }] });
  frame();
  return el;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  document.body.replaceChildren();
  FakeSocket.all = [];
  vi.useRealTimers();
});

describe("canvas shapes", () => {
  /** @type {[string, import("./helpers.js").Shape, string[]][]} */
  const shapes = [
    ["a task", ["t", "task"], ["task t"]],
    [
      "a chain",
      ["c", "chain", [["s1", "task"], ["s2", "task"], ["s3", "task"]]],
      ["chain c <ol>", "  task s1", "  task s2", "  task s3"],
    ],
    ["a group", ["g", "group", [["a", "task"], ["b", "task"]]], ["group g <ul>", "  task a", "  task b"]],
    [
      "a chord",
      ["d", "chord", [["h", "group", [["h1", "task"], ["h2", "task"]]], ["body", "task"]]],
      ["chord d <ol>", "  group h <ul>", "    task h1", "    task h2", "  task body"],
    ],
    [
      "a chain of chords of groups",
      [
        "c",
        "chain",
        [
          ["d1", "chord", [["g1", "group", [["x1", "task"], ["x2", "task"]]], ["b1", "task"]]],
          [
            "d2",
            "chord",
            [["g2", "group", [["y1", "chain", [["z1", "task"], ["z2", "task"]]], ["y2", "task"]]], ["b2", "task"]],
          ],
        ],
      ],
      [
        "chain c <ol>",
        "  chord d1 <ol>",
        "    group g1 <ul>",
        "      task x1",
        "      task x2",
        "    task b1",
        "  chord d2 <ol>",
        "    group g2 <ul>",
        "      chain y1 <ol>",
        "        task z1",
        "        task z2",
        "      task y2",
        "    task b2",
      ],
    ],
  ];

  it.each(shapes)("draws %s", (_, shape, expected) => {
    const el = showing(tree(shape));
    expect(outline($(el, ".trees"))).toEqual(expected);
  });

  it.each(shapes)("draws %s whose records arrive in any order", (_, shape, expected) => {
    const el = mount();
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    FakeSocket.last.receive({ type: "status", records: tree(shape).reverse() });
    frame();
    expect(outline($(el, ".trees"))).toEqual(expected);
  });
});

describe("a large tree", () => {
  it("is drawn top first over several frames, each within its budget, and ends complete and in order", () => {
    // Each call of the clock takes a millisecond: a frame's budget of 8 ms draws a few nodes only.
    let clock = 0;
    vi.spyOn(performance, "now").mockImplementation(() => (clock += 1));
    /** @type {import("./helpers.js").Shape[]} */
    const members = Array.from({ length: 40 }, (_, i) => [`m${i}`, "task"]);
    const records = tree(["c", "chain", [["g", "group", members], ["s", "task"]]]);
    const el = showing(records);
    const drawn = () => $$(el, ".node").map((li) => li.dataset.uuid);
    expect(drawn()[0]).toBe("c");
    expect(drawn().length).toBeLessThan(records.length);
    for (let frames = 0; frames < 100 && drawn().length < records.length; frames++) frame();
    expect(drawn()).toEqual(["c", "g", ...members.map(([uuid]) => uuid), "s"]);
  });
});

describe("a node", () => {
  it("shows its name, state, counts and percentage, and a container its roll-up", () => {
    const el = showing([
      rec({ uuid: "c", kind: "chain", name: "Prepare report", completed_steps: 3, total_steps: 10 }),
      rec({ uuid: "s", root: "c", parent: "c", name: "Render", state: "Pending", total_steps: 4 }),
    ]);
    const chain = node(el, "c");
    expect(part(chain, "name").textContent).toBe("Prepare report");
    expect(part(chain, "state").textContent).toBe("In Progress");
    expect(part(chain, "counts").textContent).toBe("3 / 10 · 30%");
    expect(/** @type {HTMLElement} */ (part(chain, "bar").firstElementChild).style.getPropertyValue("--value")).toBe("30%");
    expect(chain.getAttribute("state")).toBe("running");
    expect(node(el, "s").getAttribute("state")).toBe("pending");
    expect(part(node(el, "s"), "counts").textContent).toBe("0 / 4 · 0%");
  });

  it("labels an unnamed container by its kind and size, and a task by its class", () => {
    const el = showing([
      rec({ uuid: "g", kind: "group", name: "" }),
      rec({ uuid: "t", root: "g", parent: "g", name: "", task_class: "reports.tasks.render" }),
      rec({ uuid: "c", root: "g", parent: "g", position: 1, kind: "chain", name: "" }),
      rec({ uuid: "c1", root: "g", parent: "c", name: "one" }),
      rec({ uuid: "c2", root: "g", parent: "c", position: 1, name: "two" }),
      rec({ uuid: "d", root: "g", parent: "g", position: 2, kind: "chord", name: "" }),
      rec({ uuid: "h", root: "g", parent: "d", kind: "group", name: "" }),
      rec({ uuid: "h1", root: "g", parent: "h", name: "h1" }),
      rec({ uuid: "b", root: "g", parent: "d", position: 1, name: "callback" }),
    ]);
    expect(part(node(el, "g"), "name").textContent).toBe("Group · 3 tasks");
    expect(part(node(el, "c"), "name").textContent).toBe("Chain · 2 steps");
    expect(part(node(el, "d"), "name").textContent).toBe("Chord · 1 task, then a callback");
    expect(part(node(el, "h"), "name").textContent).toBe("Group · 1 task");
    expect(part(node(el, "g"), "name").classList.contains("unnamed")).toBe(true);
    expect(part(node(el, "t"), "name").textContent).toBe("reports.tasks.render");
    expect(part(node(el, "t"), "name").classList.contains("unnamed")).toBe(false);
    // A chord's header and body are labelled.
    expect(part(node(el, "h"), "section").textContent).toBe("Header · in parallel");
    expect(part(node(el, "b"), "section").textContent).toBe("Body · when the header is done");
  });

  it("shows a custom state as given, as a running node", () => {
    const el = showing([rec({ uuid: "t", state: "Sending email messages", state_text: "Sending email messages" })]);
    expect(part(node(el, "t"), "state").textContent).toBe("Sending email messages");
    expect(node(el, "t").getAttribute("state")).toBe("running");
  });

  it("uses the translated state text", () => {
    const el = showing([rec({ uuid: "t", state: "Failed", state_text: "Échoué" })]);
    expect(part(node(el, "t"), "state").textContent).toBe("Échoué");
    expect(node(el, "t").getAttribute("state")).toBe("failed");
  });

  it("marks failed, canceled and retrying nodes with distinct icons and text, and shows the error", () => {
    const el = showing([
      rec({ uuid: "g", kind: "group", state: "Failed", error: "Out of paper" }),
      rec({ uuid: "f", root: "g", parent: "g", position: 0, state: "Failed", error: "Out of paper" }),
      rec({ uuid: "x", root: "g", parent: "g", position: 1, state: "Canceled" }),
      rec({ uuid: "r", root: "g", parent: "g", position: 2, state: "Retrying", attempts: 2 }),
      rec({ uuid: "s", root: "g", parent: "g", position: 3, state: "Succeeded", completed_steps: 1 }),
    ]);
    const markers = ["f", "x", "r", "s"].map((uuid) => part(node(el, uuid), "marker").textContent);
    expect(new Set(markers).size).toBe(4);
    expect(["f", "x", "r", "s"].map((uuid) => node(el, uuid).getAttribute("state"))).toEqual([
      "failed",
      "canceled",
      "retrying",
      "succeeded",
    ]);
    expect(node(el, "f").getAttribute("part")).toBe("node failed");
    expect(part(node(el, "f"), "state").getAttribute("part")).toBe("state failed");
    expect(part(node(el, "f"), "bar").firstElementChild?.getAttribute("part")).toBe("fill failed");
    expect(part(node(el, "f"), "error").textContent).toBe("Out of paper");
    expect(part(node(el, "f"), "error").hidden).toBe(false);
    expect(part(node(el, "x"), "error").hidden).toBe(true);
    expect(part(node(el, "r"), "state").textContent).toBe("Retrying (attempt 2)");
  });

  it("shows names and errors as text, never as HTML", () => {
    const evil = "<img src=x onerror=alert(1)>";
    const el = showing([rec({ uuid: "t", name: evil, state: "Failed", error: `<b>${evil}</b>` })]);
    expect(part(node(el, "t"), "name").textContent).toBe(evil);
    expect(part(node(el, "t"), "error").textContent).toBe(`<b>${evil}</b>`);
    expect($$(el, "img, b")).toHaveLength(0);
  });

  it("orders the trees running first, newest first, then the finished ones", () => {
    const el = mount();
    FakeSocket.last.receive({
      type: "snapshot",
      trees: [
        { root: "old", records: [rec({ uuid: "old", state: "Succeeded", created: "2026-01-01T00:00:00Z" })] },
        { root: "new", records: [rec({ uuid: "new", state: "Failed", created: "2026-01-03T00:00:00Z" })] },
        { root: "run1", records: [rec({ uuid: "run1", created: "2026-01-02T00:00:00Z" })] },
        { root: "run2", records: [rec({ uuid: "run2", created: "2026-01-04T00:00:00Z" })] },
      ],
    });
    frame();
    expect($$(el, ".trees > .node").map((li) => li.dataset.uuid)).toEqual(["run2", "run1", "new", "old"]);
  });

  it("says when there is nothing to show", () => {
    const el = mount();
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    frame();
    expect($(el, ".message").hidden).toBe(false);
    expect($(el, ".message").textContent).toBe("No tasks.");
  });
});

describe("accessibility", () => {
  it("gives every bar the progressbar role with its values", () => {
    const el = showing([rec({ uuid: "t", name: "Render", completed_steps: 3, total_steps: 10 })]);
    const bar = part(node(el, "t"), "bar");
    expect(bar.getAttribute("role")).toBe("progressbar");
    expect(bar.getAttribute("aria-valuemin")).toBe("0");
    expect(bar.getAttribute("aria-valuemax")).toBe("100");
    expect(bar.getAttribute("aria-valuenow")).toBe("30");
    expect(bar.getAttribute("aria-valuetext")).toBe("3 of 10 (30%)");
    expect(bar.getAttribute("aria-label")).toBe("Render");
  });

  it("has a polite live region", () => {
    const el = mount();
    const region = $(el, ".announcer");
    expect(region.getAttribute("aria-live")).toBe("polite");
    expect(region.getAttribute("role")).toBe("status");
  });

  it("collapses and expands a container with a button", () => {
    const el = showing(tree(["c", "chain", [["s", "task"]]]));
    const toggle = part(node(el, "c"), "toggle");
    expect(toggle.tagName).toBe("BUTTON");
    expect(toggle.getAttribute("type")).toBe("button");
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(toggle.getAttribute("aria-label")).toBe("Steps of c");
    const body = /** @type {HTMLElement} */ ($(el, `#${toggle.getAttribute("aria-controls")}`));
    toggle.click();
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(body.hidden).toBe(true);
    toggle.click();
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(body.hidden).toBe(false);
  });
});

describe("rate and time left", () => {
  /** @param {number} seconds @param {number} done */
  const at = (seconds, done) => {
    const modified = new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
    return rec({ uuid: "t", total_steps: 10, completed_steps: done, version: seconds + 1, modified });
  };

  it("shows nothing before three samples over a second", () => {
    const el = showing([at(0, 0)]);
    FakeSocket.last.receive({ type: "status", records: [at(2, 2)] });
    frame();
    expect(part(node(el, "t"), "rate").textContent).toBe("");
  });

  it("shows the rate and the time left once it has enough history", () => {
    const el = showing([at(0, 0)]);
    FakeSocket.last.receive({ type: "status", records: [at(1, 1)] });
    FakeSocket.last.receive({ type: "status", records: [at(2, 2)] });
    frame();
    expect(part(node(el, "t"), "rate").textContent).toBe("1.0/s, about 8 sec left");
  });

  it("follows the recent pace", () => {
    const el = showing([at(0, 0)]);
    FakeSocket.last.receive({ type: "status", records: [at(200, 1), at(201, 2)] });
    FakeSocket.last.receive({ type: "status", records: [at(202, 3)] });
    frame();
    expect(part(node(el, "t"), "rate").textContent).toBe("1.0/s, about 7 sec left");
  });

  it("counts a slow pace per minute", () => {
    const el = showing([at(0, 0)]);
    FakeSocket.last.receive({ type: "status", records: [at(20, 1), at(40, 2)] });
    frame();
    expect(part(node(el, "t"), "rate").textContent).toBe("3.0/min, about 2 min 40 sec left");
  });

  it("shows nothing for a finished node", () => {
    const el = showing([at(0, 0)]);
    FakeSocket.last.receive({ type: "status", records: [at(1, 1), at(2, 2)] });
    FakeSocket.last.receive({ type: "status", records: [{ ...at(3, 10), state: "Succeeded" }] });
    frame();
    expect(part(node(el, "t"), "rate").textContent).toBe("");
  });
});
