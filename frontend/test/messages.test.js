import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, $$, FakeSocket, frame, mount, node, part, rec, snapshot, status, tree } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  document.body.replaceChildren();
  FakeSocket.all = [];
  vi.useRealTimers();
});

/** @param {import("./helpers.js").TaskProgressElement} el @param {string} name */
function listen(el, name) {
  /** @type {CustomEvent[]} */
  const events = [];
  document.addEventListener(`task-progress:${name}`, (event) => events.push(/** @type {CustomEvent} */ (event)));
  return events;
}

describe("versions", () => {
  it("keeps the highest version of a record whatever order messages come in", () => {
    const el = mount();
    const socket = FakeSocket.last;
    socket.receive(snapshot(rec({ uuid: "t", version: 1, completed_steps: 0, total_steps: 10 })));
    socket.receive({ type: "status", records: [rec({ uuid: "t", version: 3, completed_steps: 3, total_steps: 10 })] });
    socket.receive({ type: "status", records: [rec({ uuid: "t", version: 2, completed_steps: 2, total_steps: 10 })] });
    frame();
    expect(part(node(el, "t"), "counts").textContent).toBe("3 / 10 · 30%");
  });

  it("ignores a duplicate", () => {
    const el = mount();
    const updates = listen(el, "update");
    const record = rec({ uuid: "t", version: 4, completed_steps: 1, total_steps: 2 });
    FakeSocket.last.receive({ type: "snapshot", trees: [{ root: "t", records: [record] }] });
    FakeSocket.last.receive({ type: "status", records: [{ ...record, completed_steps: 2 }] });
    frame();
    expect(updates).toHaveLength(1);
    expect(part(node(el, "t"), "counts").textContent).toBe("1 / 2 · 50%");
  });

  it("keeps a newer record than a snapshot's, and drops trees the snapshot no longer holds", () => {
    const el = mount();
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [] });
    socket.receive({ type: "status", records: [rec({ uuid: "a", version: 5, completed_steps: 5, total_steps: 10 })] });
    socket.receive({ type: "status", records: [rec({ uuid: "gone" })] });
    socket.receive(snapshot(rec({ uuid: "a", version: 4, completed_steps: 4, total_steps: 10 })));
    frame();
    expect($$(el, ".trees > .node").map((li) => li.dataset.uuid)).toEqual(["a"]);
    expect(part(node(el, "a"), "counts").textContent).toBe("5 / 10 · 50%");
  });

  it("draws at most once a frame", () => {
    const el = mount();
    FakeSocket.last.receive(snapshot(rec({ uuid: "t", total_steps: 10 })));
    frame();
    for (let version = 2; version < 6; version += 1) {
      FakeSocket.last.receive(status(rec({ uuid: "t", version, completed_steps: version, total_steps: 10 })));
    }
    expect(part(node(el, "t"), "counts").textContent).toBe("0 / 10 · 0%");
    frame();
    expect(part(node(el, "t"), "counts").textContent).toBe("5 / 10 · 50%");
  });
});

