// @vitest-environment node
// The store is plain data code: these tests run without any DOM.
import { describe, expect, it } from "vitest";
import { GAP_WAIT, SUBSCRIBE_RETRY, TaskStore } from "../store.js";

/** @typedef {import("../records.js").TaskRecord} TaskRecord */

/**
 * @param {Partial<TaskRecord> & {uuid: string}} fields
 * @returns {TaskRecord}
 */
function rec(fields) {
  return {
    root: fields.uuid,
    parent: null,
    position: 0,
    task_id: `task-${fields.uuid}`,
    kind: "task",
    task_class: "reports.tasks.step",
    name: fields.uuid,
    state: "In Progress",
    state_text: "In Progress",
    completed_steps: 0,
    total_steps: 1,
    attempts: 1,
    version: 1,
    created: "2026-11-23T20:00:00Z",
    modified: "2026-11-23T20:00:00Z",
    started: null,
    finished: null,
    error: null,
    ...fields,
  };
}

/**
 * A store that records what it sends, showing the roots `wants` accepts (every root by default).
 * @param {{wants?: (root: string) => boolean, pinned?: string[]}} [options]
 */
function storeOf({ wants = () => true, pinned = [] } = {}) {
  /** @type {any[]} */
  const sent = [];
  const store = new TaskStore({ send: (message) => sent.push(message), wants, pinned: () => pinned });
  return { store, sent };
}

/** A tree "r" of a chain and two steps, loaded at `sequence`. */
function loaded(sequence = 3) {
  const { store, sent } = storeOf();
  const records = [
    rec({ uuid: "r", kind: "chain" }),
    rec({ uuid: "a", root: "r", parent: "r" }),
    rec({ uuid: "b", root: "r", parent: "r", position: 1 }),
  ];
  store.receive({ type: "snapshot", trees: [{ root: "r", sequence, records }] }, 0);
  return { store, sent };
}

/** @param {number[]} sequences @param {TaskRecord[]} [records] */
const status = (sequences, records = [rec({ uuid: "a", root: "r", parent: "r", version: 1 + sequences[0] })]) => ({
  type: "status",
  root: "r",
  sequences,
  records,
});

describe("versions and children", () => {
  it("keeps the highest version of each record and knows the children", () => {
    const { store } = loaded();
    store.receive(status([4], [rec({ uuid: "a", root: "r", parent: "r", version: 5, completed_steps: 1 })]), 10);
    const older = store.receive(status([5], [rec({ uuid: "a", root: "r", parent: "r", version: 2 })]), 20);
    expect(older.applied).toEqual([]);
    expect(store.records.get("a")?.completed_steps).toBe(1);
    expect(store.sortedChildren("r").map((r) => r.uuid)).toEqual(["a", "b"]);
    expect(store.sortedChildren("").map((r) => r.uuid)).toEqual(["r"]);
  });

  it("reports what changed, and whether it was live", () => {
    const { store } = loaded();
    const changes = store.receive(status([4]), 10);
    expect(changes.applied.map(({ record, old, live }) => [record.uuid, old?.version, live])).toEqual([["a", 1, true]]);
  });
});

