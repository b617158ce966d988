// <task-progress>: a user's Celery task trees as live progress bars. The protocol is in docs/protocol.md;
// attributes, events, custom properties and parts are in frontend/README.md.
import {
  CONTAINERS, MARKERS, TERMINAL, addSample, duration, label, percent, progressRate, stateKey,
} from "./records.js";
import { STYLE } from "./styles.js";

/** @typedef {import("./records.js").TaskRecord} TaskRecord */
/** @typedef {import("./records.js").TaskTree} TaskTree */
/** @typedef {{status: number, body: any}} JSONResponse */
/** @typedef {{method?: string, headers?: Record<string, string>}} FetchOptions */
/** @typedef {"connecting" | "live" | "polling" | "offline"} ConnectionState */

/**
 * The DOM of one record: its node, the parts it updates, and for a container the parts holding children.
 * @typedef {{el: HTMLLIElement, marker: HTMLElement, name: HTMLElement, state: HTMLElement, counts: HTMLElement,
 *   rate: HTMLElement, bar: HTMLElement, fill: HTMLElement, error: HTMLElement, toggle: HTMLButtonElement | null,
 *   cancel: HTMLButtonElement | null, body: HTMLElement | null, summary: HTMLElement | null,
 *   list: HTMLElement | null}} View
 */

const CLOSE_NOT_AUTHENTICATED = 4401;
const CLOSE_LAYER_FAILING = 4503;
const FAILURES_BEFORE_POLLING = 3;
const BACKOFF_BASE = 1000;
const BACKOFF_MAX = 30000;
// Milliseconds of drawing new nodes per animation frame; the rest of a large tree follows in the next frames.
const FRAME_BUDGET = 8;
// After this many milliseconds without a message the element pings; a connection that stays silent for
// PONG_WAIT more is taken for dead (a half-open TCP connection can look open for minutes).
const PING_AFTER = 25000;
const PONG_WAIT = 10000;

const numbers = new Intl.NumberFormat();

/** @param {string} a @param {string} b */
const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * An element with a `part` name and the same class name.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} name
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, name) {
  const el = document.createElement(tag);
  el.className = name;
  el.setAttribute("part", name);
  return el;
}

