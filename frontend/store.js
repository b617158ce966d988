// The records a connection holds, and what the protocol's messages do to them: versions, children, rates,
// tree sequences, gap detection and the decisions to re-fetch. Plain data code: no DOM, no timers (the
// caller passes the time and runs `tick` when `nextCheck` says), tested on its own.
import { addSample, progressRate } from "./records.js";

/** @typedef {import("./records.js").TaskRecord} TaskRecord */

/** Milliseconds a gap may stay open before the tree is re-fetched: messages of one tree written by different
 * worker processes may arrive out of order. */
export const GAP_WAIT = 2000;
/** Milliseconds before a `subscribe` that got no answer (or did not close the gap) is sent again. */
export const SUBSCRIBE_RETRY = 10000;

/**
 * What the client knows of one tree's sequence.
 * @typedef {object} TreeState
 * @property {number | null} loaded the sequence of its last full load (or up to which every change has
 *   arrived); null until a load
 * @property {Set<number>} received sequences above `loaded` received in `status` messages
 * @property {number} heard the highest sequence heard of (a `status`, a `digest`, a load)
 * @property {number | null} checkAt when to re-fetch the tree if a gap is still open
 * @property {{sequence: number, parts: number, got: Set<number>} | null} pending the parts of a load
 *   still coming
 */

/**
 * What one message changed, for the views.
 * @typedef {object} Changes
 * @property {{record: TaskRecord, old: TaskRecord | undefined, live: boolean}[]} applied records kept
 *   (new, or at a higher version); `live`: seen as it happened
 * @property {TaskRecord[]} removed records dropped (a tree gone from a snapshot, or unsubscribed)
 * @property {string[]} notFound roots the server does not know (or will not show)
 * @property {boolean} loaded a snapshot (or a poll of every tree) was applied
 */

/** @returns {Changes} */
const noChanges = () => ({ applied: [], removed: [], notFound: [], loaded: false });

/** @param {unknown} value @returns {value is number} */
const isSequence = (value) => Number.isInteger(value);

/** @param {string} a @param {string} b */
const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

const TERMINAL_STATES = new Set(["Succeeded", "Failed", "Canceled"]);

export class TaskStore {
  /** @type {Map<string, TaskRecord>} */ records = new Map();
  /** Children uuids by parent uuid; the roots under "". @type {Map<string, Set<string>>} */
  children = new Map();
  /** The uuids of each tree's records, by root. @type {Map<string, Set<string>>} */
  #members = new Map();
  /** [time, completed steps] of each record's recent versions. @type {Map<string, number[][]>} */
  #samples = new Map();
  /** @type {Map<string, TreeState>} */ trees = new Map();
  /** Roots asked for with `subscribe`, with when, oldest first. @type {Map<string, number>} */
  subscribing = new Map();
  /** Whether a snapshot (or a poll of every tree) has been applied since the last `clear`. */
  hasSnapshot = false;
  #resyncing = false;

  /**
   * @param {object} [hooks]
   * @param {(message: object) => void} [hooks.send] sends a message to the server
   * @param {(root: string) => boolean} [hooks.wants] whether some view shows the tree `root`
   * @param {() => Iterable<string>} [hooks.pinned] the roots views show by name (their `root` attribute)
   */
  constructor({ send = () => {}, wants = () => true, pinned = () => [] } = {}) {
    this.send = send;
    this.wants = wants;
    this.pinned = pinned;
  }

  /**
   * Applies one message of the server.
   * @param {any} message
   * @param {number} [now] milliseconds, as Date.now()
   * @returns {Changes}
   */
  receive(message, now = Date.now()) {
    switch (message?.type) {
      case "snapshot":
        return this.applySnapshot(message.trees, now, true);
      case "tree":
        return this.#applyTree(message, now);
      case "status":
        return this.#applyStatus(message, now);
      case "digest":
        this.#applyDigest(message.trees, now);
        return noChanges();
      case "unsubscribed":
        return this.#drop(message.root);
      case "error":
        return this.#error(message);
      default:
        // "pong", and what a newer server may add.
        return noChanges();
    }
  }

