// <task-progress>: a user's Celery task trees as live progress bars. The view: it draws the trees of the
// shared store (store.js) that its connection (connection.js) keeps up to date. The protocol is in
// docs/protocol.md; attributes, events, custom properties and parts are in frontend/README.md.
import { Connection } from "./connection.js";
import { CONTAINERS, MARKERS, TERMINAL, duration, label, percent, stateKey, steps } from "./records.js";
import { en, fr } from "./strings.js";
import { adoptStyles } from "./styles.js";
import { pageTheme, unwatchPage, watchPage } from "./theme.js";

/** @typedef {import("./records.js").TaskRecord} TaskRecord */
/** @typedef {import("./store.js").Changes} Changes */
/** @typedef {import("./strings.js").Strings} Strings */
/** @typedef {import("./connection.js").JSONResponse} JSONResponse */
/** @typedef {import("./connection.js").FetchOptions} FetchOptions */
/** @typedef {import("./connection.js").ConnectionState} ConnectionState */

/**
 * The DOM of one record: its node, the parts it updates, and for a container the parts holding children.
 * @typedef {{el: HTMLLIElement, marker: HTMLElement, name: HTMLElement, state: HTMLElement, counts: HTMLElement,
 *   duration: HTMLElement, took: HTMLElement, when: HTMLElement, rate: HTMLElement, bar: HTMLElement,
 *   fill: HTMLElement, error: HTMLElement, toggle: HTMLButtonElement | null, cancel: HTMLButtonElement | null,
 *   body: HTMLElement | null, summary: HTMLElement | null, list: HTMLElement | null}} View
 */

// Milliseconds of drawing new nodes per animation frame; the rest of a large tree follows in the next frames.
const FRAME_BUDGET = 8;
// The order of a large group's segments and counts.
const SUMMARY_ORDER = ["succeeded", "running", "retrying", "failed", "canceled", "pending"];

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

/** The formats of one language. @typedef {{lang: string, numbers: Intl.NumberFormat, tenths: Intl.NumberFormat,
 *   time: Intl.DateTimeFormat, dateTime: Intl.DateTimeFormat}} Formats */
/** @type {Map<string, Formats>} */
const FORMATS = new Map();

/** @param {string} lang @returns {Formats} */
function formatsOf(lang) {
  let formats = FORMATS.get(lang);
  if (!formats) {
    let locale = lang || undefined;
    try {
      new Intl.NumberFormat(locale);
    } catch {
      locale = undefined;
    }
    formats = {
      lang,
      numbers: new Intl.NumberFormat(locale),
      tenths: new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
      time: new Intl.DateTimeFormat(locale, { timeStyle: "medium" }),
      dateTime: new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }),
    };
    FORMATS.set(lang, formats);
  }
  return formats;
}

export class TaskProgressElement extends HTMLElement {
  /** The word tables by language; add one to translate the element (`fr` ships with it). */
  static locales = /** @type {Record<string, Strings>} */ ({ en, fr });

