// One connection per endpoint, shared by every <task-progress> of the page that uses it: the WebSocket,
// its keep-alive, the replacement of a dead connection, reconnection with backoff and jitter, the polling
// of the JSON API while the socket is down, the close codes; and the one store all those elements draw.
import { TaskStore } from "./store.js";

/** @typedef {import("./store.js").Changes} Changes */
/** @typedef {{status: number, body: any}} JSONResponse */
/** @typedef {{method?: string, headers?: Record<string, string>}} FetchOptions */
/** @typedef {"connecting" | "live" | "polling" | "offline"} ConnectionState */

/**
 * An element that uses a connection.
 * @typedef {object} Client
 * @property {string} root the one tree it shows, or "" for every tree of the user
 * @property {number} pollInterval
 * @property {(url: string) => WebSocket} createSocket
 * @property {(url: string, options?: FetchOptions) => Promise<JSONResponse>} fetchJSON
 * @property {(changes: Changes) => void} storeChanged
 * @property {(state: ConnectionState) => void} connectionChanged
 */

export const CLOSE_NOT_AUTHENTICATED = 4401;
export const CLOSE_LAYER_FAILING = 4503;
const FAILURES_BEFORE_POLLING = 3;
const BACKOFF_BASE = 1000;
const BACKOFF_MAX = 30000;
// After this many milliseconds without a message the client pings; a connection that stays silent for
// PONG_WAIT more is taken for dead (a half-open TCP connection can look open for minutes).
const PING_AFTER = 25000;
const PONG_WAIT = 10000;
// The server closes a connection that sends more than 20 messages in a second (4429): the client sends at
// most SEND_LIMIT a second and queues the rest (a page of 100 single-tree elements subscribes over 7 s).
export const SEND_LIMIT = 15;

/** The WebSocket URL of `src`, resolved against the page, http(s) becoming ws(s). @param {string} src */
export function socketURL(src) {
  const url = new URL(src, location.href);
  if (url.protocol === "http:" || url.protocol === "https:") url.protocol = url.protocol.replace("http", "ws");
  return url.href;
}

/** @param {string} api */
const apiBase = (api) => (api.endsWith("/") ? api : `${api}/`);

export class Connection {
  /** The connections of the page, by endpoint. @type {Map<string, Connection>} */
  static #all = new Map();

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
    let connection = Connection.#all.get(key);
    if (!connection) {
      connection = new Connection(key, src ? socketURL(src) : "", api);
      Connection.#all.set(key, connection);
    }
    if (api && !connection.api) connection.api = api;
    return connection;
  }

  /** How many connections the page has (for tests and diagnostics). */
  static get count() {
    return Connection.#all.size;
  }

  /** @type {Set<Client>} */ #clients = new Set();
  /** @type {ConnectionState} */ state = "connecting";
  /** Closed with 4401, or the API answered 401: nothing more until every element has left. */
  loggedOut = false;
  /** @type {WebSocket | null} */ #socket = null;
  #failures = 0;
  #reconnectTimer = 0;
  #heartbeat = 0;
  #checkTimer = 0;
  #polling = false;
  #pollRun = 0;
  #pollTimer = 0;
  /** Messages waiting for the send limit. @type {object[]} */ #outbox = [];
  /** When the messages of the last second were sent. @type {number[]} */ #sentAt = [];
  #sendTimer = 0;

  /** @param {string} key @param {string} url the WebSocket URL, or "" to poll only @param {string} api */
  constructor(key, url, api) {
    this.key = key;
    this.url = url;
    this.api = api;
    this.store = new TaskStore({
      send: (message) => this.send(message),
      wants: (root) => [...this.#clients].some((client) => !client.root || client.root === root),
      pinned: () => new Set([...this.#clients].map((client) => client.root).filter(Boolean)),
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
    // The store followed only named trees so far, and this element shows every tree.
    if (!client.root && everyTree) this.store.resync();
    else this.rootChanged(client);
  }

  /** @param {Client} client */
  detach(client) {
    if (!this.#clients.delete(client) || this.#clients.size) return;
    this.#stop();
    Connection.#all.delete(this.key);
  }

  /** `client` shows another tree now: fetch it if the store lacks it. @param {Client} client */
  rootChanged(client) {
    const root = client.root;
    if (!root) {
      // Every tree now: the store may have followed named trees only.
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
    while (this.#sentAt.length && now - this.#sentAt[0] >= 1000) this.#sentAt.shift();
    while (this.#outbox.length && this.#sentAt.length < SEND_LIMIT) {
      const message = /** @type {object} */ (this.#outbox.shift());
      this.#sentAt.push(now);
      try {
        socket.send(JSON.stringify(message));
      } catch {
        // Not open any more: its close event brings a reconnect, and a snapshot.
      }
    }
    if (this.#outbox.length && !this.#sendTimer) {
      this.#sendTimer = setTimeout(() => {
        this.#sendTimer = 0;
        this.#flush();
      }, this.#sentAt[0] + 1000 - now);
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
      socket.close(1000);
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
    /** @type {WebSocket} */
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
        // Not waiting for the close handshake, which a dead connection never completes.
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
    // 4503: the server's channel layer is down, so no socket will be live for a while; its API still answers.
    if (this.#failures >= FAILURES_BEFORE_POLLING || code === CLOSE_LAYER_FAILING) this.#startPolling();
    const delay = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (this.#failures - 1));
    // Jitter: pages that lost the server together do not all come back in the same instant.
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay / 2 + (Math.random() * delay) / 2);
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
      /** @type {Set<string>} */
      const seen = new Set();
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
      // The network is down too: the next tick tries again.
    }
    if (run === this.#pollRun) {
      this.#pollTimer = setTimeout(() => this.#poll(run), Math.min(...clients.map((c) => c.pollInterval)));
    }
  }
}