  /**
   * Shows what `trees` hold, and only that (except the trees views ask for by name), keeping records held
   * at a higher version. `socket`: from the WebSocket, so pinned trees it lacks are subscribed to.
   * @param {unknown} trees
   * @param {number} now
   * @param {boolean} socket
   * @returns {Changes}
   */
  applySnapshot(trees, now, socket) {
    const changes = noChanges();
    if (!Array.isArray(trees)) return changes;
    this.hasSnapshot = true;
    changes.loaded = true;
    if (socket) this.#resyncing = false;
    /** @type {Set<string>} */
    const seen = new Set();
    for (const tree of trees) {
      if (typeof tree?.root !== "string") continue;
      seen.add(tree.root);
      const records = Array.isArray(tree.records) ? tree.records : [];
      for (const record of records) this.#apply(record, false, changes);
      if (!isSequence(tree.sequence)) continue;
      const state = this.#tree(tree.root);
      if (tree.parts > 0 && !records.length) {
        // Too large for one message: its records follow in `parts` tree messages.
        state.pending = { sequence: tree.sequence, parts: tree.parts, got: new Set() };
      } else {
        this.#load(state, tree.sequence, now);
      }
    }
    const pinned = new Set(this.pinned());
    for (const root of [...this.#members.keys()]) {
      if (!seen.has(root) && !pinned.has(root)) this.#removeTree(root, changes);
    }
    if (socket) {
      // A tree asked for by name that the snapshot lacks (not the user's own, or too old): fetch it.
      for (const root of pinned) if (!seen.has(root)) this.subscribe(root, now, true);
    }
    return changes;
  }

  /**
   * Applies records that were not pushed (the answer of a cancel, a poll of one tree): by version only.
   * @param {unknown} records
   * @param {boolean} live
   * @returns {Changes}
   */
  applyRecords(records, live) {
    const changes = noChanges();
    if (Array.isArray(records)) for (const record of records) this.#apply(record, live, changes);
    return changes;
  }

  /**
   * Sends `subscribe` for `root` unless it was sent less than SUBSCRIBE_RETRY ago.
   * @param {string} root @param {number} now @param {boolean} [force] send even if one is on its way
   */
  subscribe(root, now, force = false) {
    const sent = this.subscribing.get(root);
    if (!force && sent !== undefined && now - sent < SUBSCRIBE_RETRY) return;
    this.subscribing.delete(root);
    this.subscribing.set(root, now);
    this.send({ type: "subscribe", root });
  }

  /** Sends `resync`, once until the snapshot that answers it. */
  resync() {
    if (this.#resyncing) return;
    this.#resyncing = true;
    this.send({ type: "resync" });
  }

  /**
   * Re-fetches every tree whose gap stayed open GAP_WAIT ms (and again every SUBSCRIBE_RETRY ms while it
   * stays open).
   * @param {number} now
   */
  tick(now) {
    for (const [root, state] of this.trees) {
      if (state.checkAt === null || now < state.checkAt) continue;
      if (!this.hasGap(root)) {
        state.checkAt = null;
        continue;
      }
      state.checkAt = now + SUBSCRIBE_RETRY;
      this.subscribe(root, now);
    }
  }

  /** When `tick` has something to do, or null. @returns {number | null} */
  nextCheck() {
    let next = null;
    for (const { checkAt } of this.trees.values()) if (checkAt !== null && (next === null || checkAt < next)) next = checkAt;
    return next;
  }

  /** Whether tree `root` misses a change it has heard of. @param {string} root */
  hasGap(root) {
    const state = this.trees.get(root);
    if (!state || state.loaded === null) return false;
    for (let s = state.loaded + 1; s <= state.heard; s += 1) if (!state.received.has(s)) return true;
    return false;
  }

  /** Forgets what was on its way on the previous connection: a new one starts with a snapshot. */
  reconnected() {
    this.subscribing.clear();
    this.#resyncing = false;
    for (const state of this.trees.values()) {
      state.pending = null;
      state.checkAt = null;
    }
  }

  /** Forgets everything (logged out). */
  clear() {
    for (const map of [this.records, this.children, this.#members, this.#samples, this.trees, this.subscribing]) {
      map.clear();
    }
    this.hasSnapshot = false;
    this.#resyncing = false;
  }

  /** Steps a second and seconds left of record `uuid`, or null until its history tells. @param {string} uuid */
  rate(uuid) {
    const record = this.records.get(uuid);
    return record ? progressRate(this.#samples.get(uuid) ?? [], record) : null;
  }

  /**
   * The children of `parent` in the order they are shown: the steps of a container by position; the roots
   * ("") running first, then finished, each newest first.
   * @param {string} parent
   * @returns {TaskRecord[]}
   */
  sortedChildren(parent) {
    /** @type {TaskRecord[]} */
    const records = [];
    for (const uuid of this.children.get(parent) ?? []) {
      const record = this.records.get(uuid);
      if (record) records.push(record);
    }
    if (parent === "") {
      const finished = (/** @type {TaskRecord} */ r) => (TERMINAL_STATES.has(r.state) ? 1 : 0);
      records.sort((a, b) => finished(a) - finished(b) || compare(b.created, a.created));
    } else {
      records.sort((a, b) => a.position - b.position || compare(a.created, b.created));
    }
    return records;
  }

  /** @param {string} root @returns {TreeState} */
  #tree(root) {
    let state = this.trees.get(root);
    if (!state) {
      state = { loaded: null, received: new Set(), heard: 0, checkAt: null, pending: null };
      this.trees.set(root, state);
    }
    return state;
  }

  /** A full load of sequence `sequence` has arrived. @param {TreeState} state @param {number} sequence @param {number} now */
  #load(state, sequence, now) {
    if (state.loaded === null || sequence > state.loaded) {
      state.loaded = sequence;
      for (const s of state.received) if (s <= sequence) state.received.delete(s);
    }
    state.heard = Math.max(state.heard, sequence);
    this.#settle(state, now);
  }

  /** Moves `loaded` over the changes received in a row, and opens or closes the gap's wait. @param {TreeState} state @param {number} now */
  #settle(state, now) {
    if (state.loaded === null) return;
    while (state.received.delete(state.loaded + 1)) state.loaded += 1;
    if (state.heard <= state.loaded) state.checkAt = null;
    else if (state.checkAt === null) state.checkAt = now + GAP_WAIT;
  }

  /** @param {any} message @param {number} now */
  #applyTree(message, now) {
    const changes = noChanges();
    const root = message.root;
    if (typeof root !== "string") return changes;
    for (const record of Array.isArray(message.records) ? message.records : []) this.#apply(record, false, changes);
    const parts = Number.isInteger(message.parts) && message.parts > 1 ? message.parts : 1;
    if (!isSequence(message.sequence)) {
      // A server without sequences: the tree is whole.
      this.subscribing.delete(root);
      return changes;
    }
    const state = this.#tree(root);
    if (parts > 1) {
      /** @type {{sequence: number, parts: number, got: Set<number>}} */
      const pending =
        state.pending && state.pending.sequence === message.sequence
          ? state.pending
          : { sequence: message.sequence, parts, got: new Set() };
      state.pending = pending;
      pending.got.add(message.part);
      if (pending.got.size < parts) return changes;
    }
    state.pending = null;
    this.subscribing.delete(root);
    this.#load(state, message.sequence, now);
    return changes;
  }