describe("events", () => {
  it("sends an update with the record, bubbling out of the shadow", () => {
    const el = mount();
    const updates = listen(el, "update");
    const record = rec({ uuid: "t" });
    FakeSocket.last.receive({ type: "snapshot", trees: [{ root: "t", records: [record] }] });
    expect(updates).toHaveLength(1);
    expect(updates[0].detail).toEqual({ record });
    expect(updates[0].bubbles).toBe(true);
    expect(updates[0].composed).toBe(true);
    expect(updates[0].target).toBe(el);
  });

  it("sends finished when a root succeeds, and announces it", () => {
    const el = mount();
    const finished = listen(el, "finished");
    const failed = listen(el, "failed");
    const records = tree(["c", "chain", [["s", "task"]]]);
    FakeSocket.last.receive({ type: "snapshot", trees: [{ root: "c", records }] });
    const step = { ...records[1], state: "Succeeded", version: 2 };
    FakeSocket.last.receive({ type: "status", records: [step] });
    expect(finished).toHaveLength(0);
    const root = { ...records[0], name: "Report <b>", state: "Succeeded", state_text: "Succeeded", version: 2 };
    FakeSocket.last.receive({ type: "status", records: [root] });
    expect(finished.map((event) => event.detail)).toEqual([{ record: root }]);
    expect(failed).toHaveLength(0);
    frame();
    expect($(el, ".announcer").textContent).toBe("Report <b>: finished.");
  });

  it.each([["Failed"], ["Canceled"]])("sends failed when a root ends %s", (state) => {
    const el = mount();
    const failed = listen(el, "failed");
    FakeSocket.last.receive({ type: "snapshot", trees: [{ root: "t", records: [rec({ uuid: "t" })] }] });
    const root = rec({ uuid: "t", state, version: 2, error: state === "Failed" ? "Out of paper" : null });
    FakeSocket.last.receive({ type: "status", records: [root] });
    expect(failed.map((event) => event.detail)).toEqual([{ record: root }]);
    frame();
    expect($(el, ".announcer").textContent).toBe(`Name t: ${state.toLowerCase()}.`);
  });

  it("sends nothing for trees that had finished before the page saw them", () => {
    const el = mount();
    const finished = listen(el, "finished");
    const failed = listen(el, "failed");
    FakeSocket.last.receive({
      type: "snapshot",
      trees: [
        { root: "a", records: [rec({ uuid: "a", state: "Succeeded" })] },
        { root: "b", records: [rec({ uuid: "b", state: "Failed" })] },
      ],
    });
    FakeSocket.last.receive({ type: "status", records: [rec({ uuid: "a", state: "Succeeded", version: 2 })] });
    expect(finished).toHaveLength(0);
    expect(failed).toHaveLength(0);
    expect(el.isConnected).toBe(true);
  });

  it("sends finished for a new tree first seen finished in a status", () => {
    const el = mount();
    const finished = listen(el, "finished");
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    FakeSocket.last.receive({ type: "status", records: [rec({ uuid: "quick", state: "Succeeded" })] });
    expect(finished).toHaveLength(1);
    expect(el.isConnected).toBe(true);
  });
});

describe("one tree", () => {
  it("subscribes after the snapshot and shows only its tree", () => {
    const el = mount({ src: "/ws/tasks/", root: "c" });
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [{ root: "other", records: [rec({ uuid: "other" })] }] });
    expect(socket.sent).toEqual([{ type: "subscribe", root: "c" }]);
    socket.receive({ type: "tree", root: "c", records: tree(["c", "group", [["a", "task"]]]) });
    socket.receive({ type: "status", records: [rec({ uuid: "other2" })] });
    frame();
    expect($$(el, ".node").map((li) => li.dataset.uuid)).toEqual(["c", "a"]);
    expect(socket.sent).toHaveLength(1);
  });

  it("says so when the tree is not found", () => {
    const el = mount({ src: "/ws/tasks/", root: "nope" });
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    FakeSocket.last.receive({ type: "error", code: "not_found", root: "nope", message: "No task tree 'nope' was found." });
    frame();
    expect($(el, ".message").textContent).toBe("This task was not found.");
  });
});

describe("the resync rule", () => {
  it("subscribes to a tree it has not loaded", () => {
    mount();
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [] });
    socket.receive({ type: "status", records: [rec({ uuid: "s", root: "new", parent: "new" })] });
    socket.receive({ type: "status", records: [rec({ uuid: "s2", root: "new", parent: "new" })] });
    expect(socket.sent).toEqual([{ type: "subscribe", root: "new" }]);
  });

  it("re-fetches that tree alone when a record's parent is unknown in a loaded tree", () => {
    mount();
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [{ root: "c", records: [rec({ uuid: "c", kind: "chain" })] }] });
    socket.receive({ type: "status", records: [rec({ uuid: "x", root: "c", parent: "missing" })] });
    socket.receive({ type: "status", records: [rec({ uuid: "y", root: "c", parent: "missing" })] });
    expect(socket.sent).toEqual([{ type: "subscribe", root: "c" }]);
  });

  it("resyncs once after an error it did not expect", () => {
    mount();
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [] });
    socket.receive({ type: "error", code: "bad_message", message: "?" });
    socket.receive({ type: "error", code: "bad_message", message: "?" });
    expect(socket.sent).toEqual([{ type: "resync" }]);
    socket.receive({ type: "snapshot", trees: [] });
    socket.receive({ type: "error", code: "bad_message", message: "?" });
    expect(socket.sent).toEqual([{ type: "resync" }, { type: "resync" }]);
  });

  it("ignores frames that are not JSON and messages it does not know", () => {
    const el = mount();
    FakeSocket.last.onmessage?.({ data: "{not json" });
    FakeSocket.last.receive({ type: "pong", time: 1 });
    FakeSocket.last.receive({ type: "unsubscribed", root: "x" });
    FakeSocket.last.receive({ type: "status", records: "nope" });
    frame();
    expect($$(el, ".node")).toHaveLength(0);
  });
});
