import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { define } from "../index.js";
import { $, $$, FakeSocket, TaskProgressElement, frame, mount, node, part, rec, snapshot, status } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  document.body.replaceChildren();
  document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
  FakeSocket.all = [];
  vi.useRealTimers();
});

/** A group of `size` tasks, the first `failed` of them failed. @param {number} size @param {number} [failed] */
function group(size, failed = 0) {
  return [
    rec({ uuid: "g", kind: "group", name: "Thumbnails", total_steps: size }),
    ...Array.from({ length: size }, (_, i) =>
      rec({ uuid: `t${i}`, root: "g", parent: "g", position: i, state: i < failed ? "Failed" : "In Progress" }),
    ),
  ];
}

/** @param {import("./helpers.js").TaskRecord[]} records @param {Record<string, string>} [attributes] */
function showing(records, attributes = { src: "/ws/tasks/" }) {
  const el = mount(attributes);
  FakeSocket.last.receive({ type: "snapshot", trees: [{ root: records[0].root, records }] });
  frame();
  return el;
}

describe("a large group", () => {
  it("is a summary of counts per state, which expands and folds again", () => {
    const el = showing(group(60, 5));
    expect($$(el, ".node")).toHaveLength(1);
    const summary = part(node(el, "g"), "children").querySelector(".summary");
    expect(summary?.hasAttribute("hidden")).toBe(false);
    expect($$(el, ".summary-count").map((item) => [item.getAttribute("state"), item.textContent])).toEqual([
      ["running", "◐55 In Progress"],
      ["failed", "✕5 Failed"],
    ]);
    // One bar, segmented by state, in proportion.
    const segments = $$(el, ".segment").map((s) => [s.getAttribute("state"), s.style.getPropertyValue("--share")]);
    expect(segments.map(([state, share]) => [state, Number.parseFloat(share ?? "").toFixed(1)])).toEqual([
      ["running", "91.7"],
      ["failed", "8.3"],
    ]);
    expect($(el, ".segments").getAttribute("aria-label")).toBe("Members by state: 55 In Progress, 5 Failed");
    const expand = $(el, ".expand");
    expect(expand.textContent).toBe("Show all 60");
    expect(expand.getAttribute("aria-expanded")).toBe("false");
    expand.focus();
    expand.click();
    expect($$(el, ".node")).toHaveLength(61);
    const fold = $(el, ".expand");
    expect(fold.textContent).toBe("Show summary");
    expect(fold.getAttribute("aria-expanded")).toBe("true");
    // The redrawn button keeps the keyboard focus.
    expect(el.shadowRoot?.activeElement).toBe(fold);
    fold.click();
    expect($$(el, ".node")).toHaveLength(1);
  });

  it("counts again as its children change", () => {
    const el = showing(group(60));
    const member = rec({ uuid: "t1", root: "g", parent: "g", position: 1, state: "Succeeded", version: 2 });
    FakeSocket.last.receive(status(member));
    frame();
    expect($$(el, ".summary-count").map((item) => item.textContent)).toEqual(["✓1 Succeeded", "◐59 In Progress"]);
  });

  it("follows summary-threshold", () => {
    const el = showing(group(60), { src: "/ws/tasks/", "summary-threshold": "100" });
    expect($$(el, ".node")).toHaveLength(61);
    el.summaryThreshold = 10;
    frame();
    expect($$(el, ".node")).toHaveLength(1);
  });

  it("of 10,000 tasks draws a handful of elements", () => {
    const el = showing(group(10000, 10));
    expect($$(el, ".node")).toHaveLength(1);
    expect(el.shadowRoot?.querySelectorAll("*").length).toBeLessThan(40);
    expect($(el, ".expand").textContent).toBe(`Show all ${(10000).toLocaleString()}`);
    // A change of one member redraws the counts, not the members.
    const member = rec({ uuid: "t20", root: "g", parent: "g", position: 20, state: "Succeeded", version: 2 });
    FakeSocket.last.receive(status(member));
    frame();
    expect($$(el, ".summary-count").map((item) => item.textContent)).toEqual([
      "✓1 Succeeded",
      `◐${(9989).toLocaleString()} In Progress`,
      `✕10 Failed`,
    ]);
    expect($$(el, ".node")).toHaveLength(1);
  });
});