describe("gaps", () => {
  it("sees no gap while the sequences come in order", () => {
    const { store, sent } = loaded(3);
    store.receive(status([4]), 10);
    store.receive(status([5, 6]), 20);
    expect(store.hasGap("r")).toBe(false);
    expect(store.trees.get("r")?.loaded).toBe(6);
    expect(store.nextCheck()).toBe(null);
    expect(sent).toEqual([]);
  });

  it("waits for a change that comes out of order from another process", () => {
    const { store, sent } = loaded(3);
    store.receive(status([5]), 100);
    expect(store.hasGap("r")).toBe(true);
    expect(store.nextCheck()).toBe(100 + GAP_WAIT);
    store.receive(status([4]), 900);
    expect(store.hasGap("r")).toBe(false);
    expect(store.nextCheck()).toBe(null);
    store.tick(100 + GAP_WAIT);
    expect(sent).toEqual([]);
  });

  it("accepts the sequences of one message that are not contiguous", () => {
    const { store, sent } = loaded(3);
    store.receive(status([5, 7]), 100);
    expect(store.hasGap("r")).toBe(true);
    store.receive(status([4, 6]), 200);
    expect(store.hasGap("r")).toBe(false);
    expect(store.trees.get("r")?.loaded).toBe(7);
    store.tick(10000);
    expect(sent).toEqual([]);
  });

  it("re-fetches that tree alone when a gap stays open 2 s, and again later if it stays open", () => {
    const { store, sent } = loaded(3);
    store.receive(status([5]), 100);
    store.tick(100 + GAP_WAIT - 1);
    expect(sent).toEqual([]);
    store.tick(100 + GAP_WAIT);
    expect(sent).toEqual([{ type: "subscribe", root: "r" }]);
    store.tick(100 + GAP_WAIT + 1000);
    expect(sent).toHaveLength(1);
    store.tick(100 + GAP_WAIT + SUBSCRIBE_RETRY);
    expect(sent).toEqual([{ type: "subscribe", root: "r" }, { type: "subscribe", root: "r" }]);
    expect(sent.some((message) => message.type === "resync")).toBe(false);
  });

  it("closes the gap with the tree that answers the subscribe, keeping newer records", () => {
    const { store, sent } = loaded(3);
    store.receive(status([5], [rec({ uuid: "b", root: "r", parent: "r", position: 1, version: 9 })]), 100);
    store.tick(100 + GAP_WAIT);
    expect(sent).toEqual([{ type: "subscribe", root: "r" }]);
    const records = [
      rec({ uuid: "r", kind: "chain", version: 4 }),
      rec({ uuid: "a", root: "r", parent: "r", version: 4 }),
      rec({ uuid: "b", root: "r", parent: "r", position: 1, version: 3 }),
    ];
    store.receive({ type: "tree", root: "r", sequence: 4, part: 1, parts: 1, records }, 2500);
    expect(store.hasGap("r")).toBe(false);
    expect(store.trees.get("r")?.loaded).toBe(5);
    expect(store.records.get("a")?.version).toBe(4);
    expect(store.records.get("b")?.version).toBe(9);
    expect(store.subscribing.size).toBe(0);
  });

  it("notices a lost last change from the digest", () => {
    const { store, sent } = loaded(3);
    store.receive({ type: "digest", trees: { r: 3 } }, 100);
    expect(store.hasGap("r")).toBe(false);
    store.receive({ type: "digest", trees: { r: 4 } }, 25000);
    expect(store.hasGap("r")).toBe(true);
    store.tick(25000 + GAP_WAIT);
    expect(sent).toEqual([{ type: "subscribe", root: "r" }]);
  });

  it("subscribes to a tree a digest names that a view should show and the store lacks", () => {
    const { store, sent } = storeOf({ wants: (root) => root === "mine" });
    store.receive({ type: "snapshot", trees: [] }, 0);
    store.receive({ type: "digest", trees: { mine: 2, other: 7 } }, 10);
    expect(sent).toEqual([{ type: "subscribe", root: "mine" }]);
  });

  it("ignores a stale load", () => {
    const { store } = loaded(6);
    store.receive({ type: "tree", root: "r", sequence: 4, part: 1, parts: 1, records: [] }, 10);
    expect(store.trees.get("r")?.loaded).toBe(6);
  });
});

describe("new trees", () => {
  it("takes a tree whose first change it saw whole, without fetching it", () => {
    const { store, sent } = storeOf();
    store.receive({ type: "snapshot", trees: [] }, 0);
    const records = [rec({ uuid: "n", kind: "group" }), rec({ uuid: "m", root: "n", parent: "n" })];
    store.receive({ type: "status", root: "n", sequences: [1], records }, 10);
    expect(sent).toEqual([]);
    expect(store.trees.get("n")?.loaded).toBe(1);
    expect(store.records.has("m")).toBe(true);
  });

  it("fetches a tree whose start it did not see, once", () => {
    const { store, sent } = storeOf();
    store.receive({ type: "snapshot", trees: [] }, 0);
    const child = rec({ uuid: "m", root: "n", parent: "n", version: 3 });
    store.receive({ type: "status", root: "n", sequences: [5], records: [child] }, 10);
    store.receive({ type: "status", root: "n", sequences: [6], records: [{ ...child, version: 4 }] }, 20);
    expect(sent).toEqual([{ type: "subscribe", root: "n" }]);
    store.receive({ type: "tree", root: "n", sequence: 5, part: 1, parts: 1, records: [rec({ uuid: "n" }), child] }, 30);
    expect(store.trees.get("n")?.loaded).toBe(6);
    expect(store.records.get("m")?.version).toBe(4);
  });

  it("ignores a tree no view shows", () => {
    const { store, sent } = storeOf({ wants: () => false });
    store.receive({ type: "snapshot", trees: [] }, 0);
    const changes = store.receive({ type: "status", root: "x", sequences: [4], records: [rec({ uuid: "x" })] }, 10);
    expect(changes.applied).toEqual([]);
    expect(sent).toEqual([]);
  });
});

