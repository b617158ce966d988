import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, $$, FakeSocket, frame, mount, rec, snapshot } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers();
  // No jitter: each reconnect waits the whole backoff.
  vi.spyOn(Math, "random").mockReturnValue(1);
});

afterEach(() => {
  document.body.replaceChildren();
  document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
  FakeSocket.all = [];
  vi.useRealTimers();
});

/** @param {string} uuid @param {number} [version] */
const snapshotOf = (uuid, version = 1) => snapshot(rec({ uuid, version }));

describe("the socket", () => {
  it("resolves a relative src against the page, with ws:", () => {
    mount({ src: "/ws/tasks/" });
    expect(FakeSocket.last.url).toBe("ws://localhost:3000/ws/tasks/");
  });

  it("keeps an absolute ws URL", () => {
    mount({ src: "wss://tasks.example.com/ws/" });
    expect(FakeSocket.last.url).toBe("wss://tasks.example.com/ws/");
  });

  it("reflects its connection state", () => {
    const el = mount({ src: "/ws/tasks/" });
    expect(el.getAttribute("connection")).toBe("connecting");
    expect(el.connection).toBe("connecting");
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    expect(el.getAttribute("connection")).toBe("live");
    expect($(el, ".status").textContent).toBe("Live");
  });

  it("reconnects with exponential backoff and resyncs from the new snapshot", () => {
    const el = mount({ src: "/ws/tasks/" });
    FakeSocket.last.receive(snapshotOf("a"));
    FakeSocket.last.drop();
    expect(el.connection).toBe("connecting");
    for (const delay of [1000, 2000]) {
      const count = FakeSocket.all.length;
      vi.advanceTimersByTime(delay - 1);
      expect(FakeSocket.all).toHaveLength(count);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all).toHaveLength(count + 1);
      if (delay === 1000) FakeSocket.last.drop();
    }
    FakeSocket.last.receive({ type: "snapshot", trees: [{ root: "b", records: [rec({ uuid: "b" })] }] });
    frame();
    expect(el.connection).toBe("live");
    expect($$(el, ".trees > .node").map((li) => li.dataset.uuid)).toEqual(["b"]);
    // Back to the first delay once the connection worked.
    FakeSocket.last.drop();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it("adds jitter and caps the delay", () => {
    vi.mocked(Math.random).mockReturnValue(0);
    mount({ src: "/ws/tasks/" });
    for (let failure = 1; failure <= 8; failure += 1) {
      FakeSocket.last.drop();
      const count = FakeSocket.all.length;
      const delay = Math.min(30000, 1000 * 2 ** (failure - 1)) / 2;
      vi.advanceTimersByTime(delay - 1);
      expect(FakeSocket.all).toHaveLength(count);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all).toHaveLength(count + 1);
    }
  });

  it("does not reconnect after 4401, and says why", () => {
    const el = mount({ src: "/ws/tasks/", api: "/tasks/" });
    FakeSocket.last.drop(4401);
    vi.advanceTimersByTime(120000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(el.fetchJSON).not.toHaveBeenCalled();
    expect(el.connection).toBe("offline");
    expect($(el, ".message").textContent).toBe("Log in to see your tasks.");
  });

  it("closes the socket and clears its timers when removed", () => {
    const el = mount({ src: "/ws/tasks/", api: "/tasks/" });
    for (const delay of [0, 1000, 2000]) {
      vi.advanceTimersByTime(delay);
      FakeSocket.last.drop();
    }
    vi.advanceTimersByTime(4000);
    const socket = FakeSocket.last;
    el.remove();
    expect(socket.closedWith).toBe(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps its connection on a new root, and subscribes to it", () => {
    const el = mount({ src: "/ws/tasks/", root: "a" });
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [] });
    expect(socket.sent).toEqual([{ type: "subscribe", root: "a" }]);
    el.root = "b";
    expect(socket.closedWith).toBe(null);
    expect(FakeSocket.all).toHaveLength(1);
    expect(socket.sent).toEqual([{ type: "subscribe", root: "a" }, { type: "subscribe", root: "b" }]);
    el.setAttribute("root", "b");
    expect(socket.sent).toHaveLength(2);
  });

  it("starts again on a new src", () => {
    const el = mount({ src: "/ws/tasks/" });
    const first = FakeSocket.last;
    el.src = "/ws/other/";
    expect(first.closedWith).toBe(1000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.last.url).toBe("ws://localhost:3000/ws/other/");
  });
});

