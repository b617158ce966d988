// Built from frontend/ by `npm run build`: edit the sources, not this file.

// frontend/records.js
var STATE_KEYS = (
  /** @type {Record<string, string>} */
  {
    Pending: "pending",
    "In Progress": "running",
    Succeeded: "succeeded",
    Failed: "failed",
    Canceled: "canceled",
    Retrying: "retrying"
  }
);
var TERMINAL = /* @__PURE__ */ new Set(["succeeded", "failed", "canceled"]);
var CONTAINERS = /* @__PURE__ */ new Set(["chain", "group", "chord"]);
var MARKERS = (
  /** @type {Record<string, string>} */
  {
    pending: "○",
    running: "◐",
    succeeded: "✓",
    failed: "✕",
    canceled: "⊘",
    retrying: "↻"
  }
);
var stateKey = (state) => STATE_KEYS[state] ?? "running";
var label = (record) => record.name || (record.kind === "task" ? record.task_class : record.kind);
function steps(record) {
  const total = Math.max(0, Number(record.total_steps) || 0);
  const done = Math.min(total, Math.max(0, Number(record.completed_steps) || 0));
  return { done, total };
}
function percent(record) {
  const { done, total } = steps(record);
  if (!(total > 0)) return stateKey(record.state) === "succeeded" ? 100 : 0;
  return Math.min(100, Math.max(0, Math.floor(done * 100 / total)));
}
function duration(seconds, lang, round = Math.ceil) {
  const units = unitsOf(lang);
  const s = round(seconds);
  if (s < 60) return units.second.format(s);
  if (s < 3600) return `${units.minute.format(Math.floor(s / 60))} ${units.second.format(s % 60)}`;
  return `${units.hour.format(Math.floor(s / 3600))} ${units.minute.format(Math.floor(s % 3600 / 60))}`;
}
var UNITS = /* @__PURE__ */ new Map();
function unitsOf(lang) {
  const key = lang ?? "";
  let units = UNITS.get(key);
  if (!units) {
    const format = (unit) => {
      try {
        return new Intl.NumberFormat(lang || void 0, { style: "unit", unit, unitDisplay: "short" });
      } catch {
        return new Intl.NumberFormat(void 0, { style: "unit", unit, unitDisplay: "short" });
      }
    };
    units = { second: format("second"), minute: format("minute"), hour: format("hour") };
    UNITS.set(key, units);
  }
  return units;
}
var RATE_SAMPLES = 3;
var RATE_SPAN = 1e3;
var RATE_KEEP = 20;
var RATE_WINDOW = 12e4;
function addSample(samples, record) {
  const time = Date.parse(record.modified) || Date.now();
  const last = samples[samples.length - 1];
  if (last && time <= last[0]) return samples;
  samples.push([time, record.completed_steps]);
  while (samples.length > RATE_KEEP || time - samples[0][0] > RATE_WINDOW) samples.shift();
  return samples;
}
function progressRate(samples, record) {
  if (samples.length < RATE_SAMPLES) return null;
  const [[t0, c0], [t1, c1]] = [samples[0], samples[samples.length - 1]];
  if (t1 - t0 < RATE_SPAN || c1 <= c0) return null;
  const perSecond = (c1 - c0) * 1e3 / (t1 - t0);
  const { done, total } = steps(record);
  return { perSecond, left: (total - done) / perSecond };
}