/** @param {Element} el @param {string} name @param {string} value */
function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** @param {Node} el @param {string} text */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export class TaskProgressElement extends HTMLElement {
  /** The words the element shows; replace them to translate it. */
  static strings = {
    connection: { connecting: "Connecting…", live: "Live", polling: "Polling", offline: "Offline" },
    loggedOut: "Log in to see your tasks.",
    notFound: "This task was not found.",
    empty: "No tasks.",
    cancel: "Cancel",
    steps: /** @param {string} name */ (name) => `Steps of ${name}`,
    attempt: /** @param {number} n */ (n) => `attempt ${n}`,
    showAll: /** @param {string} n */ (n) => `Show all ${n}`,
    showSummary: "Show summary",
    valueText: /** @param {string} done @param {string} total @param {number} pct */ (done, total, pct) =>
      `${done} of ${total} (${pct}%)`,
    rate: /** @param {string} rate @param {string} left */ (rate, left) => `${rate}, about ${left} left`,
    finished: /** @param {string} name */ (name) => `${name}: finished.`,
    failed: /** @param {string} name */ (name) => `${name}: failed.`,
    canceled: /** @param {string} name */ (name) => `${name}: canceled.`,
  };

  static observedAttributes = ["src", "api", "root", "summary-threshold", "cancelable"];

  /** Registers the element as `tag` in `registry`; does nothing if the tag is already defined. */
  static define(tag = "task-progress", registry = customElements) {
    if (!registry.get(tag)) registry.define(tag, this);
    return this;
  }

  /** @type {Map<string, TaskRecord>} */ #records = new Map();
  /** Children uuids by parent uuid; the roots under "". @type {Map<string, Set<string>>} */
  #children = new Map();
  /** @type {Map<string, View>} */ #views = new Map();
  /** [time, completed steps] of each record's recent versions. @type {Map<string, number[][]>} */
  #samples = new Map();
  /** @type {Set<string>} */ #dirty = new Set();
  /** Parents whose children changed. @type {Set<string>} */ #structure = new Set();
  /** @type {Set<string>} */ #collapsed = new Set();
  /** Large groups shown whole instead of as a summary. @type {Set<string>} */ #expanded = new Set();
  /** @type {string[]} */ #announcements = [];
  #rebuild = true;
  #loaded = false;
  #message = "";
  #frame = 0;
  /** When the current frame's drawing should stop (performance.now()). */
  #deadline = 0;

  #started = false;
  /** @type {WebSocket | null} */ #socket = null;
  #failures = 0;
  #reconnectTimer = 0;
  #heartbeat = 0;
  #polling = false;
  #pollRun = 0;
  #pollTimer = 0;
  #resyncing = false;
  /** @type {Set<string>} */ #subscribing = new Set();

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
  get src() { return this.getAttribute("src") ?? ""; }
  set src(value) { this.setAttribute("src", value); }

  /** The prefix of the JSON API, e.g. "/tasks/". */
  get api() { return this.getAttribute("api") ?? ""; }
  set api(value) { this.setAttribute("api", value); }

  /** The uuid of the one tree to show; without it, every tree of the user. */
  get root() { return this.getAttribute("root") ?? ""; }
  set root(value) { this.setAttribute("root", value); }

  /** Groups with more children than this are shown as a summary until expanded. */
  get summaryThreshold() {
    const value = Number.parseInt(this.getAttribute("summary-threshold") ?? "", 10);
    return value >= 0 ? value : 50;
  }
  set summaryThreshold(value) { this.setAttribute("summary-threshold", String(value)); }

  /** How often the JSON API is polled while the WebSocket is down, in milliseconds. */
  get pollInterval() {
    const value = Number.parseInt(this.getAttribute("poll-interval") ?? "", 10);
    return value > 0 ? value : 2000;
  }
  set pollInterval(value) { this.setAttribute("poll-interval", String(value)); }

  get cancelable() { return this.hasAttribute("cancelable"); }
  set cancelable(value) { this.toggleAttribute("cancelable", Boolean(value)); }

  /** The CSRF token for cancel; without it, the `csrftoken` cookie. */
  get csrfToken() {
    const token = this.getAttribute("csrf-token");
    if (token) return token;
    const cookie = document.cookie.split(/;\s*/).find((part) => part.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }
  set csrfToken(value) { this.setAttribute("csrf-token", value); }

  /** "connecting", "live", "polling" or "offline", reflected as the `connection` attribute. */
  get connection() { return /** @type {ConnectionState} */ (this.getAttribute("connection") ?? "offline"); }

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
      headers: { Accept: "application/json", ...options.headers },
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON (an HTML error page): the status says enough.
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
      socket.close(1000);
    }
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#heartbeat);
    this.#stopPolling();
  }

  #connect() {
    this.#reconnectTimer = 0;
    this.#resyncing = false;
    this.#subscribing.clear();
    /** @type {WebSocket} */
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
        // Not waiting for the close handshake, which a dead connection never completes.
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
    // 4503: the server's channel layer is down, so no socket will be live for a while; its API still answers.
    if (this.#failures >= FAILURES_BEFORE_POLLING || code === CLOSE_LAYER_FAILING) this.#startPolling();
    const delay = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (this.#failures - 1));
    // Jitter: pages that lost the server together do not all come back in the same instant.
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay / 2 + (Math.random() * delay) / 2);
    if (this.#polling) return;
    this.#setConnection(this.#failures >= FAILURES_BEFORE_POLLING ? "offline" : "connecting");
  }

  #loggedOut() {
    this.#stop();
    this.#clear();
    this.#message = TaskProgressElement.strings.loggedOut;
    this.#setConnection("offline");
    this.#schedule();
  }

  /** @param {ConnectionState} state */
  #setConnection(state) {
    setAttr(this, "connection", state);
    setText(this.#status, TaskProgressElement.strings.connection[state]);
  }

  /** @param {object} message */
  #send(message) {
    try {
      this.#socket?.send(JSON.stringify(message));
    } catch {
      // Not open any more: its close event brings a reconnect, and a snapshot.
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
      // The network is down too: the next tick tries again.
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
      // "pong" and "unsubscribed" need nothing.
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
    this.#message = TaskProgressElement.strings.notFound;
    this.#schedule();
  }

  /** Shows what `trees` hold, and only that, keeping records held at a higher version. @param {unknown} trees */
  #applySnapshot(trees) {
    if (!Array.isArray(trees)) return;
    /** @type {Set<string>} */
    const seen = new Set();
    for (const tree of trees) {
      for (const record of tree?.records ?? []) {
        if (record?.uuid) seen.add(record.uuid);
        this.#apply(record, false);
      }
    }
    // With a root, the snapshot may not hold it: the `tree` that follows does.
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
      // A record whose parent is unknown: of a tree not loaded yet, or we missed messages.
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
    if (!record || typeof record.uuid !== "string" || (this.root && record.root !== this.root)) return;
    const old = this.#records.get(record.uuid);
    if (old && !(record.version > old.version)) return;
    this.#records.set(record.uuid, record);
    this.#samples.set(record.uuid, addSample(this.#samples.get(record.uuid) ?? [], record));
    if (!old) {
      const parent = record.parent ?? "";
      const siblings = this.#children.get(parent) ?? new Set();
      this.#children.set(parent, siblings.add(record.uuid));
      this.#structure.add(parent);
    }
    // Roots are ordered running first.
    if (record.parent === null) this.#structure.add("");
    this.#dirty.add(record.uuid);
    this.#emit("update", record);
    if (record.parent !== null || (old ? old.state === record.state : !live)) return;
    const key = stateKey(record.state);
    const strings = TaskProgressElement.strings;
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
    return TaskProgressElement.strings.rate(shown, duration(rate.left));
  }

  // Rendering, at most once a frame.

  #schedule() {
    if (!this.#frame && this.#started) this.#frame = requestAnimationFrame(() => this.#flush());
  }

  #flush() {
    this.#frame = 0;
    this.#deadline = performance.now() + FRAME_BUDGET;
    const structure = this.#rebuild ? new Set([""]) : this.#structure;
    const dirty = this.#dirty;
    if (this.#rebuild) {
      this.#views.clear();
      this.#list.replaceChildren();
      this.#rebuild = false;
    }
    this.#structure = new Set();
    this.#dirty = new Set();
    for (const parent of structure) {
      if (parent === "") this.#renderChildren("", this.#list, null);
      const view = this.#views.get(parent);
      if (view?.list) this.#renderChildren(parent, view.list, view);
    }
    /** @type {Set<string>} */
    const summaries = new Set();
    for (const uuid of dirty) {
      const record = this.#records.get(uuid);
      const view = this.#views.get(uuid);
      if (record && view) this.#update(view, record);
      const parent = record?.parent && this.#views.get(record.parent);
      if (parent && parent.summary && !parent.summary.hidden) summaries.add(/** @type {string} */ (record.parent));
    }
    for (const uuid of summaries) this.#renderSummary(uuid);
    const empty = this.#loaded && !this.#children.get("")?.size;
    const message = this.#message || (empty ? TaskProgressElement.strings.empty : "");
    setText(this.#messageEl, message);
    this.#messageEl.hidden = !message;
    if (this.#announcements.length) {
      this.#announcer.textContent = this.#announcements.join(" ");
      this.#announcements = [];
    }
  }

  /** @param {string} parent */
  #sortedChildren(parent) {
    /** @type {TaskRecord[]} */
    const records = [];
    for (const uuid of this.#children.get(parent) ?? []) {
      const record = this.#records.get(uuid);
      if (record) records.push(record);
    }
    if (parent === "") {
      // Running trees first, then finished ones, each newest first: the snapshot's order.
      const finished = (/** @type {TaskRecord} */ r) => (TERMINAL.has(stateKey(r.state)) ? 1 : 0);
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
        // Summarized: no DOM for the children, so a 10,000-task group stays fast.
        for (const uuid of children) this.#dropView(uuid);
        list.replaceChildren();
        return;
      }
    }
    let next = list.firstElementChild;
    for (const uuid of children) {
      let view = this.#views.get(uuid);
      if (!view) {
        if (performance.now() > this.#deadline) {
          // A large tree is drawn over several frames, its top first: this list goes on in the next.
          this.#structure.add(parent);
          this.#schedule();
          return;
        }
        view = this.#createView(/** @type {TaskRecord} */ (this.#records.get(uuid)));
      }
      if (view.el === next) next = next.nextElementSibling;
      else list.insertBefore(view.el, next);
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
      cancel.textContent = TaskProgressElement.strings.cancel;
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
    /** @type {View} */
    const view = { el, marker, name, state, counts, rate, bar, fill, error, toggle, cancel, body, summary, list };
    this.#views.set(record.uuid, view);
    this.#update(view, record);
    if (view.list) this.#renderChildren(record.uuid, view.list, view);
    return view;
  }

  /** @param {View} view @param {TaskRecord} record */
  #update(view, record) {
    const strings = TaskProgressElement.strings;
    const key = stateKey(record.state);
    const name = label(record);
    setAttr(view.el, "state", key);
    setAttr(view.el, "kind", record.kind);
    // The state as a part name too, for pages: task-progress::part(node failed).
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
    /** @type {Map<string, {count: number, text: string}>} */
    const counts = new Map();
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
    const strings = TaskProgressElement.strings;
    expand.textContent = expanded ? strings.showSummary : strings.showAll(numbers.format(total));
    // Keeps keyboard focus on the button across the redraw.
    const active = this.#shadow.activeElement;
    const focused = active?.classList.contains("expand") && summary.contains(active);
    summary.replaceChildren(...items, expand);
    if (focused) expand.focus();
  }

  /** @param {Event} event */
  #click(event) {
    const button = /** @type {Element} */ (event.target).closest?.("button[data-action]");
    const uuid = button?.closest(".node")?.getAttribute("data-uuid");
    const view = uuid && this.#views.get(uuid);
    if (!button || !uuid || !view) return;
    const action = button.getAttribute("data-action");
    if (action === "toggle") {
      if (!this.#collapsed.delete(uuid)) this.#collapsed.add(uuid);
      this.#update(view, /** @type {TaskRecord} */ (this.#records.get(uuid)));
    } else if (action === "expand" && view.list) {
      if (!this.#expanded.delete(uuid)) this.#expanded.add(uuid);
      this.#renderChildren(uuid, view.list, view);
    } else if (action === "cancel") {
      this.#cancel(uuid, /** @type {HTMLButtonElement} */ (button));
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
      // Nothing changed: the button is there to try again.
    } finally {
      button.disabled = false;
    }
  }
}
