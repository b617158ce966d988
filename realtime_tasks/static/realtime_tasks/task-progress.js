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
    running: "▶",
    succeeded: "✓",
    failed: "✕",
    canceled: "⊘",
    retrying: "↻"
  }
);
var stateKey = (state) => STATE_KEYS[state] ?? "running";
var label = (record) => record.name || (record.kind === "task" ? record.task_class : record.kind);
function percent(record) {
  const { completed_steps: done, total_steps: total } = record;
  if (!(total > 0)) return stateKey(record.state) === "succeeded" ? 100 : 0;
  return Math.min(100, Math.max(0, Math.floor(done * 100 / total)));
}
function duration(seconds) {
  const s = Math.ceil(seconds);
  if (s < 60) return UNITS.second.format(s);
  if (s < 3600) return `${UNITS.minute.format(Math.floor(s / 60))} ${UNITS.second.format(s % 60)}`;
  return `${UNITS.hour.format(Math.floor(s / 3600))} ${UNITS.minute.format(Math.floor(s % 3600 / 60))}`;
}
var unitFormat = (unit) => new Intl.NumberFormat(void 0, { style: "unit", unit, unitDisplay: "short" });
var UNITS = { second: unitFormat("second"), minute: unitFormat("minute"), hour: unitFormat("hour") };
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
  return { perSecond, left: Math.max(0, record.total_steps - record.completed_steps) / perSecond };
}

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
  --_height: var(--task-progress-bar-height, 0.5rem);
  --_radius: var(--task-progress-radius, 0.25rem);
  --_gap: var(--task-progress-gap, 0.5rem);
  display: block;
  color-scheme: light dark;
  color: var(--_text);
  font: var(--task-progress-font, inherit);
}
@media (prefers-color-scheme: dark) {
  :host {
    --_bar: var(--task-progress-bar-color, #60a5fa);
    --_track: var(--task-progress-track-color, #374151);
    --_succeeded: var(--task-progress-succeeded-color, #4ade80);
    --_failed: var(--task-progress-failed-color, #f87171);
    --_canceled: var(--task-progress-canceled-color, #9ca3af);
    --_retrying: var(--task-progress-retrying-color, #fbbf24);
    --_pending: var(--task-progress-pending-color, #6b7280);
    --_text: var(--task-progress-text-color, #f3f4f6);
    --_muted: var(--task-progress-muted-color, #d1d5db);
  }
}
:host([hidden]), [hidden] { display: none !important; }
ul, ol { list-style: none; margin: 0; padding: 0; }
button { font: inherit; }
.status { display: block; text-align: end; font-size: 0.75em; color: var(--_muted); }
.status::before { content: "●"; margin-inline-end: 0.25em; color: var(--_pending); }
:host([connection="live"]) .status::before { color: var(--_succeeded); }
:host([connection="polling"]) .status::before { color: var(--_retrying); }
:host([connection="offline"]) .status::before { color: var(--_failed); }
.message { color: var(--_muted); }
.node { margin-block: var(--_gap); }
.row { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 var(--_gap); }
.name { font-weight: 600; overflow-wrap: anywhere; }
.state, .counts, .rate { font-size: 0.875em; color: var(--_muted); }
.bar {
  height: var(--_height); margin-block: 0.125rem; overflow: hidden;
  border-radius: var(--_radius); background: var(--_track);
}
.fill { height: 100%; width: 0; background: var(--_bar); transition: width 0.2s; }
.node[state="succeeded"] > .bar > .fill { background: var(--_succeeded); }
.node[state="failed"] > .bar > .fill { background: var(--_failed); }
.node[state="canceled"] > .bar > .fill { background: var(--_canceled); }
.node[state="retrying"] > .bar > .fill { background: var(--_retrying); }
.node[state="failed"] > .row > :is(.marker, .state) { color: var(--_failed); font-weight: 600; }
.node[state="canceled"] > .row > :is(.marker, .state) { color: var(--_canceled); font-weight: 600; }
.node[state="retrying"] > .row > :is(.marker, .state) { color: var(--_retrying); font-weight: 600; }
.node[state="succeeded"] > .row > .marker { color: var(--_succeeded); }
.error { margin: 0; color: var(--_failed); white-space: pre-wrap; overflow-wrap: anywhere; }
.children { padding-inline-start: 1rem; border-inline-start: 2px solid var(--_track); }
ol.chain { counter-reset: step; }
ol.chain > li { counter-increment: step; }
ol.chain > li > .row::before { content: counter(step) "."; color: var(--_muted); }
/* A large tree: the browser lays out only the nodes on screen (each keeps its size once drawn). */
.list > .node { content-visibility: auto; contain-intrinsic-size: auto 3rem; }
ul.group {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); column-gap: calc(2 * var(--_gap));
}
ol.chord > li + li { border-block-start: 1px dashed var(--_track); }
.summary { display: flex; flex-wrap: wrap; gap: 0 var(--_gap); align-items: baseline; }
.toggle { border: none; background: none; color: inherit; padding: 0; cursor: pointer; }
.toggle::before { content: "▾"; }
.toggle[aria-expanded="false"]::before { content: "▸"; }
.announcer {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
@media (prefers-reduced-motion: reduce) { .fill { transition: none; } }
`;

// frontend/task-progress-element.js
var CLOSE_NOT_AUTHENTICATED = 4401;
var CLOSE_LAYER_FAILING = 4503;
var FAILURES_BEFORE_POLLING = 3;
var BACKOFF_BASE = 1e3;
var BACKOFF_MAX = 3e4;
var FRAME_BUDGET = 8;
var PING_AFTER = 25e3;
var PONG_WAIT = 1e4;
var numbers = new Intl.NumberFormat();
var compare = (a, b) => a < b ? -1 : a > b ? 1 : 0;
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
var TaskProgressElement = class _TaskProgressElement extends HTMLElement {
  /** The words the element shows; replace them to translate it. */
  static strings = {
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
    valueText: (
      /** @param {string} done @param {string} total @param {number} pct */
      (done, total, pct) => `${done} of ${total} (${pct}%)`
    ),
    rate: (
      /** @param {string} rate @param {string} left */
      (rate, left) => `${rate}, about ${left} left`
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
    )
  };
  static observedAttributes = ["src", "api", "root", "summary-threshold", "cancelable"];
  /** Registers the element as `tag` in `registry`; does nothing if the tag is already defined. */
  static define(tag = "task-progress", registry = customElements) {
    if (!registry.get(tag)) registry.define(tag, this);
    return this;
  }
  /** @type {Map<string, TaskRecord>} */
  #records = /* @__PURE__ */ new Map();
  /** Children uuids by parent uuid; the roots under "". @type {Map<string, Set<string>>} */
  #children = /* @__PURE__ */ new Map();
  /** @type {Map<string, View>} */
  #views = /* @__PURE__ */ new Map();
  /** [time, completed steps] of each record's recent versions. @type {Map<string, number[][]>} */
  #samples = /* @__PURE__ */ new Map();
  /** @type {Set<string>} */
  #dirty = /* @__PURE__ */ new Set();
  /** Parents whose children changed. @type {Set<string>} */
  #structure = /* @__PURE__ */ new Set();
  /** @type {Set<string>} */
  #collapsed = /* @__PURE__ */ new Set();
  /** Large groups shown whole instead of as a summary. @type {Set<string>} */
  #expanded = /* @__PURE__ */ new Set();
  /** @type {string[]} */
  #announcements = [];
  #rebuild = true;
  #loaded = false;
  #message = "";
  #frame = 0;
  /** When the current frame's drawing should stop (performance.now()). */
  #deadline = 0;
  #started = false;
  /** @type {WebSocket | null} */
  #socket = null;
  #failures = 0;
  #reconnectTimer = 0;
  #heartbeat = 0;
  #polling = false;
  #pollRun = 0;
  #pollTimer = 0;
  #resyncing = false;
  /** @type {Set<string>} */
  #subscribing = /* @__PURE__ */ new Set();
  #shadow = this.attachShadow({ mode: "open" });
  #status = h("span", "status");
  #messageEl = h("p", "message");
  #list = h("ul", "trees");
  #announcer = h("div", "announcer");
  constructor() {
    super();
    const style = document.createElement("style");
    style.textContent = STYLE;
    this.#announcer.setAttribute("role", "status");
    this.#announcer.setAttribute("aria-live", "polite");
    this.#messageEl.hidden = true;
    this.#shadow.append(style, this.#status, this.#messageEl, this.#list, this.#announcer);
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
  connectedCallback() {
    this.#started = true;
    this.#rebuild = true;
    this.#schedule();
    this.#start();
  }
  disconnectedCallback() {
    this.#started = false;
    this.#stop();
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
  }
  /** @param {string} name @param {string | null} oldValue @param {string | null} value */
  attributeChangedCallback(name, oldValue, value) {
    if (oldValue === value || !this.#started) return;
    if (name === "summary-threshold" || name === "cancelable") {
      this.#rebuild = true;
      this.#schedule();
      return;
    }
    this.#stop();
    if (name === "root") this.#clear();
    this.#start();
  }
  /**
   * Opens the WebSocket; tests override it to return a fake.
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
  // Connection: the WebSocket, with polling while it is down.
  #start() {
    this.#failures = 0;
    if (this.src) {
      this.#connect();
    } else if (this.api) {
      this.#startPolling();
    } else {
      this.#setConnection("offline");
    }
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
    this.#stopPolling();
  }
  #connect() {
    this.#reconnectTimer = 0;
    this.#resyncing = false;
    this.#subscribing.clear();
    let socket;
    try {
      const url = new URL(this.src, location.href);
      if (url.protocol === "http:" || url.protocol === "https:") url.protocol = url.protocol.replace("http", "ws");
      socket = this.createSocket(url.href);
    } catch {
      this.#closed(1006);
      return;
    }
    this.#socket = socket;
    if (!this.#polling) this.#setConnection("connecting");
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
      this.#send({ type: "ping" });
      this.#heartbeat = setTimeout(() => {
        socket.onclose = null;
        socket.close();
        this.#closed(1006);
      }, PONG_WAIT);
    }, PING_AFTER);
  }
  /** @param {number} code */
  #closed(code) {
    this.#socket = null;
    clearTimeout(this.#heartbeat);
    if (code === CLOSE_NOT_AUTHENTICATED) {
      this.#loggedOut();
      return;
    }
    this.#failures += 1;
    if (this.#failures >= FAILURES_BEFORE_POLLING || code === CLOSE_LAYER_FAILING) this.#startPolling();
    const delay = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (this.#failures - 1));
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay / 2 + Math.random() * delay / 2);
    if (this.#polling) return;
    this.#setConnection(this.#failures >= FAILURES_BEFORE_POLLING ? "offline" : "connecting");
  }
  #loggedOut() {
    this.#stop();
    this.#clear();
    this.#message = _TaskProgressElement.strings.loggedOut;
    this.#setConnection("offline");
    this.#schedule();
  }
  /** @param {ConnectionState} state */
  #setConnection(state) {
    setAttr(this, "connection", state);
    setText(this.#status, _TaskProgressElement.strings.connection[state]);
  }
  /** @param {object} message */
  #send(message) {
    try {
      this.#socket?.send(JSON.stringify(message));
    } catch {
    }
  }
  #startPolling() {
    if (this.#polling || !this.api) return;
    this.#polling = true;
    this.#setConnection("polling");
    this.#poll(++this.#pollRun);
  }
  #stopPolling() {
    this.#polling = false;
    this.#pollRun += 1;
    clearTimeout(this.#pollTimer);
  }
  /** @param {number} run */
  async #poll(run) {
    const root = this.root;
    try {
      const url = `${this.#apiBase()}trees/${root ? `${encodeURIComponent(root)}/` : ""}`;
      const { status, body } = await this.fetchJSON(url);
      if (run !== this.#pollRun) return;
      if (status === 401) {
        this.#loggedOut();
        return;
      }
      if (status === 404 && root) this.#notFound();
      else if (status === 200 && root) this.#applyTree(body, false);
      else if (status === 200) this.#applySnapshot(body?.trees);
    } catch {
    }
    if (run === this.#pollRun) this.#pollTimer = setTimeout(() => this.#poll(run), this.pollInterval);
  }
  #apiBase() {
    const api = this.api;
    return api.endsWith("/") ? api : `${api}/`;
  }
  // Messages.
  /** @param {unknown} data */
  #receive(data) {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    switch (message?.type) {
      case "snapshot":
        this.#failures = 0;
        this.#resyncing = false;
        this.#stopPolling();
        this.#setConnection("live");
        this.#applySnapshot(message.trees);
        if (this.root) this.#subscribe(this.root);
        break;
      case "status":
        this.#applyStatus(message.records);
        break;
      case "tree":
        this.#subscribing.delete(message.root);
        this.#applyTree(message, false);
        break;
      case "error":
        if (message.code === "not_found") {
          if (this.root && !this.#records.has(this.root)) this.#notFound();
        } else {
          this.#resync();
        }
        break;
    }
  }
  /** @param {string} root */
  #subscribe(root) {
    if (this.#subscribing.has(root)) return;
    this.#subscribing.add(root);
    this.#send({ type: "subscribe", root });
  }
  #resync() {
    if (this.#resyncing) return;
    this.#resyncing = true;
    this.#send({ type: "resync" });
  }
  #notFound() {
    this.#message = _TaskProgressElement.strings.notFound;
    this.#schedule();
  }
  /** Shows what `trees` hold, and only that, keeping records held at a higher version. @param {unknown} trees */
  #applySnapshot(trees) {
    if (!Array.isArray(trees)) return;
    const seen = /* @__PURE__ */ new Set();
    for (const tree of trees) {
      for (const record of tree?.records ?? []) {
        if (record?.uuid) seen.add(record.uuid);
        this.#apply(record, false);
      }
    }
    if (!this.root) {
      for (const uuid of [...this.#records.keys()]) if (!seen.has(uuid)) this.#remove(uuid);
      this.#loaded = true;
    }
    this.#schedule();
  }
  /** @param {TaskTree} tree @param {boolean} live */
  #applyTree(tree, live) {
    for (const record of tree?.records ?? []) this.#apply(record, live);
    if (!this.root || tree?.root === this.root) this.#message = "";
    this.#loaded = true;
    this.#schedule();
  }
  /** @param {unknown} records */
  #applyStatus(records) {
    if (!Array.isArray(records)) return;
    for (const record of records) this.#apply(record, true);
    for (const record of records) {
      if (!record?.parent || this.#records.has(record.parent)) continue;
      if (this.root && record.root !== this.root) continue;
      if (this.#records.has(record.root)) this.#resync();
      else this.#subscribe(record.root);
    }
    this.#schedule();
  }
  /**
   * Keeps `record` if it is newer than the one held. `live`: seen as it happened, so a root first seen
   * finished has just finished.
   * @param {TaskRecord} record
   * @param {boolean} live
   */
  #apply(record, live) {
    if (!record || typeof record.uuid !== "string" || this.root && record.root !== this.root) return;
    const old = this.#records.get(record.uuid);
    if (old && !(record.version > old.version)) return;
    this.#records.set(record.uuid, record);
    this.#samples.set(record.uuid, addSample(this.#samples.get(record.uuid) ?? [], record));
    if (!old) {
      const parent = record.parent ?? "";
      const siblings = this.#children.get(parent) ?? /* @__PURE__ */ new Set();
      this.#children.set(parent, siblings.add(record.uuid));
      this.#structure.add(parent);
    }
    if (record.parent === null) this.#structure.add("");
    this.#dirty.add(record.uuid);
    this.#emit("update", record);
    if (record.parent !== null || (old ? old.state === record.state : !live)) return;
    const key = stateKey(record.state);
    const strings = _TaskProgressElement.strings;
    if (key === "succeeded") {
      this.#emit("finished", record);
      this.#announcements.push(strings.finished(label(record)));
    } else if (key === "failed" || key === "canceled") {
      this.#emit("failed", record);
      this.#announcements.push(strings[key](label(record)));
    }
  }
  /** @param {string} uuid */
  #remove(uuid) {
    const record = this.#records.get(uuid);
    if (!record) return;
    this.#records.delete(uuid);
    this.#samples.delete(uuid);
    this.#children.get(record.parent ?? "")?.delete(uuid);
    this.#structure.add(record.parent ?? "");
    this.#views.get(uuid)?.el.remove();
    this.#dropView(uuid);
  }
  #clear() {
    for (const map of [this.#records, this.#children, this.#samples, this.#collapsed, this.#expanded]) map.clear();
    this.#message = "";
    this.#loaded = false;
    this.#rebuild = true;
  }
  /** @param {string} name @param {TaskRecord} record */
  #emit(name, record) {
    const event = new CustomEvent(`task-progress:${name}`, { bubbles: true, composed: true, detail: { record } });
    this.dispatchEvent(event);
  }
  /** @param {TaskRecord} record */
  #rateText(record) {
    const rate = progressRate(this.#samples.get(record.uuid) ?? [], record);
    if (!rate) return "";
    const r = rate.perSecond;
    let shown = `${(r * 60).toFixed(1)}/min`;
    if (r >= 10) shown = `${numbers.format(Math.round(r))}/s`;
    else if (r >= 0.1) shown = `${r.toFixed(1)}/s`;
    return _TaskProgressElement.strings.rate(shown, duration(rate.left));
  }
  // Rendering, at most once a frame.
  #schedule() {
    if (!this.#frame && this.#started) this.#frame = requestAnimationFrame(() => this.#flush());
  }
  #flush() {
    this.#frame = 0;
    this.#deadline = performance.now() + FRAME_BUDGET;
    const structure = this.#rebuild ? /* @__PURE__ */ new Set([""]) : this.#structure;
    const dirty = this.#dirty;
    if (this.#rebuild) {
      this.#views.clear();
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
      const record = this.#records.get(uuid);
      const view = this.#views.get(uuid);
      if (record && view) this.#update(view, record);
      const parent = record?.parent && this.#views.get(record.parent);
      if (parent && parent.summary && !parent.summary.hidden) summaries.add(
        /** @type {string} */
        record.parent
      );
    }
    for (const uuid of summaries) this.#renderSummary(uuid);
    const empty = this.#loaded && !this.#children.get("")?.size;
    const message = this.#message || (empty ? _TaskProgressElement.strings.empty : "");
    setText(this.#messageEl, message);
    this.#messageEl.hidden = !message;
    if (this.#announcements.length) {
      this.#announcer.textContent = this.#announcements.join(" ");
      this.#announcements = [];
    }
  }
  /** @param {string} parent */
  #sortedChildren(parent) {
    const records = [];
    for (const uuid of this.#children.get(parent) ?? []) {
      const record = this.#records.get(uuid);
      if (record) records.push(record);
    }
    if (parent === "") {
      const finished = (r) => TERMINAL.has(stateKey(r.state)) ? 1 : 0;
      records.sort((a, b) => finished(a) - finished(b) || compare(b.created, a.created));
    } else {
      records.sort((a, b) => a.position - b.position || compare(a.created, b.created));
    }
    return records.map((record) => record.uuid);
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
    let next = list.firstElementChild;
    for (const uuid of children) {
      let view2 = this.#views.get(uuid);
      if (!view2) {
        if (performance.now() > this.#deadline) {
          this.#structure.add(parent);
          this.#schedule();
          return;
        }
        view2 = this.#createView(
          /** @type {TaskRecord} */
          this.#records.get(uuid)
        );
      }
      if (view2.el === next) next = next.nextElementSibling;
      else list.insertBefore(view2.el, next);
    }
  }
  /** @param {string} uuid */
  #dropView(uuid) {
    if (!this.#views.delete(uuid)) return;
    for (const child of this.#children.get(uuid) ?? []) this.#dropView(child);
  }
  /** @param {TaskRecord} record @returns {View} */
  #createView(record) {
    const el = h("li", "node");
    el.dataset.uuid = record.uuid;
    const row = h("div", "row");
    const container = CONTAINERS.has(record.kind);
    const toggle = container ? h("button", "toggle") : null;
    if (toggle) {
      toggle.type = "button";
      toggle.dataset.action = "toggle";
      toggle.setAttribute("aria-controls", `children-${record.uuid}`);
      row.append(toggle);
    }
    const [marker, name, state, counts, rate] = ["marker", "name", "state", "counts", "rate"].map((p) => h("span", p));
    marker.setAttribute("aria-hidden", "true");
    row.append(marker, name, state, counts, rate);
    const cancel = record.parent === null ? h("button", "cancel") : null;
    if (cancel) {
      cancel.type = "button";
      cancel.dataset.action = "cancel";
      cancel.textContent = _TaskProgressElement.strings.cancel;
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
    const view = { el, marker, name, state, counts, rate, bar, fill, error, toggle, cancel, body, summary, list };
    this.#views.set(record.uuid, view);
    this.#update(view, record);
    if (view.list) this.#renderChildren(record.uuid, view.list, view);
    return view;
  }
  /** @param {View} view @param {TaskRecord} record */
  #update(view, record) {
    const strings = _TaskProgressElement.strings;
    const key = stateKey(record.state);
    const name = label(record);
    setAttr(view.el, "state", key);
    setAttr(view.el, "kind", record.kind);
    setAttr(view.el, "part", `node ${key}`);
    setAttr(view.state, "part", `state ${key}`);
    setAttr(view.fill, "part", `fill ${key}`);
    setText(view.marker, MARKERS[key]);
    setText(view.name, name);
    const stateText = record.state_text || record.state;
    const retried = key === "retrying" && record.attempts > 1;
    setText(view.state, retried ? `${stateText} (${strings.attempt(record.attempts)})` : stateText);
    const pct = percent(record);
    const [done, total] = [numbers.format(record.completed_steps), numbers.format(record.total_steps)];
    setText(view.counts, `${done} / ${total} · ${pct}%`);
    setText(view.rate, key === "running" ? this.#rateText(record) : "");
    setAttr(view.bar, "aria-label", name);
    setAttr(view.bar, "aria-valuenow", String(pct));
    setAttr(view.bar, "aria-valuetext", strings.valueText(done, total, pct));
    view.fill.style.width = `${pct}%`;
    setText(view.error, record.error ?? "");
    view.error.hidden = !record.error;
    if (view.cancel) view.cancel.hidden = !(this.cancelable && this.api && !TERMINAL.has(key));
    if (view.toggle && view.body) {
      const open = !this.#collapsed.has(record.uuid);
      setAttr(view.toggle, "aria-expanded", String(open));
      setAttr(view.toggle, "aria-label", strings.steps(name));
      view.body.hidden = !open;
    }
  }
  /** @param {string} uuid */
  #renderSummary(uuid) {
    const summary = this.#views.get(uuid)?.summary;
    if (!summary) return;
    const counts = /* @__PURE__ */ new Map();
    let total = 0;
    for (const child of this.#children.get(uuid) ?? []) {
      const record = this.#records.get(child);
      if (!record) continue;
      total += 1;
      const entry = counts.get(record.state) ?? { count: 0, text: record.state_text || record.state };
      entry.count += 1;
      counts.set(record.state, entry);
    }
    const items = [...counts].map(([state, { count, text }]) => {
      const item = h("span", "summary-count");
      item.setAttribute("state", stateKey(state));
      item.setAttribute("part", `summary-count ${stateKey(state)}`);
      item.textContent = `${MARKERS[stateKey(state)]} ${numbers.format(count)} ${text}`;
      return item;
    });
    const expand = h("button", "expand");
    const expanded = this.#expanded.has(uuid);
    expand.type = "button";
    expand.dataset.action = "expand";
    expand.setAttribute("aria-expanded", String(expanded));
    const strings = _TaskProgressElement.strings;
    expand.textContent = expanded ? strings.showSummary : strings.showAll(numbers.format(total));
    const active = this.#shadow.activeElement;
    const focused = active?.classList.contains("expand") && summary.contains(active);
    summary.replaceChildren(...items, expand);
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
    if (!button || !uuid || !view) return;
    const action = button.getAttribute("data-action");
    if (action === "toggle") {
      if (!this.#collapsed.delete(uuid)) this.#collapsed.add(uuid);
      this.#update(
        view,
        /** @type {TaskRecord} */
        this.#records.get(uuid)
      );
    } else if (action === "expand" && view.list) {
      if (!this.#expanded.delete(uuid)) this.#expanded.add(uuid);
      this.#renderChildren(uuid, view.list, view);
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
    button.disabled = true;
    try {
      const url = `${this.#apiBase()}trees/${encodeURIComponent(root)}/cancel/`;
      const headers = { "X-CSRFToken": this.csrfToken };
      const { status, body } = await this.fetchJSON(url, { method: "POST", headers });
      if (status === 200) this.#applyTree(body, true);
      else if (status === 401) this.#loggedOut();
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