// frontend/store.js
var GAP_WAIT = 2e3;
var SUBSCRIBE_RETRY = 1e4;
var noChanges = () => ({ applied: [], removed: [], notFound: [], loaded: false });
var isSequence = (value) => Number.isInteger(value);
var compare = (a, b) => a < b ? -1 : a > b ? 1 : 0;
var TERMINAL_STATES = /* @__PURE__ */ new Set(["Succeeded", "Failed", "Canceled"]);
var TaskStore = class {
  /** @type {Map<string, TaskRecord>} */
  records = /* @__PURE__ */ new Map();
  /** Children uuids by parent uuid; the roots under "". @type {Map<string, Set<string>>} */
  children = /* @__PURE__ */ new Map();
  /** The uuids of each tree's records, by root. @type {Map<string, Set<string>>} */
  #members = /* @__PURE__ */ new Map();
  /** [time, completed steps] of each record's recent versions. @type {Map<string, number[][]>} */
  #samples = /* @__PURE__ */ new Map();
  /** @type {Map<string, TreeState>} */
  trees = /* @__PURE__ */ new Map();
  /** Roots asked for with `subscribe`, with when, oldest first. @type {Map<string, number>} */
  subscribing = /* @__PURE__ */ new Map();
  /** Whether a snapshot (or a poll of every tree) has been applied since the last `clear`. */
  hasSnapshot = false;
  #resyncing = false;
  /**
   * @param {object} [hooks]
   * @param {(message: object) => void} [hooks.send] sends a message to the server
   * @param {(root: string) => boolean} [hooks.wants] whether some view shows the tree `root`
   * @param {() => Iterable<string>} [hooks.pinned] the roots views show by name (their `root` attribute)
   */
  constructor({ send = () => {
  }, wants = () => true, pinned = () => [] } = {}) {
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
    const seen = /* @__PURE__ */ new Set();
    for (const tree of trees) {
      if (typeof tree?.root !== "string") continue;
      seen.add(tree.root);
      const records = Array.isArray(tree.records) ? tree.records : [];
      for (const record of records) this.#apply(record, false, changes);
      if (!isSequence(tree.sequence)) continue;
      const state = this.#tree(tree.root);
      if (tree.parts > 0 && !records.length) {
        state.pending = { sequence: tree.sequence, parts: tree.parts, got: /* @__PURE__ */ new Set() };
      } else {
        this.#load(state, tree.sequence, now);
      }
    }
    const pinned = new Set(this.pinned());
    for (const root of [...this.#members.keys()]) {
      if (!seen.has(root) && !pinned.has(root)) this.#removeTree(root, changes);
    }
    if (socket) {
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
    if (!force && sent !== void 0 && now - sent < SUBSCRIBE_RETRY) return;
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
    const records = [];
    for (const uuid of this.children.get(parent) ?? []) {
      const record = this.records.get(uuid);
      if (record) records.push(record);
    }
    if (parent === "") {
      const finished = (r) => TERMINAL_STATES.has(r.state) ? 1 : 0;
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
      state = { loaded: null, received: /* @__PURE__ */ new Set(), heard: 0, checkAt: null, pending: null };
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
      this.subscribing.delete(root);
      return changes;
    }
    const state = this.#tree(root);
    if (parts > 1) {
      const pending = state.pending && state.pending.sequence === message.sequence ? state.pending : { sequence: message.sequence, parts, got: /* @__PURE__ */ new Set() };
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
      this.#checkParents(records, now);
      return changes;
    }
    const state = this.#tree(root);
    const heard = Math.max(...sequences);
    if (message.truncated) {
      state.heard = Math.max(state.heard, heard);
      this.subscribe(root, now);
      return changes;
    }
    if (state.loaded === null && !state.pending && sequences.includes(1) && !this.subscribing.has(root)) {
      state.loaded = 0;
    }
    for (const s of sequences) if (state.loaded === null || s > state.loaded) state.received.add(s);
    state.heard = Math.max(state.heard, heard);
    if (state.loaded === null) {
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
      if (!state || state.loaded === null && !state.pending) {
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
      const siblings = this.children.get(parent) ?? /* @__PURE__ */ new Set();
      this.children.set(parent, siblings.add(record.uuid));
      const members = this.#members.get(record.root) ?? /* @__PURE__ */ new Set();
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
};

// frontend/connection.js
var CLOSE_NOT_AUTHENTICATED = 4401;
var CLOSE_LAYER_FAILING = 4503;
var FAILURES_BEFORE_POLLING = 3;
var BACKOFF_BASE = 1e3;
var BACKOFF_MAX = 3e4;
var PING_AFTER = 25e3;
var PONG_WAIT = 1e4;
var SEND_LIMIT = 15;
function socketURL(src) {
  const url = new URL(src, location.href);
  if (url.protocol === "http:" || url.protocol === "https:") url.protocol = url.protocol.replace("http", "ws");
  return url.href;
}
var apiBase = (api) => api.endsWith("/") ? api : `${api}/`;
var Connection = class _Connection {
  /** The connections of the page, by endpoint. @type {Map<string, Connection>} */
  static #all = /* @__PURE__ */ new Map();
  /**
   * The connection of `src` (or, without it, the polling of `api`), made on first use.
   * @param {string} src
   * @param {string} api
   * @returns {Connection | null} null without either
   */
  static for(src, api) {
    let key = "";
    try {
      if (src) key = `ws ${socketURL(src)}`;
      else if (api) key = `api ${new URL(apiBase(api), location.href).href}`;
    } catch {
      return null;
    }
    if (!key) return null;
    let connection = _Connection.#all.get(key);
    if (!connection) {
      connection = new _Connection(key, src ? socketURL(src) : "", api);
      _Connection.#all.set(key, connection);
    }
    if (api && !connection.api) connection.api = api;
    return connection;
  }
  /** How many connections the page has (for tests and diagnostics). */
  static get count() {
    return _Connection.#all.size;
  }
  /** @type {Set<Client>} */
  #clients = /* @__PURE__ */ new Set();
  /** @type {ConnectionState} */
  state = "connecting";
  /** Closed with 4401, or the API answered 401: nothing more until every element has left. */
  loggedOut = false;
  /** @type {WebSocket | null} */
  #socket = null;
  #failures = 0;
  #reconnectTimer = 0;
  #heartbeat = 0;
  #checkTimer = 0;
  #polling = false;
  #pollRun = 0;
  #pollTimer = 0;
  /** Messages waiting for the send limit. @type {object[]} */
  #outbox = [];
  /** When the messages of the last second were sent. @type {number[]} */
  #sentAt = [];
  #sendTimer = 0;
  /** @param {string} key @param {string} url the WebSocket URL, or "" to poll only @param {string} api */
  constructor(key, url, api) {
    this.key = key;
    this.url = url;
    this.api = api;
    this.store = new TaskStore({
      send: (message) => this.send(message),
      wants: (root) => [...this.#clients].some((client) => !client.root || client.root === root),
      pinned: () => new Set([...this.#clients].map((client) => client.root).filter(Boolean))
    });
  }
  /** The element whose transport (createSocket, fetchJSON) the connection uses: the first attached. */
  get #host() {
    return this.#clients.values().next().value;
  }
  /** @param {Client} client */
  attach(client) {
    const first = !this.#clients.size;
    const everyTree = !first && [...this.#clients].every((other) => other.root);
    this.#clients.add(client);
    if (first) {
      this.#start();
      return;
    }
    client.connectionChanged(this.state);
    if (this.#polling) this.#pollSoon();
    if (this.state !== "live") return;
    if (!client.root && everyTree) this.store.resync();
    else this.rootChanged(client);
  }
  /** @param {Client} client */
  detach(client) {
    if (!this.#clients.delete(client) || this.#clients.size) return;
    this.#stop();
    _Connection.#all.delete(this.key);
  }
  /** `client` shows another tree now: fetch it if the store lacks it. @param {Client} client */
  rootChanged(client) {
    const root = client.root;
    if (!root) {
      if (this.state === "live") this.store.resync();
      else if (this.#polling) this.#pollSoon();
      return;
    }
    if (this.state === "live" && !this.store.trees.get(root)?.loaded && !this.store.records.has(root)) {
      this.store.subscribe(root, Date.now());
    } else if (this.#polling) {
      this.#pollSoon();
    }
  }
  /** Sends `message` on the socket, at most SEND_LIMIT a second (the rest wait their turn). @param {object} message */
  send(message) {
    if (!this.#socket) return;
    this.#outbox.push(message);
    this.#flush();
  }
  #flush() {
    const socket = this.#socket;
    if (!socket) return;
    const now = Date.now();
    while (this.#sentAt.length && now - this.#sentAt[0] >= 1e3) this.#sentAt.shift();
    while (this.#outbox.length && this.#sentAt.length < SEND_LIMIT) {
      const message = (
        /** @type {object} */
        this.#outbox.shift()
      );
      this.#sentAt.push(now);
      try {
        socket.send(JSON.stringify(message));
      } catch {
      }
    }
    if (this.#outbox.length && !this.#sendTimer) {
      this.#sendTimer = setTimeout(() => {
        this.#sendTimer = 0;
        this.#flush();
      }, this.#sentAt[0] + 1e3 - now);
    }
  }
  /** Forgets what was waiting to be sent on a socket that is gone. */
  #dropOutbox() {
    this.#outbox = [];
    clearTimeout(this.#sendTimer);
    this.#sendTimer = 0;
  }
  /** Tells every element what `changes` did to the store. @param {Changes} changes */
  broadcast(changes) {
    if (!changes.applied.length && !changes.removed.length && !changes.notFound.length && !changes.loaded) return;
    for (const client of this.#clients) client.storeChanged(changes);
  }
  /** @param {ConnectionState} state */
  #setState(state) {
    this.state = state;
    for (const client of this.#clients) client.connectionChanged(state);
  }
  #start() {
    this.#failures = 0;
    if (this.url) this.#connect();
    else if (this.api) this.#startPolling();
    else this.#setState("offline");
  }
  #stop() {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.close(1e3);
    }
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#heartbeat);
    clearTimeout(this.#checkTimer);
    this.#dropOutbox();
    this.#stopPolling();
  }
  #connect() {
    this.#reconnectTimer = 0;
    this.store.reconnected();
    const host = this.#host;
    if (!host) return;
    let socket;
    try {
      socket = host.createSocket(this.url);
    } catch {
      this.#closed(1006);
      return;
    }
    this.#socket = socket;
    if (!this.#polling) this.#setState("connecting");
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#listen(socket);
      this.#receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#closed(event.code);
    };
    this.#listen(socket);
  }
  /** Pings `socket` after a silence, and drops it if the silence goes on. @param {WebSocket} socket */
  #listen(socket) {
    clearTimeout(this.#heartbeat);
    this.#heartbeat = setTimeout(() => {
      this.send({ type: "ping" });
      this.#heartbeat = setTimeout(() => {
        socket.onclose = null;
        socket.close();
        this.#closed(1006);
      }, PONG_WAIT);
    }, PING_AFTER);
  }
  /** @param {unknown} data */
  #receive(data) {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message?.type === "snapshot") {
      this.#failures = 0;
      this.#stopPolling();
      this.#setState("live");
    }
    this.broadcast(this.store.receive(message, Date.now()));
    this.#scheduleCheck();
  }
  /** Runs the store's gap checks when they are due. */
  #scheduleCheck() {
    clearTimeout(this.#checkTimer);
    this.#checkTimer = 0;
    const next = this.store.nextCheck();
    if (next === null || !this.#socket) return;
    this.#checkTimer = setTimeout(() => {
      this.store.tick(Date.now());
      this.#scheduleCheck();
    }, Math.max(0, next - Date.now()));
  }
  /** @param {number} code */
  #closed(code) {
    this.#socket = null;
    this.#dropOutbox();
    clearTimeout(this.#heartbeat);
    clearTimeout(this.#checkTimer);
    if (code === CLOSE_NOT_AUTHENTICATED) {
      this.notAuthenticated();
      return;
    }
    this.#failures += 1;
    if (this.#failures >= FAILURES_BEFORE_POLLING || code === CLOSE_LAYER_FAILING) this.#startPolling();
    const delay = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (this.#failures - 1));
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay / 2 + Math.random() * delay / 2);
    if (this.#polling) return;
    this.#setState(this.#failures >= FAILURES_BEFORE_POLLING ? "offline" : "connecting");
  }
  /** The server says the session is over (close code 4401, or the API's 401). */
  notAuthenticated() {
    this.#stop();
    this.loggedOut = true;
    const removed = [...this.store.records.values()];
    this.store.clear();
    this.#setState("offline");
    this.broadcast({ applied: [], removed, notFound: [], loaded: false });
  }
  #startPolling() {
    if (this.#polling || !this.api) return;
    this.#polling = true;
    this.#setState("polling");
    this.#poll(++this.#pollRun);
  }
  /** Polls again at once, for an element that came or changed its root (once for those of one task). */
  #pollSoon() {
    const run = ++this.#pollRun;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => this.#poll(run), 0);
  }
  #stopPolling() {
    this.#polling = false;
    this.#pollRun += 1;
    clearTimeout(this.#pollTimer);
  }
  /**
   * Reads the API once: every tree if an element shows every tree, then each tree an element names that
   * the answer did not hold.
   * @param {number} run
   */
  async #poll(run) {
    const clients = [...this.#clients];
    const host = clients[0];
    if (!host) return;
    const base = apiBase(this.api);
    try {
      const seen = /* @__PURE__ */ new Set();
      if (clients.some((client) => !client.root)) {
        const { status, body } = await host.fetchJSON(`${base}trees/`);
        if (run !== this.#pollRun) return;
        if (status === 401) return this.notAuthenticated();
        if (status === 200) {
          this.broadcast(this.store.applySnapshot(body?.trees, Date.now(), false));
          for (const tree of body?.trees ?? []) seen.add(tree?.root);
        }
      }
      for (const root of new Set(clients.map((client) => client.root).filter(Boolean))) {
        if (seen.has(root)) continue;
        const { status, body } = await host.fetchJSON(`${base}trees/${encodeURIComponent(root)}/`);
        if (run !== this.#pollRun) return;
        if (status === 401) return this.notAuthenticated();
        if (status === 404) this.broadcast({ applied: [], removed: [], notFound: [root], loaded: false });
        else if (status === 200) this.broadcast(this.store.applyRecords(body?.records, false));
      }
    } catch {
    }
    if (run === this.#pollRun) {
      this.#pollTimer = setTimeout(() => this.#poll(run), Math.min(...clients.map((c) => c.pollInterval)));
    }
  }
};

// frontend/strings.js
var plural = (n, one, other) => n === 1 ? one : other;
var pluriel = (n, one, other) => n < 2 ? one : other;
var en = {
  connection: { connecting: "Connecting…", live: "Live", polling: "Polling", offline: "Offline" },
  loggedOut: "Log in to see your tasks.",
  notFound: "This task was not found.",
  empty: "No tasks.",
  cancel: "Cancel",
  steps: (
    /** @param {string} name */
    (name) => `Steps of ${name}`
  ),
  attempt: (
    /** @param {number} n */
    (n) => `attempt ${n}`
  ),
  showAll: (
    /** @param {string} n */
    (n) => `Show all ${n}`
  ),
  showSummary: "Show summary",
  counts: (
    /** @param {string} done @param {string} total @param {string} pct */
    (done, total, pct) => `${done} / ${total} · ${pct}%`
  ),
  valueText: (
    /** @param {string} done @param {string} total @param {number} pct */
    (done, total, pct) => `${done} of ${total} (${pct}%)`
  ),
  rate: (
    /** @param {string} rate @param {string} left */
    (rate, left) => `${rate}, about ${left} left`
  ),
  perSecond: (
    /** @param {string} n */
    (n) => `${n}/s`
  ),
  perMinute: (
    /** @param {string} n */
    (n) => `${n}/min`
  ),
  finished: (
    /** @param {string} name */
    (name) => `${name}: finished.`
  ),
  failed: (
    /** @param {string} name */
    (name) => `${name}: failed.`
  ),
  canceled: (
    /** @param {string} name */
    (name) => `${name}: canceled.`
  ),
  chain: (
    /** @param {number} n @param {string} shown */
    (n, shown) => `Chain · ${shown} ${plural(n, "step", "steps")}`
  ),
  group: (
    /** @param {number} n @param {string} shown */
    (n, shown) => `Group · ${shown} ${plural(n, "task", "tasks")}`
  ),
  chord: (
    /** @param {number} n @param {string} shown */
    (n, shown) => `Chord · ${shown} ${plural(n, "task", "tasks")}, then a callback`
  ),
  chordHeader: "Header · in parallel",
  chordBody: "Body · when the header is done",
  took: (
    /** @param {string} time */
    (time) => time
  ),
  when: (
    /** @param {string} start @param {string | null} end */
    (start, end) => end ? `Started ${start}, ended ${end}` : `Started ${start}, still running`
  ),
  summary: "Members by state"
};
var fr = {
  connection: { connecting: "Connexion…", live: "En direct", polling: "Actualisation périodique", offline: "Hors ligne" },
  loggedOut: "Connectez-vous pour voir vos tâches.",
  notFound: "Cette tâche est introuvable.",
  empty: "Aucune tâche.",
  cancel: "Annuler",
  steps: (name) => `Étapes de ${name}`,
  attempt: (n) => `tentative ${n}`,
  showAll: (n) => `Tout afficher (${n})`,
  showSummary: "Afficher le résumé",
  counts: (done, total, pct) => `${done} / ${total} · ${pct} %`,
  valueText: (done, total, pct) => `${done} sur ${total} (${pct} %)`,
  rate: (rate, left) => `${rate}, encore ${left} environ`,
  perSecond: (n) => `${n}/s`,
  perMinute: (n) => `${n}/min`,
  finished: (name) => `${name} : terminé.`,
  failed: (name) => `${name} : échec.`,
  canceled: (name) => `${name} : annulé.`,
  chain: (n, shown) => `Chaîne · ${shown} ${pluriel(n, "étape", "étapes")}`,
  group: (n, shown) => `Groupe · ${shown} ${pluriel(n, "tâche", "tâches")}`,
  chord: (n, shown) => `Chord · ${shown} ${pluriel(n, "tâche", "tâches")}, puis un rappel`,
  chordHeader: "En-tête · en parallèle",
  chordBody: "Corps · une fois l’en-tête terminé",
  took: (time) => time,
  when: (start, end) => end ? `Commencé à ${start}, fini à ${end}` : `Commencé à ${start}, en cours`,
  summary: "Membres par état"
};

// frontend/styles.js
var STYLE = `
:host {
  --_bar: var(--task-progress-bar-color, #2563eb);
  --_track: var(--task-progress-track-color, #e5e7eb);
  --_succeeded: var(--task-progress-succeeded-color, #15803d);
  --_failed: var(--task-progress-failed-color, #b91c1c);
  --_canceled: var(--task-progress-canceled-color, #6b7280);
  --_retrying: var(--task-progress-retrying-color, #b45309);
  --_pending: var(--task-progress-pending-color, #9ca3af);
  --_text: var(--task-progress-text-color, #111827);
  --_muted: var(--task-progress-muted-color, #4b5563);
  --_surface: var(--task-progress-surface-color, #ffffff);
  --_raised: var(--task-progress-raised-color, #f9fafb);
  --_border: var(--task-progress-border-color, #d1d5db);
  --_focus: var(--task-progress-focus-color, #2563eb);
  --_button: var(--task-progress-button-background, #ffffff);
  --_button-text: var(--task-progress-button-color, #1f2937);
  --_on-state: #ffffff;
  --_height: var(--task-progress-bar-height, 0.5rem);
  --_radius: var(--task-progress-radius, 0.25rem);
  --_gap: var(--task-progress-gap, 0.5rem);
  display: block;
  color-scheme: light;
  color: var(--_text);
  font: var(--task-progress-font, inherit);
}
:host([theme="dark"]) {
  --_bar: var(--task-progress-bar-color, #60a5fa);
  --_track: var(--task-progress-track-color, #374151);
  --_succeeded: var(--task-progress-succeeded-color, #4ade80);
  --_failed: var(--task-progress-failed-color, #f87171);
  --_canceled: var(--task-progress-canceled-color, #9ca3af);
  --_retrying: var(--task-progress-retrying-color, #fbbf24);
  --_pending: var(--task-progress-pending-color, #6b7280);
  --_text: var(--task-progress-text-color, #f3f4f6);
  --_muted: var(--task-progress-muted-color, #d1d5db);
  --_surface: var(--task-progress-surface-color, #111827);
  --_raised: var(--task-progress-raised-color, #1f2937);
  --_border: var(--task-progress-border-color, #4b5563);
  --_focus: var(--task-progress-focus-color, #93c5fd);
  --_button: var(--task-progress-button-background, #1f2937);
  --_button-text: var(--task-progress-button-color, #f3f4f6);
  --_on-state: #111827;
  color-scheme: dark;
}
:host([hidden]), [hidden] { display: none !important; }
* { box-sizing: border-box; }
ul, ol { list-style: none; margin: 0; padding: 0; }
button { font: inherit; }
:focus-visible { outline: 2px solid var(--_focus); outline-offset: 2px; }

/* The connection: a dot and a word, at the top right. */
.status { display: block; text-align: end; font-size: 0.75em; color: var(--_muted); margin-block-end: 0.25rem; }
.status::before { content: "●" / ""; margin-inline-end: 0.25em; color: var(--_pending); }
:host([connection="live"]) .status::before { color: var(--_succeeded); }
:host([connection="polling"]) .status::before { color: var(--_retrying); }
:host([connection="offline"]) .status::before { color: var(--_failed); }
.message { color: var(--_muted); margin: 0.5rem 0; }

/* Each tree is a card. */
.trees { display: grid; gap: 0.75rem; }
.trees > .node {
  margin: 0; padding: 0.75rem 1rem; border: 1px solid var(--_border); border-radius: 0.5rem;
  background: var(--_surface);
}
.trees > .node > .row > .name { font-size: 1.0625em; }
.trees > .node > .bar { --_height: calc(var(--task-progress-bar-height, 0.5rem) * 1.25); margin-block: 0.375rem; }
.trees > .node > .row > .state {
  padding: 0.0625rem 0.5rem; border-radius: 999px; border: 1px solid currentColor; font-weight: 600;
}

/* A row: its height does not change when the Cancel button goes. */
.node { margin-block: var(--_gap); }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem var(--_gap); min-block-size: 2rem; }
/* The name stays on the first line, beside the toggle and the icon; the rest wraps after it when narrow. */
.name { font-weight: 600; overflow-wrap: anywhere; flex: 0 1 auto; max-inline-size: calc(100% - 4rem); }
.name.unnamed { font-weight: 500; color: var(--_muted); }
.state, .counts, .rate, .duration { font-size: 0.875em; color: var(--_muted); }
.counts, .rate, .duration { font-variant-numeric: tabular-nums; }
.counts { margin-inline-start: auto; }
.duration { border-radius: var(--_radius); }
.duration:empty, .rate:empty { display: none; }
/* Start and end times: a tooltip on hover (title), a line of their own on keyboard focus. */
.when {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
.row:has(.duration:focus-visible) .when {
  position: static; width: auto; height: auto; clip-path: none; flex-basis: 100%;
  font-size: 0.8125em; color: var(--_muted);
}

/* The state icon: a small badge, coloured by state; never the expand chevron's shape. */
.marker {
  display: inline-grid; place-items: center; flex: none; inline-size: 1.25rem; block-size: 1.25rem;
  border-radius: 50%; font-size: 0.75rem; line-height: 1; color: var(--_bar);
  border: 1.5px solid currentColor;
}
.node[state="pending"] > .row > .marker { color: var(--_pending); }
.node[state="succeeded"] > .row > .marker { background: var(--_succeeded); border-color: var(--_succeeded); color: var(--_on-state); }
.node[state="failed"] > .row > .marker { background: var(--_failed); border-color: var(--_failed); color: var(--_on-state); }
.node[state="canceled"] > .row > .marker { color: var(--_canceled); }
.node[state="retrying"] > .row > .marker { color: var(--_retrying); }
.node[state="failed"] > .row > .state { color: var(--_failed); font-weight: 600; }
.node[state="canceled"] > .row > .state { color: var(--_canceled); font-weight: 600; }
.node[state="retrying"] > .row > .state { color: var(--_retrying); font-weight: 600; }
.node[state="succeeded"] > .row > .state { color: var(--_succeeded); }
.trees > .node[state="running"] > .row > .state { color: var(--_bar); }

/* Bars. */
.bar {
  height: var(--_height); margin-block: 0.125rem; overflow: hidden;
  border-radius: var(--_radius); background: var(--_track);
}
.fill { height: 100%; width: var(--value, 0%); background: var(--_bar); transition: width 0.2s; }
.node[state="succeeded"] > .bar > .fill { background: var(--_succeeded); }
.node[state="failed"] > .bar > .fill { background: var(--_failed); }
.node[state="canceled"] > .bar > .fill { background: var(--_canceled); }
.node[state="retrying"] > .bar > .fill { background: var(--_retrying); }

/* The error: once, under the node it belongs to. */
.error {
  margin: 0.25rem 0 0; padding: 0.375rem 0.5rem; border-inline-start: 3px solid var(--_failed);
  border-radius: var(--_radius); color: var(--_failed); background: var(--_raised);
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.875em;
}

/* Buttons: 24 × 24 px at least, styled through custom properties and parts. */
.toggle {
  display: inline-grid; place-items: center; flex: none; inline-size: 1.5rem; block-size: 1.5rem; padding: 0;
  border: none; border-radius: var(--_radius); background: none; color: var(--_muted); cursor: pointer;
}
.toggle:hover { background: var(--_track); color: var(--_text); }
.toggle::before {
  content: ""; inline-size: 0.45rem; block-size: 0.45rem; border: solid currentColor;
  border-width: 0 2px 2px 0; transform: translateY(-2px) rotate(45deg); transition: transform 0.15s;
}
.toggle[aria-expanded="false"]::before { transform: translateX(-2px) rotate(-45deg); }
.cancel, .expand {
  min-block-size: 1.75rem; min-inline-size: 1.5rem; padding: 0.125rem 0.75rem; border-radius: 0.375rem;
  border: 1px solid var(--_border); background: var(--_button); color: var(--_button-text);
  font-size: 0.875em; cursor: pointer;
}
.cancel:hover { border-color: var(--_failed); color: var(--_failed); }
.expand:hover { border-color: var(--_bar); }
.cancel:disabled { opacity: 0.6; cursor: progress; }

/* Children. */
.children { margin-block-start: 0.25rem; }
.children > .list { padding-inline-start: 0.25rem; }

/* A chain: numbered steps on a line. */
ol.chain { counter-reset: step; }
ol.chain > li { counter-increment: step; position: relative; margin-block: 0; padding-block: 0.25rem; padding-inline-start: 2rem; }
ol.chain > li::before {
  content: counter(step); position: absolute; inset-inline-start: 0; inset-block-start: 0.625rem; z-index: 1;
  display: grid; place-items: center; inline-size: 1.375rem; block-size: 1.375rem; border-radius: 50%;
  font-size: 0.75rem; font-variant-numeric: tabular-nums; background: var(--_track); color: var(--_text);
}
/* The step being run stands out; the state itself is the icon's. */
ol.chain > li:is([state="running"], [state="retrying"])::before { box-shadow: 0 0 0 2px var(--_bar); }
ol.chain > li::after {
  content: ""; position: absolute; inset-inline-start: calc(0.6875rem - 1px); inset-block: 0; inline-size: 2px;
  background: var(--_track);
}
ol.chain > li:first-child::after { inset-block-start: 0.625rem; }
ol.chain > li:last-child::after { inset-block-end: auto; block-size: 0.625rem; }
ol.chain > li:only-child::after { display: none; }

/* A group: a compact grid of tiles, side by side. Containers inside take a whole line. */
ul.group {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 12rem), 1fr)); gap: var(--_gap);
}
ul.group > li {
  margin: 0; padding: 0.25rem 0.5rem 0.375rem; border: 1px solid var(--_border); border-radius: 0.375rem;
  background: var(--_raised); min-inline-size: 0;
}
ul.group > li:not([kind="task"]) { grid-column: 1 / -1; }
ul.group > li > .row { min-block-size: 1.75rem; }

/* A chord: its header, then its body, each labelled. */
ol.chord { display: grid; gap: var(--_gap); }
ol.chord > li { margin: 0; padding-inline-start: 0.75rem; border-inline-start: 3px solid var(--_border); }
.section {
  display: block; font-size: 0.75em; font-weight: 600; letter-spacing: 0.02em; color: var(--_muted);
  text-transform: uppercase;
}

/* A large tree: the browser lays out only the nodes on screen (each keeps its size once drawn). */
.list > .node { content-visibility: auto; contain-intrinsic-size: auto 3rem; }

/* A large group: one bar segmented by state, its counts, and a button for every member. */
.summary { display: flex; flex-wrap: wrap; gap: 0.25rem var(--_gap); align-items: center; margin-block: 0.25rem; }
.segments {
  display: flex; flex-basis: 100%; height: var(--_height); overflow: hidden; border-radius: var(--_radius);
  background: var(--_track);
}
.segment { flex: 0 0 var(--share, 0%); background: var(--_bar); }
.segment[state="succeeded"] { background: var(--_succeeded); }
.segment[state="failed"] { background: var(--_failed); }
.segment[state="canceled"] { background: var(--_canceled); }
.segment[state="retrying"] { background: var(--_retrying); }
.segment[state="pending"] { background: var(--_pending); }
.summary-count { display: inline-flex; align-items: center; gap: 0.25rem; font-size: 0.875em; color: var(--_muted); }
.summary-count > .marker { inline-size: 1rem; block-size: 1rem; font-size: 0.625rem; }
.summary-count[state="pending"] > .marker { color: var(--_pending); }
.summary-count[state="succeeded"] > .marker { background: var(--_succeeded); border-color: var(--_succeeded); color: var(--_on-state); }
.summary-count[state="failed"] > .marker { background: var(--_failed); border-color: var(--_failed); color: var(--_on-state); }
.summary-count[state="canceled"] > .marker { color: var(--_canceled); }
.summary-count[state="retrying"] > .marker { color: var(--_retrying); }
.summary > .expand { margin-inline-start: auto; }

.announcer {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
@media (prefers-reduced-motion: no-preference) {
  .node[state="running"] > .row > .marker { animation: turn 2s linear infinite; }
  @keyframes turn { to { transform: rotate(1turn); } }
}
@media (prefers-reduced-motion: reduce) { .fill, .toggle::before { transition: none; } }
@media (forced-colors: active) {
  .fill, .segment { background: Highlight; forced-color-adjust: none; }
  .bar, .segments { border: 1px solid CanvasText; }
}
`;
var sheet = null;
function adoptStyles(root) {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
    }
    root.adoptedStyleSheets = [sheet];
    return;
  }
  const style = document.createElement("style");
  style.textContent = STYLE;
  root.prepend(style);
}

// frontend/theme.js
var watching = /* @__PURE__ */ new Set();
var pageObserver = null;
var darkQuery = null;
var pageChanged = () => {
  for (const el of watching) el.pageChanged();
};
function watchPage(el) {
  watching.add(el);
  if (pageObserver) return;
  pageObserver = new MutationObserver(pageChanged);
  const watched = { attributes: true, attributeFilter: ["class", "style", "lang", "data-theme", "data-color-scheme"] };
  pageObserver.observe(document.documentElement, { ...watched, subtree: false });
  if (document.head) pageObserver.observe(document.head, { childList: true, subtree: true, attributes: true });
  if (document.body) pageObserver.observe(document.body, watched);
  darkQuery = globalThis.matchMedia?.("(prefers-color-scheme: dark)") ?? null;
  darkQuery?.addEventListener?.("change", pageChanged);
}
function unwatchPage(el) {
  watching.delete(el);
  if (watching.size || !pageObserver) return;
  pageObserver.disconnect();
  pageObserver = null;
  darkQuery?.removeEventListener?.("change", pageChanged);
  darkQuery = null;
}
function pageTheme(el) {
  let scheme = "";
  const up = (node) => node.parentElement ?? /** @type {ShadowRoot} */
  (node.getRootNode().host || null);
  for (let node = up(el); node && !scheme; node = up(node)) {
    const value = getComputedStyle(node).getPropertyValue("color-scheme").trim();
    if (value && value !== "normal") scheme = value;
  }
  if (!scheme) scheme = document.querySelector('meta[name="color-scheme"]')?.getAttribute("content") ?? "";
  const words = scheme.toLowerCase().split(/\s+/);
  const dark = words.includes("dark");
  if (!dark) return "light";
  if (!words.includes("light")) return "dark";
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

// frontend/task-progress-element.js
var FRAME_BUDGET = 8;
var SUMMARY_ORDER = ["succeeded", "running", "retrying", "failed", "canceled", "pending"];
function h(tag, name) {
  const el = document.createElement(tag);
  el.className = name;
  el.setAttribute("part", name);
  return el;
}
function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
var FORMATS = /* @__PURE__ */ new Map();
function formatsOf(lang) {
  let formats = FORMATS.get(lang);
  if (!formats) {
    let locale = lang || void 0;
    try {
      new Intl.NumberFormat(locale);
    } catch {
      locale = void 0;
    }
    formats = {
      lang,
      numbers: new Intl.NumberFormat(locale),
      tenths: new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
      time: new Intl.DateTimeFormat(locale, { timeStyle: "medium" }),
      dateTime: new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" })
    };
    FORMATS.set(lang, formats);
  }
  return formats;
}
var TaskProgressElement = class _TaskProgressElement extends HTMLElement {
  /** The word tables by language; add one to translate the element (`fr` ships with it). */
  static locales = (
    /** @type {Record<string, Strings>} */
    { en, fr }
  );
  /** The English words: replacing them still works (it replaces `locales.en`). */
  static get strings() {
    return (
      /** @type {Strings} */
      this.locales.en
    );
  }
  static set strings(value) {
    this.locales = { ...this.locales, en: value };
  }
  static observedAttributes = ["src", "api", "root", "summary-threshold", "cancelable", "lang"];
  /** Registers the element as `tag` in `registry`; does nothing if the tag is already defined. */
  static define(tag = "task-progress", registry = customElements) {
    if (!registry.get(tag)) registry.define(tag, this);
    return this;
  }
  /** @type {Connection | null} */
  #connection = null;
  /** @type {Map<string, View>} */
  #views = /* @__PURE__ */ new Map();
  /** @type {Set<string>} */
  #dirty = /* @__PURE__ */ new Set();
  /** Parents whose children changed. @type {Set<string>} */
  #structure = /* @__PURE__ */ new Set();
  /** @type {Set<string>} */
  #collapsed = /* @__PURE__ */ new Set();
  /** Large groups shown whole instead of as a summary. @type {Set<string>} */
  #expanded = /* @__PURE__ */ new Set();
  /** Nodes whose elapsed time runs. @type {Set<string>} */
  #running = /* @__PURE__ */ new Set();
  /** @type {string[]} */
  #announcements = [];
  #rebuild = true;
  #notFound = false;
  #frame = 0;
  #clock = 0;
  /** When the current frame's drawing should stop (performance.now()). */
  #deadline = 0;
  #started = false;
  #lang = "";
  /** @type {Strings} */
  #strings = en;
  /** @type {Formats} */
  #formats = formatsOf("");
  #shadow = this.attachShadow({ mode: "open" });
  #status = h("span", "status");
  #messageEl = h("p", "message");
  #list = h("ul", "trees");
  #announcer = h("div", "announcer");
  constructor() {
    super();
    adoptStyles(this.#shadow);
    this.#announcer.setAttribute("role", "status");
    this.#announcer.setAttribute("aria-live", "polite");
    this.#messageEl.hidden = true;
    this.#shadow.append(this.#status, this.#messageEl, this.#list, this.#announcer);
    this.#shadow.addEventListener("click", (event) => this.#click(event));
  }
  /** The WebSocket URL, e.g. "/ws/tasks/"; relative URLs are resolved against the page. */
  get src() {
    return this.getAttribute("src") ?? "";
  }
  set src(value) {
    this.setAttribute("src", value);
  }
  /** The prefix of the JSON API, e.g. "/tasks/". */
  get api() {
    return this.getAttribute("api") ?? "";
  }
  set api(value) {
    this.setAttribute("api", value);
  }
  /** The uuid of the one tree to show; without it, every tree of the user. */
  get root() {
    return this.getAttribute("root") ?? "";
  }
  set root(value) {
    this.setAttribute("root", value);
  }
  /** Groups with more children than this are shown as a summary until expanded. */
  get summaryThreshold() {
    const value = Number.parseInt(this.getAttribute("summary-threshold") ?? "", 10);
    return value >= 0 ? value : 50;
  }
  set summaryThreshold(value) {
    this.setAttribute("summary-threshold", String(value));
  }
  /** How often the JSON API is polled while the WebSocket is down, in milliseconds. */
  get pollInterval() {
    const value = Number.parseInt(this.getAttribute("poll-interval") ?? "", 10);
    return value > 0 ? value : 2e3;
  }
  set pollInterval(value) {
    this.setAttribute("poll-interval", String(value));
  }
  get cancelable() {
    return this.hasAttribute("cancelable");
  }
  set cancelable(value) {
    this.toggleAttribute("cancelable", Boolean(value));
  }
  /** The CSRF token for cancel; without it, the `csrftoken` cookie. */
  get csrfToken() {
    const token = this.getAttribute("csrf-token");
    if (token) return token;
    const cookie = document.cookie.split(/;\s*/).find((part) => part.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }
  set csrfToken(value) {
    this.setAttribute("csrf-token", value);
  }
  /** "connecting", "live", "polling" or "offline", reflected as the `connection` attribute. */
  get connection() {
    return (
      /** @type {ConnectionState} */
      this.getAttribute("connection") ?? "offline"
    );
  }
  /** "light" or "dark": the page's colour scheme, reflected as the `theme` attribute. */
  get theme() {
    return this.getAttribute("theme") === "dark" ? "dark" : "light";
  }
  connectedCallback() {
    this.#started = true;
    watchPage(this);
    this.pageChanged();
    this.#rebuild = true;
    this.#schedule();
    this.#attach();
  }
  disconnectedCallback() {
    this.#started = false;
    unwatchPage(this);
    this.#detach();
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    clearTimeout(this.#clock);
    this.#clock = 0;
  }
  /** @param {string} name @param {string | null} oldValue @param {string | null} value */
  attributeChangedCallback(name, oldValue, value) {
    if (oldValue === value || !this.#started) return;
    if (name === "summary-threshold" || name === "cancelable") {
      this.#rebuild = true;
      this.#schedule();
    } else if (name === "lang") {
      this.pageChanged();
    } else if (name === "root") {
      this.#clear();
      this.#connection?.rootChanged(this);
      this.#schedule();
    } else {
      this.#detach();
      this.#clear();
      this.#attach();
    }
  }
  /**
   * Opens the WebSocket; tests override it to return a fake. The shared connection of an endpoint opens its
   * socket through the first element that uses it.
   * @param {string} url
   * @returns {WebSocket}
   */
  createSocket(url) {
    return new WebSocket(url);
  }
  /**
   * Fetches JSON with the session's cookies; tests override it.
   * @param {string} url
   * @param {FetchOptions} [options]
   * @returns {Promise<JSONResponse>}
   */
  async fetchJSON(url, options = {}) {
    const response = await fetch(url, {
      method: options.method ?? "GET",
      credentials: "same-origin",
      headers: { Accept: "application/json", ...options.headers }
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
    }
    return { status: response.status, body };
  }
  /** The page's theme or language may have changed: called by the shared page observer (not an API). */
  pageChanged() {
    setAttr(this, "theme", pageTheme(this));
    const lang = (this.closest("[lang]")?.getAttribute("lang") || document.documentElement.lang || navigator.language || "en").trim();
    if (lang === this.#lang) return;
    this.#lang = lang;
    const locales = _TaskProgressElement.locales;
    const base = lang.toLowerCase().split("-")[0];
    this.#strings = locales[lang] ?? locales[lang.toLowerCase()] ?? locales[base] ?? locales.en ?? en;
    this.#formats = formatsOf(lang);
    this.#rebuild = true;
    if (this.#connection) this.connectionChanged(this.#connection.state);
    this.#schedule();
  }
  // The connection.
  #attach() {
    this.#connection = Connection.for(this.src, this.api);
    if (this.#connection) this.#connection.attach(this);
    else this.connectionChanged("offline");
  }
  #detach() {
    this.#connection?.detach(this);
    this.#connection = null;
  }
  /** The connection's state changed: called by the shared connection (not an API). @param {ConnectionState} state */
  connectionChanged(state) {
    setAttr(this, "connection", state);
    setText(this.#status, this.#strings.connection[state]);
    if (this.#connection?.loggedOut) this.#schedule();
  }
  /**
   * What the shared store changed: this element keeps what concerns its trees. Called by the shared
   * connection (not an API).
   * @param {Changes} changes
   */
  storeChanged(changes) {
    const strings = this.#strings;
    for (const { record, old, live } of changes.applied) {
      if (!this.#shows(record.root)) continue;
      const parent = record.parent ?? "";
      if (!old) this.#structure.add(parent);
      if (record.parent === null) this.#structure.add("");
      this.#dirty.add(record.uuid);
      if (record.parent) this.#dirty.add(record.parent);
      this.#emit("update", record);
      if (record.parent !== null || (old ? old.state === record.state : !live)) continue;
      const key = stateKey(record.state);
      if (key === "succeeded") {
        this.#emit("finished", record);
        this.#announcements.push(strings.finished(this.#label(record)));
      } else if (key === "failed" || key === "canceled") {
        this.#emit("failed", record);
        this.#announcements.push(strings[key](this.#label(record)));
      }
    }
    for (const record of changes.removed) {
      if (!this.#shows(record.root)) continue;
      this.#structure.add(record.parent ?? "");
      this.#views.get(record.uuid)?.el.remove();
      this.#views.delete(record.uuid);
      this.#running.delete(record.uuid);
    }
    if (this.root && changes.notFound.includes(this.root)) this.#notFound = true;
    if (this.root && changes.applied.some(({ record }) => record.root === this.root)) this.#notFound = false;
    this.#schedule();
  }
  /** @param {string} root */
  #shows(root) {
    return !this.root || root === this.root;
  }
  #clear() {
    this.#collapsed.clear();
    this.#expanded.clear();
    this.#running.clear();
    this.#notFound = false;
    this.#rebuild = true;
  }
  /** @param {string} name @param {TaskRecord} record */
  #emit(name, record) {
    const event = new CustomEvent(`task-progress:${name}`, { bubbles: true, composed: true, detail: { record } });
    this.dispatchEvent(event);
  }
  get #store() {
    return this.#connection?.store ?? null;
  }
  /** The name of a record, or for an unnamed container its kind and size ("Chain · 3 steps"). @param {TaskRecord} record */
  #label(record) {
    if (record.name || record.kind === "task" || !CONTAINERS.has(record.kind)) return label(record);
    const strings = this.#strings;
    const children = this.#store?.children.get(record.uuid);
    let count = children?.size ?? 0;
    if (record.kind === "chord") {
      const header = this.#store?.sortedChildren(record.uuid)[0];
      count = header ? this.#store?.children.get(header.uuid)?.size ?? 1 : 0;
    }
    const shown = this.#formats.numbers.format(count);
    if (record.kind === "chain") return strings.chain(count, shown);
    if (record.kind === "group") return strings.group(count, shown);
    return strings.chord(count, shown);
  }
  /** @param {TaskRecord} record */
  #rateText(record) {
    const rate = this.#store?.rate(record.uuid);
    const { done, total } = steps(record);
    if (!rate || done >= total) return "";
    const strings = this.#strings;
    const r = rate.perSecond;
    const { numbers, tenths } = this.#formats;
    let shown = strings.perMinute(tenths.format(r * 60));
    if (r >= 10) shown = strings.perSecond(numbers.format(Math.round(r)));
    else if (r >= 0.1) shown = strings.perSecond(tenths.format(r));
    return strings.rate(shown, duration(Math.max(1, rate.left), this.#lang));
  }
  // Rendering, at most once a frame.
  #schedule() {
    if (!this.#frame && this.#started) this.#frame = requestAnimationFrame(() => this.#flush());
  }
  #flush() {
    this.#frame = 0;
    this.#deadline = performance.now() + FRAME_BUDGET;
    const store = this.#store;
    const structure = this.#rebuild ? /* @__PURE__ */ new Set([""]) : this.#structure;
    const dirty = this.#dirty;
    if (this.#rebuild) {
      this.#views.clear();
      this.#running.clear();
      this.#list.replaceChildren();
      this.#rebuild = false;
    }
    this.#structure = /* @__PURE__ */ new Set();
    this.#dirty = /* @__PURE__ */ new Set();
    for (const parent of structure) {
      if (parent === "") this.#renderChildren("", this.#list, null);
      const view = this.#views.get(parent);
      if (view?.list) this.#renderChildren(parent, view.list, view);
    }
    const summaries = /* @__PURE__ */ new Set();
    for (const uuid of dirty) {
      const record = store?.records.get(uuid);
      const view = this.#views.get(uuid);
      if (record && view) this.#update(view, record);
      const parent = record?.parent && this.#views.get(record.parent);
      if (parent && parent.summary && !parent.summary.hidden) summaries.add(
        /** @type {string} */
        record.parent
      );
    }
    for (const uuid of summaries) this.#renderSummary(uuid);
    this.#renderMessage();
    if (this.#announcements.length) {
      this.#announcer.textContent = this.#announcements.join(" ");
      this.#announcements = [];
    }
    this.#tick();
  }
  #renderMessage() {
    const strings = this.#strings;
    const store = this.#store;
    let message = "";
    if (this.#connection?.loggedOut) message = strings.loggedOut;
    else if (this.#notFound && !store?.records.has(this.root)) message = strings.notFound;
    else if (!this.root && store?.hasSnapshot && !this.#list.childElementCount && !store.children.get("")?.size) {
      message = strings.empty;
    }
    setText(this.#messageEl, message);
    this.#messageEl.hidden = !message;
  }
  /** Redraws the elapsed time of running nodes every second, while there are some. */
  #tick() {
    if (this.#clock || !this.#running.size || !this.#started) return;
    this.#clock = setTimeout(() => {
      this.#clock = 0;
      for (const uuid of this.#running) this.#dirty.add(uuid);
      this.#schedule();
    }, 1e3);
  }
  /** @param {string} parent @returns {string[]} */
  #sortedChildren(parent) {
    const records = this.#store?.sortedChildren(parent) ?? [];
    const shown = parent === "" && this.root ? records.filter((record) => record.uuid === this.root) : records;
    return shown.map((record) => record.uuid);
  }
  /** @param {string} parent @param {HTMLElement} list @param {View | null} view */
  #renderChildren(parent, list, view) {
    const children = this.#sortedChildren(parent);
    if (view?.summary) {
      const large = children.length > this.summaryThreshold;
      view.summary.hidden = !large;
      if (large) this.#renderSummary(parent);
      if (large && !this.#expanded.has(parent)) {
        for (const uuid of children) this.#dropView(uuid);
        list.replaceChildren();
        return;
      }
    }
    const records = this.#store?.records;
    let next = list.firstElementChild;
    for (const uuid of children) {
      let child = this.#views.get(uuid);
      if (!child) {
        if (performance.now() > this.#deadline) {
          this.#structure.add(parent);
          this.#schedule();
          break;
        }
        child = this.#createView(
          /** @type {TaskRecord} */
          records?.get(uuid)
        );
      }
      if (child.el === next) next = next.nextElementSibling;
      else list.insertBefore(child.el, next);
    }
    for (const el of [...list.children]) {
      const uuid = (
        /** @type {HTMLElement} */
        el.dataset.uuid
      );
      if (!uuid || !records?.has(uuid) || this.#views.get(uuid)?.el !== el) {
        el.remove();
        if (uuid && !records?.has(uuid)) this.#dropView(uuid);
      }
    }
  }
  /** @param {string} uuid */
  #dropView(uuid) {
    this.#running.delete(uuid);
    if (!this.#views.delete(uuid)) return;
    for (const child of this.#store?.children.get(uuid) ?? []) this.#dropView(child);
  }
  /** @param {TaskRecord} record @returns {View} */
  #createView(record) {
    const el = h("li", "node");
    el.dataset.uuid = record.uuid;
    const parent = record.parent ? this.#store?.records.get(record.parent) : null;
    if (parent?.kind === "chord") {
      const section = h("span", "section");
      section.textContent = record.position === 0 ? this.#strings.chordHeader : this.#strings.chordBody;
      el.append(section);
    }
    const row = h("div", "row");
    const container = CONTAINERS.has(record.kind);
    const toggle = container ? h("button", "toggle") : null;
    if (toggle) {
      toggle.type = "button";
      toggle.dataset.action = "toggle";
      toggle.setAttribute("aria-controls", `children-${record.uuid}`);
      row.append(toggle);
    }
    const [marker, name, state, counts, took, rate] = ["marker", "name", "state", "counts", "duration", "rate"].map(
      (p) => h("span", p)
    );
    marker.setAttribute("aria-hidden", "true");
    const tookText = document.createElement("span");
    const when = h("span", "when");
    took.append(tookText, when);
    row.append(marker, name, state, counts, took, rate);
    const cancel = record.parent === null ? h("button", "cancel") : null;
    if (cancel) {
      cancel.type = "button";
      cancel.dataset.action = "cancel";
      cancel.textContent = this.#strings.cancel;
      row.append(cancel);
    }
    const bar = h("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    const fill = h("div", "fill");
    bar.append(fill);
    const error = h("p", "error");
    el.append(row, bar, error);
    const body = container ? h("div", "children") : null;
    const summary = record.kind === "group" ? h("div", "summary") : null;
    const list = container ? h(record.kind === "group" ? "ul" : "ol", "list") : null;
    if (body && list) {
      body.id = `children-${record.uuid}`;
      list.classList.add(record.kind);
      if (summary) body.append(summary);
      body.append(list);
      el.append(body);
    }
    if (summary) summary.hidden = true;
    const view = {
      el,
      marker,
      name,
      state,
      counts,
      duration: took,
      took: tookText,
      when,
      rate,
      bar,
      fill,
      error,
      toggle,
      cancel,
      body,
      summary,
      list
    };
    this.#views.set(record.uuid, view);
    this.#update(view, record);
    if (view.list) this.#renderChildren(record.uuid, view.list, view);
    return view;
  }
  /** @param {View} view @param {TaskRecord} record */
  #update(view, record) {
    const strings = this.#strings;
    const { numbers } = this.#formats;
    const key = stateKey(record.state);
    const name = this.#label(record);
    setAttr(view.el, "state", key);
    setAttr(view.el, "kind", record.kind);
    setAttr(view.el, "part", `node ${key}`);
    setAttr(view.state, "part", `state ${key}`);
    setAttr(view.fill, "part", `fill ${key}`);
    setText(view.marker, MARKERS[key]);
    setText(view.name, name);
    view.name.classList.toggle("unnamed", !record.name && record.kind !== "task");
    const stateText = record.state_text || record.state;
    const retried = key === "retrying" && record.attempts > 1;
    setText(view.state, retried ? `${stateText} (${strings.attempt(record.attempts)})` : stateText);
    const pct = percent(record);
    const { done, total } = steps(record);
    const [doneText, totalText] = [numbers.format(done), numbers.format(total)];
    setText(view.counts, strings.counts(doneText, totalText, numbers.format(pct)));
    setText(view.rate, TERMINAL.has(key) ? "" : this.#rateText(record));
    this.#updateDuration(view, record);
    setAttr(view.bar, "aria-label", name);
    setAttr(view.bar, "aria-valuenow", String(pct));
    setAttr(view.bar, "aria-valuetext", strings.valueText(doneText, totalText, pct));
    const width = `${pct}%`;
    if (view.fill.style.getPropertyValue("--value") !== width) view.fill.style.setProperty("--value", width);
    const error = this.#ownError(record);
    setText(view.error, error);
    view.error.hidden = !error;
    if (view.cancel) view.cancel.hidden = !(this.cancelable && this.api && !TERMINAL.has(key));
    if (view.toggle && view.body) {
      const open = !this.#collapsed.has(record.uuid);
      setAttr(view.toggle, "aria-expanded", String(open));
      setAttr(view.toggle, "aria-label", strings.steps(name));
      view.body.hidden = !open;
    }
  }
  /** @param {View} view @param {TaskRecord} record */
  #updateDuration(view, record) {
    const started = record.started ? Date.parse(record.started) : NaN;
    const finished = record.finished ? Date.parse(record.finished) : NaN;
    const running = Number.isFinite(started) && !Number.isFinite(finished) && !TERMINAL.has(stateKey(record.state));
    if (running) this.#running.add(record.uuid);
    else this.#running.delete(record.uuid);
    if (!Number.isFinite(started)) {
      setText(view.took, "");
      setText(view.when, "");
      view.duration.removeAttribute("title");
      view.duration.removeAttribute("tabindex");
      return;
    }
    const end = Number.isFinite(finished) ? finished : Date.now();
    setText(view.took, this.#strings.took(duration(Math.max(0, end - started) / 1e3, this.#lang, Math.floor)));
    const time = (t) => {
      const sameDay = new Date(t).toDateString() === (/* @__PURE__ */ new Date()).toDateString();
      return (sameDay ? this.#formats.time : this.#formats.dateTime).format(t);
    };
    const when = this.#strings.when(time(started), Number.isFinite(finished) ? time(finished) : null);
    setText(view.when, when);
    setAttr(view.duration, "title", when);
    setAttr(view.duration, "tabindex", "0");
  }
  /**
   * The error a node shows: its own, unless one of its drawn children shows the same (a container's error
   * is its failed member's, shown there once).
   * @param {TaskRecord} record
   */
  #ownError(record) {
    const error = record.error ?? "";
    if (!error || !CONTAINERS.has(record.kind) || this.#collapsed.has(record.uuid)) return error;
    const store = this.#store;
    const view = this.#views.get(record.uuid);
    if (view?.summary && !view.summary.hidden && !this.#expanded.has(record.uuid)) return error;
    for (const child of store?.children.get(record.uuid) ?? []) {
      if (store?.records.get(child)?.error === error) return "";
    }
    return error;
  }
  /** @param {string} uuid */
  #renderSummary(uuid) {
    const summary = this.#views.get(uuid)?.summary;
    const store = this.#store;
    if (!summary || !store) return;
    const counts = /* @__PURE__ */ new Map();
    let total = 0;
    for (const child of store.children.get(uuid) ?? []) {
      const record = store.records.get(child);
      if (!record) continue;
      total += 1;
      const key = stateKey(record.state);
      const entry = counts.get(key) ?? { count: 0, text: record.state_text || record.state };
      entry.count += 1;
      counts.set(key, entry);
    }
    const { numbers } = this.#formats;
    const strings = this.#strings;
    const order = SUMMARY_ORDER.filter((key) => counts.has(key));
    const segments = h("div", "segments");
    segments.setAttribute("role", "img");
    const described = order.map((key) => `${numbers.format(counts.get(key)?.count ?? 0)} ${counts.get(key)?.text}`);
    segments.setAttribute("aria-label", `${strings.summary}: ${described.join(", ")}`);
    for (const key of order) {
      const segment = h("span", "segment");
      segment.setAttribute("state", key);
      segment.setAttribute("part", `segment ${key}`);
      segment.style.setProperty("--share", `${(counts.get(key)?.count ?? 0) * 100 / Math.max(1, total)}%`);
      segments.append(segment);
    }
    const items = order.map((key) => {
      const { count, text } = (
        /** @type {{count: number, text: string}} */
        counts.get(key)
      );
      const item = h("span", "summary-count");
      item.setAttribute("state", key);
      item.setAttribute("part", `summary-count ${key}`);
      const marker = h("span", "marker");
      marker.setAttribute("aria-hidden", "true");
      marker.textContent = MARKERS[key];
      item.append(marker, `${numbers.format(count)} ${text}`);
      return item;
    });
    const expand = h("button", "expand");
    const expanded = this.#expanded.has(uuid);
    expand.type = "button";
    expand.dataset.action = "expand";
    expand.setAttribute("aria-expanded", String(expanded));
    expand.setAttribute("aria-controls", `children-${uuid}`);
    expand.textContent = expanded ? strings.showSummary : strings.showAll(numbers.format(total));
    const active = this.#shadow.activeElement;
    const focused = active?.classList.contains("expand") && summary.contains(active);
    summary.replaceChildren(segments, ...items, expand);
    if (focused) expand.focus();
  }
  /** @param {Event} event */
  #click(event) {
    const button = (
      /** @type {Element} */
      event.target.closest?.("button[data-action]")
    );
    const uuid = button?.closest(".node")?.getAttribute("data-uuid");
    const view = uuid && this.#views.get(uuid);
    const record = uuid && this.#store?.records.get(uuid);
    if (!button || !uuid || !view || !record) return;
    const action = button.getAttribute("data-action");
    if (action === "toggle") {
      if (!this.#collapsed.delete(uuid)) this.#collapsed.add(uuid);
      this.#update(view, record);
    } else if (action === "expand" && view.list) {
      if (!this.#expanded.delete(uuid)) this.#expanded.add(uuid);
      this.#renderChildren(uuid, view.list, view);
      this.#update(view, record);
    } else if (action === "cancel") {
      this.#cancel(
        uuid,
        /** @type {HTMLButtonElement} */
        button
      );
    }
  }
  /** @param {string} root @param {HTMLButtonElement} button */
  async #cancel(root, button) {
    const connection = this.#connection;
    button.disabled = true;
    try {
      const api = this.api.endsWith("/") ? this.api : `${this.api}/`;
      const url = `${api}trees/${encodeURIComponent(root)}/cancel/`;
      const headers = { "X-CSRFToken": this.csrfToken };
      const { status, body } = await this.fetchJSON(url, { method: "POST", headers });
      if (status === 200) connection?.broadcast(connection.store.applyRecords(body?.records, true));
      else if (status === 401) connection?.notAuthenticated();
    } catch {
    } finally {
      button.disabled = false;
    }
  }
};

// frontend/define.js
function define(tag = "task-progress", registry = globalThis.customElements) {
  return TaskProgressElement.define(tag, registry);
}
if (globalThis.customElements) define();
export {
  TaskProgressElement,
  define
};