  /** @param {any} message @param {number} now */
  #applyStatus(message, now) {
    const changes = noChanges();
    const records = Array.isArray(message.records) ? message.records : null;
    if (!records) return changes;
    const sequences = Array.isArray(message.sequences) ? message.sequences.filter(isSequence) : [];
    const root = typeof message.root === "string" ? message.root : records[0]?.root;
    if (typeof root !== "string") return changes;
    const known = this.#members.has(root) || this.trees.has(root);
    if (!known && !this.wants(root)) return changes;
    for (const record of records) this.#apply(record, true, changes);
    if (!sequences.length) {
      // A server without sequences: a record whose parent is unknown says that changes were missed.
      this.#checkParents(records, now);
      return changes;
    }
    const state = this.#tree(root);
    const heard = Math.max(...sequences);
    if (message.truncated) {
      // Only the root record came: the tree itself must be fetched.
      state.heard = Math.max(state.heard, heard);
      this.subscribe(root, now);
      return changes;
    }
    // The first change of a tree (its publication) carries the whole tree: nothing came before it.
    if (state.loaded === null && !state.pending && sequences.includes(1) && !this.subscribing.has(root)) {
      state.loaded = 0;
    }
    for (const s of sequences) if (state.loaded === null || s > state.loaded) state.received.add(s);
    state.heard = Math.max(state.heard, heard);
    if (state.loaded === null) {
      // A tree that was never loaded (older than the snapshot, or its start was missed): fetch it whole.
      if (!state.pending) this.subscribe(root, now);
      return changes;
    }
    this.#settle(state, now);
    this.#checkParents(records, now);
    return changes;
  }

  /** Subscribes to the tree of a record whose parent is not held. @param {any[]} records @param {number} now */
  #checkParents(records, now) {
    for (const record of records) {
      if (!record?.parent || this.records.has(record.parent) || typeof record.root !== "string") continue;
      if (this.trees.get(record.root)?.pending) continue;
      this.subscribe(record.root, now);
    }
  }

  /** @param {unknown} trees @param {number} now */
  #applyDigest(trees, now) {
    if (!trees || typeof trees !== "object") return;
    for (const [root, sequence] of Object.entries(trees)) {
      if (!isSequence(sequence)) continue;
      const state = this.trees.get(root);
      if (!state || (state.loaded === null && !state.pending)) {
        // A tree this page should show but does not hold.
        if (this.wants(root)) this.subscribe(root, now);
        continue;
      }
      state.heard = Math.max(state.heard, sequence);
      this.#settle(state, now);
    }
  }

  /** @param {any} message */
  #error(message) {
    const changes = noChanges();
    const root = message.root;
    if (message.code !== "not_found" || typeof root !== "string") {
      // An answer we did not expect: start again from a snapshot.
      this.resync();
      return changes;
    }
    this.subscribing.delete(root);
    if (!this.#members.has(root)) this.trees.delete(root);
    changes.notFound.push(root);
    return changes;
  }

  /** @param {unknown} root */
  #drop(root) {
    const changes = noChanges();
    if (typeof root !== "string") return changes;
    this.#removeTree(root, changes);
    this.subscribing.delete(root);
    return changes;
  }

  /**
   * Keeps `record` if it is newer than the one held.
   * @param {any} record
   * @param {boolean} live
   * @param {Changes} changes
   */
  #apply(record, live, changes) {
    if (!record || typeof record.uuid !== "string" || typeof record.root !== "string") return;
    const old = this.records.get(record.uuid);
    if (old && !(record.version > old.version)) return;
    this.records.set(record.uuid, record);
    this.#samples.set(record.uuid, addSample(this.#samples.get(record.uuid) ?? [], record));
    if (!old) {
      const parent = record.parent ?? "";
      const siblings = this.children.get(parent) ?? new Set();
      this.children.set(parent, siblings.add(record.uuid));
      const members = this.#members.get(record.root) ?? new Set();
      this.#members.set(record.root, members.add(record.uuid));
    }
    changes.applied.push({ record, old, live });
  }

  /** @param {string} root @param {Changes} changes */
  #removeTree(root, changes) {
    for (const uuid of this.#members.get(root) ?? []) {
      const record = this.records.get(uuid);
      if (!record) continue;
      this.records.delete(uuid);
      this.#samples.delete(uuid);
      this.children.get(record.parent ?? "")?.delete(uuid);
      this.children.delete(uuid);
      changes.removed.push(record);
    }
    this.#members.delete(root);
    this.trees.delete(root);
  }
}