describe("cancel", () => {
  const attributes = { src: "/ws/tasks/", api: "/tasks/", cancelable: "", "csrf-token": "token-1" };
  const running = rec({ uuid: "c", kind: "chain" });
  const done = rec({ uuid: "d", state: "Succeeded" });

  it("is offered on running roots only", () => {
    const el = mount(attributes);
    FakeSocket.last.receive(snapshot(running, done));
    frame();
    expect(part(node(el, "c"), "cancel").hidden).toBe(false);
    expect(part(node(el, "d"), "cancel").hidden).toBe(true);
  });

  it("is not offered without cancelable", () => {
    const el = showing([running], { src: "/ws/tasks/", api: "/tasks/" });
    expect(part(node(el, "c"), "cancel").hidden).toBe(true);
  });

  it("posts with the CSRF token and shows the answer", async () => {
    const el = showing([running], attributes);
    const failed = vi.fn();
    el.addEventListener("task-progress:failed", failed);
    const canceled = { ...running, state: "Canceled", state_text: "Canceled", version: 2 };
    vi.mocked(el.fetchJSON).mockResolvedValue({ status: 200, body: { root: "c", records: [canceled] } });
    const button = part(node(el, "c"), "cancel");
    button.click();
    const headers = { "X-CSRFToken": "token-1" };
    expect(el.fetchJSON).toHaveBeenCalledWith("/tasks/trees/c/cancel/", { method: "POST", headers });
    await vi.advanceTimersByTimeAsync(20);
    expect(failed).toHaveBeenCalledOnce();
    expect(part(node(el, "c"), "cancel").hidden).toBe(true);
    expect(node(el, "c").getAttribute("state")).toBe("canceled");
  });

  it("takes the token from the csrftoken cookie", () => {
    document.cookie = "csrftoken=from-cookie";
    const el = showing([running], { src: "/ws/tasks/", api: "/tasks/", cancelable: "" });
    part(node(el, "c"), "cancel").click();
    const headers = { "X-CSRFToken": "from-cookie" };
    expect(el.fetchJSON).toHaveBeenCalledWith("/tasks/trees/c/cancel/", { method: "POST", headers });
  });
});

describe("define", () => {
  it("registers the element once and tolerates being called again", () => {
    expect(customElements.get("task-progress")).toBe(TaskProgressElement);
    expect(() => define()).not.toThrow();
    expect(() => TaskProgressElement.define()).not.toThrow();
  });

  it("is what the built file exports", async () => {
    // A path tsc does not follow: the built file is checked by check-build, not by the type checker.
    const built = "../../realtime_tasks/static/realtime_tasks/task-progress.js";
    const module = await import(/* @vite-ignore */ built);
    expect(Object.keys(module).sort()).toEqual(["TaskProgressElement", "define"]);
    expect(module.TaskProgressElement.prototype).toBeInstanceOf(HTMLElement);
    expect(customElements.get("task-progress")).toBe(TaskProgressElement);
  });

  it("takes a tag and a registry", () => {
    const registry = { get: vi.fn(() => undefined), define: vi.fn() };
    define("my-progress", /** @type {any} */ (registry));
    expect(registry.define).toHaveBeenCalledWith("my-progress", TaskProgressElement);
  });
});

describe("attributes", () => {
  it("have defaults and reflect their properties", () => {
    const el = /** @type {TaskProgressElement} */ (document.createElement("task-progress"));
    const values = [el.src, el.api, el.root, el.summaryThreshold, el.pollInterval, el.cancelable];
    expect(values).toEqual(["", "", "", 50, 2000, false]);
    el.src = "/ws/";
    el.api = "/api/";
    el.pollInterval = 500;
    el.cancelable = true;
    el.csrfToken = "t";
    expect(el.getAttribute("src")).toBe("/ws/");
    expect(el.getAttribute("api")).toBe("/api/");
    expect(el.getAttribute("poll-interval")).toBe("500");
    expect(el.hasAttribute("cancelable")).toBe(true);
    expect(el.csrfToken).toBe("t");
  });
});