describe("keep-alive", () => {
  it("pings after 25 s of silence, and any message restarts the wait", () => {
    mount({ src: "/ws/tasks/" });
    const socket = FakeSocket.last;
    socket.receive(snapshotOf("p"));
    vi.advanceTimersByTime(20000);
    socket.receive({ type: "status", records: [rec({ uuid: "p", version: 2 })] });
    vi.advanceTimersByTime(20000);
    expect(socket.sent).toEqual([]);
    vi.advanceTimersByTime(5000);
    expect(socket.sent).toEqual([{ type: "ping" }]);
    socket.receive({ type: "pong", time: 1 });
    vi.advanceTimersByTime(24000);
    expect(socket.sent).toHaveLength(1);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("drops a connection that answers nothing 10 s after a ping, and reconnects for a snapshot", () => {
    const el = mount({ src: "/ws/tasks/" });
    const socket = FakeSocket.last;
    socket.receive(snapshotOf("p"));
    vi.advanceTimersByTime(25000 + 10000);
    expect(socket.closedWith).toBe(1005);
    expect(el.connection).toBe("connecting");
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.receive(snapshotOf("p", 2));
    expect(el.connection).toBe("live");
  });
});

describe("polling", () => {
  it("polls the API after three failed connections and keeps trying the socket", async () => {
    const el = mount({ src: "/ws/tasks/", api: "/tasks/", "poll-interval": "500" });
    const fetchJSON = vi.mocked(el.fetchJSON);
    fetchJSON.mockResolvedValue({ status: 200, body: { trees: [{ root: "p", records: [rec({ uuid: "p" })] }] } });
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(2000);
    expect(fetchJSON).not.toHaveBeenCalled();
    FakeSocket.last.drop();
    expect(el.connection).toBe("polling");
    expect(fetchJSON).toHaveBeenCalledWith("/tasks/trees/");
    await vi.advanceTimersByTimeAsync(20);
    expect($$(el, ".node").map((li) => li.dataset.uuid)).toEqual(["p"]);
    await vi.advanceTimersByTimeAsync(500);
    expect(fetchJSON).toHaveBeenCalledTimes(2);
    // The socket is tried again in the background; its snapshot ends the polling.
    await vi.advanceTimersByTimeAsync(4000 - 520);
    expect(FakeSocket.all).toHaveLength(4);
    expect(el.connection).toBe("polling");
    FakeSocket.last.receive(snapshotOf("p", 2));
    expect(el.connection).toBe("live");
    const calls = fetchJSON.mock.calls.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(fetchJSON).toHaveBeenCalledTimes(calls);
  });

  it("polls at once when the server says its channel layer failed (4503), and keeps trying the socket", async () => {
    const el = mount({ src: "/ws/tasks/", api: "/tasks/" });
    const fetchJSON = vi.mocked(el.fetchJSON);
    fetchJSON.mockResolvedValue({ status: 200, body: { trees: [] } });
    FakeSocket.last.receive(snapshotOf("p"));
    FakeSocket.last.drop(4503);
    expect(el.connection).toBe("polling");
    expect(fetchJSON).toHaveBeenCalledWith("/tasks/trees/");
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.receive(snapshotOf("p", 2));
    expect(el.connection).toBe("live");
  });

  it("polls at once without src", async () => {
    const el = mount({ api: "/tasks" });
    expect(el.connection).toBe("polling");
    expect(el.fetchJSON).toHaveBeenCalledWith("/tasks/trees/");
    await vi.advanceTimersByTimeAsync(2000);
    expect(el.fetchJSON).toHaveBeenCalledTimes(2);
    expect(FakeSocket.all).toHaveLength(0);
  });

  it("is offline without src and api", () => {
    const el = mount({});
    expect(el.connection).toBe("offline");
  });

  it("polls one tree with root", async () => {
    const el = mount({ api: "/tasks/", root: "c" });
    vi.mocked(el.fetchJSON).mockResolvedValue({ status: 200, body: { root: "c", records: [rec({ uuid: "c" })] } });
    await vi.advanceTimersByTimeAsync(2020);
    expect(el.fetchJSON).toHaveBeenCalledWith("/tasks/trees/c/");
    expect($$(el, ".node").map((li) => li.dataset.uuid)).toEqual(["c"]);
  });

  it("stops and says why when the API answers 401", async () => {
    const el = mount({ api: "/tasks/" });
    vi.mocked(el.fetchJSON).mockResolvedValue({ status: 401, body: { error: "not_authenticated" } });
    await vi.advanceTimersByTimeAsync(2020);
    await vi.advanceTimersByTimeAsync(10000);
    expect(el.fetchJSON).toHaveBeenCalledTimes(2);
    expect($(el, ".message").textContent).toBe("Log in to see your tasks.");
  });

  it("keeps polling through network errors", async () => {
    const el = mount({ api: "/tasks/" });
    vi.mocked(el.fetchJSON).mockRejectedValue(new TypeError("Failed to fetch"));
    await vi.advanceTimersByTimeAsync(4000);
    expect(el.fetchJSON).toHaveBeenCalledTimes(3);
  });
});

describe("one connection for the page", () => {
  /** @param {string} uuid @param {number} sequence */
  const treeOf = (uuid, sequence = 1) => ({ root: uuid, sequence, records: [rec({ uuid })] });

  it("opens one socket for 20 elements, each showing its own trees", () => {
    const roots = Array.from({ length: 19 }, (_, i) => `t${i}`);
    const all = mount({ src: "/ws/tasks/", api: "/tasks/" });
    const one = roots.map((root) => mount({ src: "/ws/tasks/", api: "/tasks/", root }));
    expect(FakeSocket.all).toHaveLength(1);
    const socket = FakeSocket.last;
    // The snapshot holds t0 to t9; t10 to t18 are older trees, fetched once each.
    socket.receive({ type: "snapshot", trees: roots.slice(0, 10).map((root) => treeOf(root)) });
    expect(socket.sent).toEqual(roots.slice(10).map((root) => ({ type: "subscribe", root })));
    for (const root of roots.slice(10)) socket.receive({ type: "tree", root, sequence: 4, part: 1, parts: 1, records: [rec({ uuid: root })] });
    frame();
    expect(one.map((el) => $$(el, ".trees > .node").map((li) => li.dataset.uuid))).toEqual(roots.map((root) => [root]));
    expect($$(all, ".trees > .node")).toHaveLength(19);
    expect([all, ...one].every((el) => el.connection === "live")).toBe(true);
    // A change reaches every element that shows its tree, from the one message.
    socket.receive({ type: "status", root: "t3", sequences: [2], records: [rec({ uuid: "t3", version: 2, completed_steps: 1 })] });
    frame();
    expect($(one[3], ".counts").textContent).toBe("1 / 1 · 100%");
    expect($(all, '.node[data-uuid="t3"] .counts').textContent).toBe("1 / 1 · 100%");
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("keeps the socket while one element uses it, and closes it with the last", () => {
    const els = Array.from({ length: 3 }, () => mount({ src: "/ws/tasks/" }));
    const socket = FakeSocket.last;
    els[0].remove();
    els[1].remove();
    expect(socket.closedWith).toBe(null);
    els[2].remove();
    expect(socket.closedWith).toBe(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives an element added later what the store holds, without a new socket", () => {
    mount({ src: "/ws/tasks/" });
    FakeSocket.last.receive({ type: "snapshot", trees: [treeOf("a")] });
    const late = mount({ src: "/ws/tasks/" });
    frame();
    expect(late.connection).toBe("live");
    expect($$(late, ".trees > .node").map((li) => li.dataset.uuid)).toEqual(["a"]);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("uses one socket per endpoint", () => {
    mount({ src: "/ws/tasks/" });
    mount({ src: "ws://localhost:3000/ws/tasks/" });
    mount({ src: "/ws/admin-tasks/" });
    expect(FakeSocket.all.map((socket) => socket.url)).toEqual([
      "ws://localhost:3000/ws/tasks/",
      "ws://localhost:3000/ws/admin-tasks/",
    ]);
  });

  it("reconnects once for all its elements, with backoff", () => {
    const els = Array.from({ length: 5 }, () => mount({ src: "/ws/tasks/" }));
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    FakeSocket.last.drop();
    expect(els.every((el) => el.connection === "connecting")).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.drop();
    vi.advanceTimersByTime(1999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    expect(els.every((el) => el.connection === "live")).toBe(true);
  });

  it("logs every element out on 4401, and never reconnects", () => {
    const els = Array.from({ length: 4 }, (_, i) => mount({ src: "/ws/tasks/", api: "/tasks/", ...(i ? { root: `r${i}` } : {}) }));
    FakeSocket.last.receive({ type: "snapshot", trees: [treeOf("r1")] });
    frame();
    FakeSocket.last.drop(4401);
    vi.advanceTimersByTime(120000);
    frame();
    expect(FakeSocket.all).toHaveLength(1);
    expect(els.every((el) => el.connection === "offline")).toBe(true);
    expect(els.map((el) => $(el, ".message").textContent)).toEqual(Array(4).fill("Log in to see your tasks."));
    expect($$(els[1], ".node")).toHaveLength(0);
    expect(els[0].fetchJSON).not.toHaveBeenCalled();
  });

  it("re-fetches a tree with a gap after 2 s, through the shared socket", () => {
    const el = mount({ src: "/ws/tasks/" });
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [treeOf("a", 3), treeOf("b", 1)] });
    socket.receive({ type: "status", root: "a", sequences: [5], records: [rec({ uuid: "a", version: 5 })] });
    vi.advanceTimersByTime(1999);
    expect(socket.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(socket.sent).toEqual([{ type: "subscribe", root: "a" }]);
    socket.receive({ type: "tree", root: "a", sequence: 5, part: 1, parts: 1, records: [rec({ uuid: "a", version: 5 })] });
    vi.advanceTimersByTime(30000);
    expect(socket.sent.filter((message) => message.type !== "ping")).toEqual([{ type: "subscribe", root: "a" }]);
    expect(el.connection).toBe("live");
  });

  it("drops a tree the server stops showing", () => {
    const el = mount({ src: "/ws/tasks/" });
    FakeSocket.last.receive({ type: "snapshot", trees: [treeOf("a"), treeOf("b")] });
    frame();
    FakeSocket.last.receive({ type: "unsubscribed", root: "a", reason: "forbidden" });
    frame();
    expect($$(el, ".trees > .node").map((li) => li.dataset.uuid)).toEqual(["b"]);
  });

  it("polls every tree once for all its elements, and a named tree the answer lacks", async () => {
    const a = mount({ api: "/tasks/" });
    const b = mount({ api: "/tasks/", root: "old" });
    const fetchJSON = vi.mocked(a.fetchJSON);
    fetchJSON.mockImplementation(async (url) =>
      url === "/tasks/trees/"
        ? { status: 200, body: { trees: [{ root: "p", records: [rec({ uuid: "p" })] }] } }
        : { status: 200, body: { root: "old", records: [rec({ uuid: "old" })] } },
    );
    await vi.advanceTimersByTimeAsync(20);
    // Every tree, then the named tree the answer lacks; through the first element's fetchJSON.
    expect(fetchJSON.mock.calls.map(([url]) => url).slice(-2)).toEqual(["/tasks/trees/", "/tasks/trees/old/"]);
    expect(b.fetchJSON).not.toHaveBeenCalled();
    expect($$(a, ".trees > .node").map((li) => li.dataset.uuid).sort()).toEqual(["old", "p"]);
    expect($$(b, ".trees > .node").map((li) => li.dataset.uuid)).toEqual(["old"]);
  });
});

describe("the send limit", () => {
  it("sends at most 15 messages a second, so 20 single-tree elements do not trip the server's limit", () => {
    const roots = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const root of roots) mount({ src: "/ws/tasks/", root });
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [] });
    expect(socket.sent).toHaveLength(15);
    vi.advanceTimersByTime(999);
    expect(socket.sent).toHaveLength(15);
    vi.advanceTimersByTime(1);
    expect(socket.sent).toEqual(roots.map((root) => ({ type: "subscribe", root })));
  });

  it("drops what waits when the socket goes", () => {
    for (let i = 0; i < 20; i += 1) mount({ src: "/ws/tasks/", root: `r${i}` });
    const socket = FakeSocket.last;
    socket.receive({ type: "snapshot", trees: [] });
    socket.drop();
    vi.advanceTimersByTime(900);
    expect(socket.sent).toHaveLength(15);
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.last.sent).toEqual([]);
  });
});