describe("parts", () => {
  it("loads a large tree once all its parts arrived, and shows records as they come", () => {
    const { store, sent } = storeOf();
    store.receive({ type: "snapshot", trees: [{ root: "g", sequence: 8, records: [], parts: 3 }] }, 0);
    expect(store.trees.get("g")?.loaded).toBe(null);
    const members = Array.from({ length: 5 }, (_, i) => rec({ uuid: `m${i}`, root: "g", parent: "g", position: i }));
    const parts = [[rec({ uuid: "g", kind: "group" }), members[0]], members.slice(1, 3), members.slice(3)];
    // A change during the parts: kept, and the tree is not fetched again.
    store.receive({ type: "status", root: "g", sequences: [9], records: [{ ...members[0], version: 2 }] }, 5);
    parts.forEach((records, i) => {
      expect(store.trees.get("g")?.loaded).toBe(null);
      store.receive({ type: "tree", root: "g", sequence: 8, part: i + 1, parts: 3, records }, 10 + i);
    });
    expect(store.trees.get("g")?.loaded).toBe(9);
    expect(store.children.get("g")?.size).toBe(5);
    expect(store.records.get("m0")?.version).toBe(2);
    expect(sent).toEqual([]);
  });

  it("starts over when the parts of a newer load arrive", () => {
    const { store } = storeOf();
    store.receive({ type: "tree", root: "g", sequence: 8, part: 1, parts: 2, records: [rec({ uuid: "g" })] }, 0);
    store.receive({ type: "tree", root: "g", sequence: 9, part: 1, parts: 2, records: [] }, 1);
    expect(store.trees.get("g")?.loaded).toBe(null);
    store.receive({ type: "tree", root: "g", sequence: 9, part: 2, parts: 2, records: [] }, 2);
    expect(store.trees.get("g")?.loaded).toBe(9);
  });
});

describe("truncated, unsubscribed, not found, snapshots", () => {
  it("fetches a tree whose status was truncated, keeping its root record", () => {
    const { store, sent } = loaded(3);
    const root = rec({ uuid: "r", kind: "chain", version: 7, completed_steps: 1, total_steps: 2 });
    store.receive({ type: "status", root: "r", sequences: [4, 5], truncated: true, records: [root] }, 10);
    expect(store.records.get("r")?.version).toBe(7);
    expect(sent).toEqual([{ type: "subscribe", root: "r" }]);
    expect(store.trees.get("r")?.heard).toBe(5);
  });

  it("drops a tree the server no longer shows", () => {
    const { store } = loaded(3);
    const changes = store.receive({ type: "unsubscribed", root: "r", reason: "forbidden" }, 10);
    expect(changes.removed.map((record) => record.uuid).sort()).toEqual(["a", "b", "r"]);
    expect(store.records.size).toBe(0);
    expect(store.children.get("")?.size).toBe(0);
    expect(store.trees.has("r")).toBe(false);
  });

  it("tells which subscribe was not found, by the root the answer names", () => {
    const { store, sent } = storeOf();
    store.subscribe("x", 0);
    store.subscribe("y", 0);
    expect(store.receive({ type: "error", code: "not_found", root: "y", message: "?" }, 1).notFound).toEqual(["y"]);
    expect([...store.subscribing.keys()]).toEqual(["x"]);
    // An error naming no root is not an answer it expects: it starts again from a snapshot.
    expect(store.receive({ type: "error", code: "not_found", message: "?" }, 1).notFound).toEqual([]);
    expect(sent.at(-1)).toEqual({ type: "resync" });
  });

  it("replaces the trees with a snapshot's, keeping the pinned ones and fetching those it lacks", () => {
    const { store, sent } = storeOf({ pinned: ["old"] });
    store.receive({ type: "snapshot", trees: [{ root: "a", sequence: 1, records: [rec({ uuid: "a" })] }] }, 0);
    store.receive({ type: "tree", root: "old", sequence: 2, part: 1, parts: 1, records: [rec({ uuid: "old" })] }, 1);
    const changes = store.receive({ type: "snapshot", trees: [{ root: "b", sequence: 1, records: [rec({ uuid: "b" })] }] }, 2);
    expect(changes.removed.map((record) => record.uuid)).toEqual(["a"]);
    expect([...store.records.keys()].sort()).toEqual(["b", "old"]);
    expect(sent).toEqual([{ type: "subscribe", root: "old" }, { type: "subscribe", root: "old" }]);
  });

  it("reads a server without sequences as before", () => {
    const { store, sent } = storeOf();
    store.receive({ type: "snapshot", trees: [{ root: "c", records: [rec({ uuid: "c", kind: "chain" })] }] }, 0);
    store.receive({ type: "status", records: [rec({ uuid: "x", root: "c", parent: "missing" })] }, 1);
    expect(sent).toEqual([{ type: "subscribe", root: "c" }]);
    expect(store.nextCheck()).toBe(null);
  });
});
