// The visuals of issue 13: counts that never exceed the total, no "0 sec left", the error once, durations,
// the theme taken from the page, the words of the page's language, and styles that need no 'unsafe-inline'.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, $$, FakeSocket, frame, mount, node, part, rec, tree } from "./helpers.js";

/** @param {import("./helpers.js").TaskRecord[]} records @param {Record<string, string>} [attributes] */
function showing(records, attributes = { src: "/ws/tasks/" }) {
  const el = mount(attributes);
  FakeSocket.last.receive({ type: "snapshot", trees: [{ root: records[0].root, records }] });
  frame();
  return el;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  document.body.replaceChildren();
  document.head.replaceChildren();
  document.documentElement.removeAttribute("style");
  document.documentElement.removeAttribute("lang");
  FakeSocket.all = [];
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("retries", () => {
  it("never show more completed than total, nor over 100%", () => {
    const el = showing([rec({ uuid: "t", state: "Retrying", attempts: 2, completed_steps: 4, total_steps: 3 })]);
    const t = node(el, "t");
    expect(part(t, "counts").textContent).toBe("3 / 3 · 100%");
    expect(part(t, "bar").getAttribute("aria-valuenow")).toBe("100");
    expect(part(t, "bar").getAttribute("aria-valuetext")).toBe("3 of 3 (100%)");
    expect(/** @type {HTMLElement} */ (part(t, "bar").firstElementChild).style.getPropertyValue("--value")).toBe("100%");
    FakeSocket.last.receive({ type: "status", records: [rec({ uuid: "t", state: "Succeeded", completed_steps: 9, total_steps: 3, version: 2 })] });
    frame();
    expect(part(t, "counts").textContent).toBe("3 / 3 · 100%");
  });
});

describe("time left", () => {
  /** @param {number} seconds @param {number} done */
  const at = (seconds, done) => {
    const modified = new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
    return rec({ uuid: "t", total_steps: 10, completed_steps: done, version: seconds + 1, modified });
  };

  it("is not shown at 100%, even while the node still runs", () => {
    const el = showing([at(0, 0)]);
    FakeSocket.last.receive({ type: "status", records: [at(1, 5), at(2, 9)] });
    frame();
    expect(part(node(el, "t"), "rate").textContent).toBe("4.5/s, about 1 sec left");
    FakeSocket.last.receive({ type: "status", records: [at(3, 10)] });
    frame();
    expect(node(el, "t").getAttribute("state")).toBe("running");
    expect(part(node(el, "t"), "rate").textContent).toBe("");
    expect(el.shadowRoot?.textContent).not.toMatch(/0 sec left/);
  });
});

describe("the error", () => {
  const failed = () => {
    const records = tree(["c", "chain", [["g", "group", [["a", "task"], ["f", "task"]]]]]);
    return records.map((record) =>
      ["c", "g", "f"].includes(record.uuid) ? { ...record, state: "Failed", state_text: "Failed", error: "Out of paper" } : record,
    );
  };

  it("shows once, on the task that failed", () => {
    const el = showing(failed());
    const shown = $$(el, ".error").filter((error) => !error.hidden);
    expect(shown.map((error) => error.closest(".node")?.getAttribute("data-uuid"))).toEqual(["f"]);
    expect(el.shadowRoot?.textContent?.split("Out of paper")).toHaveLength(2);
  });

  it("moves to the container while its steps are collapsed", () => {
    const el = showing(failed());
    part(node(el, "c"), "toggle").click();
    const shown = $$(el, ".error").filter((error) => !error.hidden && !error.closest("[hidden]"));
    expect(shown.map((error) => error.closest(".node")?.getAttribute("data-uuid"))).toEqual(["c"]);
  });
});

describe("durations", () => {
  it("shows how long a node took, and its start and end times on hover and focus", () => {
    const started = "2026-11-23T20:31:07Z";
    const el = showing([rec({ uuid: "t", state: "Succeeded", started, finished: "2026-11-23T20:33:19Z" })]);
    const took = part(node(el, "t"), "duration");
    expect(took.firstElementChild?.textContent).toBe("2 min 12 sec");
    expect(took.getAttribute("tabindex")).toBe("0");
    expect(took.getAttribute("title")).toMatch(/^Started .+, ended .+$/);
    expect(took.querySelector(".when")?.textContent).toBe(took.getAttribute("title"));
  });

  it("counts the elapsed time of a running node every second, and none for a pending one", () => {
    const started = new Date(Date.now() - 5000).toISOString();
    const el = showing([
      rec({ uuid: "c", kind: "chain", started }),
      rec({ uuid: "p", root: "c", parent: "c", state: "Pending" }),
    ]);
    const took = part(node(el, "c"), "duration");
    expect(took.firstElementChild?.textContent).toBe("5 sec");
    vi.advanceTimersByTime(1000);
    frame();
    expect(took.firstElementChild?.textContent).toBe("6 sec");
    expect(part(node(el, "p"), "duration").textContent).toBe("");
    expect(part(node(el, "p"), "duration").hasAttribute("tabindex")).toBe(false);
  });
});

describe("the theme", () => {
  it("is light on a page that says nothing, whatever the system prefers", () => {
    vi.stubGlobal("matchMedia", () => ({ matches: true, addEventListener() {}, removeEventListener() {} }));
    const el = mount();
    expect(el.getAttribute("theme")).toBe("light");
    expect(el.theme).toBe("light");
  });

  it("is dark on a dark page, and follows the page when it changes", async () => {
    document.documentElement.style.setProperty("color-scheme", "dark");
    const el = mount();
    expect(el.getAttribute("theme")).toBe("dark");
    document.documentElement.style.setProperty("color-scheme", "light");
    await Promise.resolve();
    expect(el.getAttribute("theme")).toBe("light");
  });

  it("takes the nearest ancestor's scheme, and the system's when the page accepts both", () => {
    let dark = false;
    vi.stubGlobal("matchMedia", () => ({ matches: dark, addEventListener() {}, removeEventListener() {} }));
    const style = document.createElement("style");
    style.textContent = ".both { color-scheme: light dark; } .dark { color-scheme: dark; }";
    document.head.append(style);
    const both = document.createElement("div");
    both.className = "both";
    document.body.append(both);
    const el = mount();
    both.append(el);
    el.pageChanged();
    expect(el.theme).toBe("light");
    dark = true;
    el.pageChanged();
    expect(el.theme).toBe("dark");
    dark = false;
    both.className = "dark";
    el.pageChanged();
    expect(el.theme).toBe("dark");
  });

  it("reads the page's meta color-scheme", () => {
    const meta = document.createElement("meta");
    meta.name = "color-scheme";
    meta.content = "dark";
    document.head.append(meta);
    expect(mount().theme).toBe("dark");
  });
});

describe("words", () => {
  it("come from the page's language", () => {
    document.documentElement.lang = "fr-FR";
    const started = "2026-11-23T20:31:07Z";
    const el = showing([
      rec({ uuid: "c", kind: "chain", name: "", completed_steps: 1, total_steps: 4, started, finished: "2026-11-23T20:31:15Z" }),
      rec({ uuid: "a", root: "c", parent: "c" }),
    ], { src: "/ws/tasks/", api: "/tasks/", cancelable: "" });
    expect(part(node(el, "c"), "name").textContent).toBe("Chaîne · 1 étape");
    expect(part(node(el, "c"), "counts").textContent).toBe("1 / 4 · 25 %");
    expect(part(node(el, "c"), "cancel").textContent).toBe("Annuler");
    expect(part(node(el, "c"), "duration").firstElementChild?.textContent).toMatch(/^8\ss$/);
    expect(part(node(el, "c"), "toggle").getAttribute("aria-label")).toBe("Étapes de Chaîne · 1 étape");
    expect(el.connection).toBe("live");
    expect($(el, ".status").textContent).toBe("En direct");
  });

  it("follow the element's own lang over the document's", () => {
    document.documentElement.lang = "fr";
    const el = mount({ src: "/ws/tasks/", lang: "en" });
    FakeSocket.last.receive({ type: "snapshot", trees: [] });
    frame();
    expect($(el, ".message").textContent).toBe("No tasks.");
    el.lang = "fr";
    frame();
    expect($(el, ".message").textContent).toBe("Aucune tâche.");
  });
});

describe("styles under a strict CSP", () => {
  it("are one constructed sheet adopted by every element, with no <style> and no inline colour", () => {
    /** @type {WeakMap<ShadowRoot, CSSStyleSheet[]>} */
    const adopted = new WeakMap();
    Object.defineProperty(ShadowRoot.prototype, "adoptedStyleSheets", {
      configurable: true,
      get() { return adopted.get(this) ?? []; },
      set(sheets) { adopted.set(this, sheets); },
    });
    try {
      const a = showing([rec({ uuid: "t", completed_steps: 1, total_steps: 2 })]);
      const b = mount();
      const [sheetA, sheetB] = [a, b].map((el) => /** @type {any} */ (el.shadowRoot).adoptedStyleSheets);
      expect(sheetA).toHaveLength(1);
      expect(sheetA[0]).toBe(sheetB[0]);
      expect(a.shadowRoot?.querySelectorAll("style")).toHaveLength(0);
      // Only custom properties, set through the CSSOM.
      const styled = [.../** @type {ShadowRoot} */ (a.shadowRoot).querySelectorAll("[style]")];
      expect(styled.map((el) => el.getAttribute("style"))).toEqual(["--value: 50%;"]);
    } finally {
      delete (/** @type {any} */ (ShadowRoot.prototype)).adoptedStyleSheets;
    }
  });
});
