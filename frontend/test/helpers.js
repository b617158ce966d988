// Shared by the tests: a fake WebSocket, record builders, and a mount that wires both fakes in.
import { vi } from "vitest";
import { TaskProgressElement } from "../index.js";

/** @typedef {import("../records.js").TaskRecord} TaskRecord */

/** A WebSocket stand-in: the test plays the server. */
export class FakeSocket {
  /** @type {FakeSocket[]} */
  static all = [];

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {any[]} */
    this.sent = [];
    /** @type {number | null} */
    this.closedWith = null;
    /** @type {((event: {data: string}) => void) | null} */
    this.onmessage = null;
    /** @type {((event: {code: number}) => void) | null} */
    this.onclose = null;
    FakeSocket.all.push(this);
  }

  /** @param {string} data */
  send(data) {
    this.sent.push(JSON.parse(data));
  }

  /** @param {number} [code] */
  close(code) {
    this.closedWith = code ?? 1005;
  }

  /** The server sends `message`. @param {object} message */
  receive(message) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  /** The connection ends with `code`. @param {number} [code] */
  drop(code = 1006) {
    this.onclose?.({ code });
  }

  static get last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
}

let clock = Date.parse("2026-11-23T20:00:00Z");

/**
 * A record with defaults for what the test does not care about.
 * @param {Partial<TaskRecord> & {uuid: string}} fields
 * @returns {TaskRecord}
 */
export function rec(fields) {
  const kind = fields.kind ?? "task";
  const state = fields.state ?? "In Progress";
  const time = new Date((clock += 1000)).toISOString();
  return {
    root: fields.uuid,
    parent: null,
    position: 0,
    task_id: `task-${fields.uuid}`,
    kind,
    task_class: kind === "task" ? "reports.tasks.step" : `celery.${kind}`,
    name: `Name ${fields.uuid}`,
    state,
    state_text: state,
    completed_steps: 0,
    total_steps: 1,
    attempts: 1,
    version: 1,
    created: time,
    modified: time,
    started: null,
    finished: null,
    error: null,
    ...fields,
  };
}

/**
 * The records of a tree given as nested arrays: [uuid, kind, children?].
 * @typedef {[string, string, Shape[]?]} Shape
 * @param {Shape} shape
 * @param {string} [root]
 * @param {string | null} [parent]
 * @param {number} [position]
 * @returns {TaskRecord[]}
 */
export function tree(shape, root = shape[0], parent = null, position = 0) {
  const [uuid, kind, children = []] = shape;
  return [
    rec({ uuid, root, parent, position, kind, name: uuid }),
    ...children.flatMap((child, index) => tree(child, root, uuid, index)),
  ];
}

/**
 * A connected <task-progress> with a fake socket and a fake fetch.
 * @param {Record<string, string>} [attributes]
 */
export function mount(attributes = { src: "/ws/tasks/", api: "/tasks/" }) {
  const el = /** @type {TaskProgressElement} */ (document.createElement("task-progress"));
  el.createSocket = (url) => /** @type {any} */ (new FakeSocket(url));
  el.fetchJSON = vi.fn(async () => ({ status: 200, body: { trees: [] } }));
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
  document.body.append(el);
  return el;
}

/** Lets the element draw (its writes wait for an animation frame). */
export function frame() {
  vi.advanceTimersByTime(20);
}

/** @param {TaskProgressElement} el @param {string} selector */
export function $(el, selector) {
  return /** @type {HTMLElement} */ (/** @type {ShadowRoot} */ (el.shadowRoot).querySelector(selector));
}

/** @param {TaskProgressElement} el @param {string} selector */
export function $$(el, selector) {
  const nodes = /** @type {ShadowRoot} */ (el.shadowRoot).querySelectorAll(selector);
  return [...nodes].map((found) => /** @type {HTMLElement} */ (found));
}

/** A snapshot of the trees of `records`, in their order. @param {TaskRecord[]} records */
export function snapshot(...records) {
  const roots = [...new Set(records.map((record) => record.root))];
  return { type: "snapshot", trees: roots.map((root) => ({ root, records: records.filter((r) => r.root === root) })) };
}

/** @param {TaskRecord[]} records */
export const status = (...records) => ({ type: "status", records });

/** The node of record `uuid`. @param {TaskProgressElement} el @param {string} uuid */
export function node(el, uuid) {
  return $(el, `.node[data-uuid="${uuid}"]`);
}

/**
 * The child of `el` with part `name` (jsdom's selectors miss `:scope` inside a shadow root).
 * @param {Element | null | undefined} el
 * @param {string} name
 */
function child(el, name) {
  return [...(el?.children ?? [])].find((c) => c.getAttribute("part")?.split(" ").includes(name));
}

/** A part of a node itself, not of its children. @param {HTMLElement} nodeEl @param {string} name */
export function part(nodeEl, name) {
  return /** @type {HTMLElement} */ (child(nodeEl, name) ?? child(child(nodeEl, "row"), name));
}

/**
 * The drawn tree as text: one line a node, indented by depth, with the list its children are in.
 * @param {ParentNode} list
 * @param {string} [indent]
 * @returns {string[]}
 */
export function outline(list, indent = "") {
  return [...list.children].flatMap((li) => {
    const name = part(/** @type {HTMLElement} */ (li), "name").textContent;
    const children = child(child(li, "children"), "list");
    const head = `${indent}${li.getAttribute("kind")} ${name}${children ? ` <${children.tagName.toLowerCase()}>` : ""}`;
    return [head, ...(children ? outline(children, `${indent}  `) : [])];
  });
}

export { TaskProgressElement };