  /** The English words: replacing them still works (it replaces `locales.en`). */
  static get strings() {
    return /** @type {Strings} */ (this.locales.en);
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

  /** @type {Connection | null} */ #connection = null;
  /** @type {Map<string, View>} */ #views = new Map();
  /** @type {Set<string>} */ #dirty = new Set();
  /** Parents whose children changed. @type {Set<string>} */ #structure = new Set();
  /** @type {Set<string>} */ #collapsed = new Set();
  /** Large groups shown whole instead of as a summary. @type {Set<string>} */ #expanded = new Set();
  /** Nodes whose elapsed time runs. @type {Set<string>} */ #running = new Set();
  /** @type {string[]} */ #announcements = [];
  #rebuild = true;
  #notFound = false;
  #frame = 0;
  #clock = 0;
  /** When the current frame's drawing should stop (performance.now()). */
  #deadline = 0;
  #started = false;
  #lang = "";
  /** @type {Strings} */ #strings = en;
  /** @type {Formats} */ #formats = formatsOf("");

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

  /** "light" or "dark": the page's colour scheme, reflected as the `theme` attribute. */
  get theme() { return this.getAttribute("theme") === "dark" ? "dark" : "light"; }

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

  /** The page's theme or language may have changed: called by the shared page observer (not an API). */
  pageChanged() {
    setAttr(this, "theme", pageTheme(this));
    const lang = (this.closest("[lang]")?.getAttribute("lang") || document.documentElement.lang || navigator.language || "en").trim();
    if (lang === this.#lang) return;
    this.#lang = lang;
    const locales = TaskProgressElement.locales;
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
      // Roots are ordered running first.
      if (record.parent === null) this.#structure.add("");
      this.#dirty.add(record.uuid);
      // A container's label counts its children, and its error shows only if no child shows it.
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
      // A chord counts the tasks of its header.
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
    // Nothing to tell at the end: never "about 0 sec left".
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
    const structure = this.#rebuild ? new Set([""]) : this.#structure;
    const dirty = this.#dirty;
    if (this.#rebuild) {
      this.#views.clear();
      this.#running.clear();
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
      const record = store?.records.get(uuid);
      const view = this.#views.get(uuid);
      if (record && view) this.#update(view, record);
      const parent = record?.parent && this.#views.get(record.parent);
      if (parent && parent.summary && !parent.summary.hidden) summaries.add(/** @type {string} */ (record.parent));
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
    }, 1000);
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
        // Summarized: no DOM for the children, so a 10,000-task group stays fast.
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
          // A large tree is drawn over several frames, its top first: this list goes on in the next.
          this.#structure.add(parent);
          this.#schedule();
          break;
        }
        child = this.#createView(/** @type {TaskRecord} */ (records?.get(uuid)));
      }
      if (child.el === next) next = next.nextElementSibling;
      else list.insertBefore(child.el, next);
    }
    // Nodes of records that are gone (a tree dropped from a snapshot).
    for (const el of [...list.children]) {
      const uuid = /** @type {HTMLElement} */ (el).dataset.uuid;
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
      // The header and the body of a chord, labelled.
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
      (p) => h("span", p),
    );
    marker.setAttribute("aria-hidden", "true");
    // The duration; its start and end times show on hover (title) and on keyboard focus.
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
    /** @type {View} */
    const view = {
      el, marker, name, state, counts, duration: took, took: tookText, when, rate, bar, fill, error, toggle, cancel,
      body, summary, list,
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
    // The state as a part name too, for pages: task-progress::part(node failed).
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
    // Through the CSSOM: allowed under a strict style-src.
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
    setText(view.took, this.#strings.took(duration(Math.max(0, end - started) / 1000, this.#lang, Math.floor)));
    const time = (/** @type {number} */ t) => {
      const sameDay = new Date(t).toDateString() === new Date().toDateString();
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
    /** @type {Map<string, {count: number, text: string}>} */
    const counts = new Map();
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
    // One bar, segmented by state.
    const segments = h("div", "segments");
    segments.setAttribute("role", "img");
    const described = order.map((key) => `${numbers.format(counts.get(key)?.count ?? 0)} ${counts.get(key)?.text}`);
    segments.setAttribute("aria-label", `${strings.summary}: ${described.join(", ")}`);
    for (const key of order) {
      const segment = h("span", "segment");
      segment.setAttribute("state", key);
      segment.setAttribute("part", `segment ${key}`);
      segment.style.setProperty("--share", `${((counts.get(key)?.count ?? 0) * 100) / Math.max(1, total)}%`);
      segments.append(segment);
    }
    const items = order.map((key) => {
      const { count, text } = /** @type {{count: number, text: string}} */ (counts.get(key));
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
    // Keeps keyboard focus on the button across the redraw.
    const active = this.#shadow.activeElement;
    const focused = active?.classList.contains("expand") && summary.contains(active);
    summary.replaceChildren(segments, ...items, expand);
    if (focused) expand.focus();
  }

  /** @param {Event} event */
  #click(event) {
    const button = /** @type {Element} */ (event.target).closest?.("button[data-action]");
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
      this.#cancel(uuid, /** @type {HTMLButtonElement} */ (button));
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
      // Nothing changed: the button is there to try again.
    } finally {
      button.disabled = false;
    }
  }
}
