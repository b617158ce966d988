// One automated accessibility check (axe-core) of a tree with every kind of node the element draws.
import axe from "axe-core";
import { afterEach, expect, it } from "vitest";
import { FakeSocket, mount, rec, tree } from "./helpers.js";

afterEach(() => {
  document.body.replaceChildren();
  FakeSocket.all = [];
});

it("has no axe violations", async () => {
  const el = mount({ src: "/ws/tasks/", api: "/tasks/", cancelable: "" });
  const records = tree(["c", "chain", [["d", "chord", [["g", "group"], ["b", "task"]]], ["s", "task"]]]);
  const members = Array.from({ length: 60 }, (_, i) => rec({ uuid: `m${i}`, root: "c", parent: "g", position: i }));
  const failed = rec({ uuid: "f", state: "Failed", error: "Out of paper", created: "2026-01-01T00:00:00Z" });
  const retrying = rec({ uuid: "r", root: "c", parent: "c", position: 2, state: "Retrying", attempts: 2 });
  FakeSocket.last.receive({
    type: "snapshot",
    trees: [
      { root: "c", records: [...records, ...members, retrying] },
      { root: "f", records: [failed] },
    ],
  });
  // Drawn over as many frames as it takes (jsdom is slow): 7 nodes, the group of 60 being summarized.
  for (let frames = 0; frames < 100 && el.shadowRoot?.querySelectorAll(".node").length !== 7; frames++) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  expect(el.shadowRoot?.querySelectorAll(".node").length).toBe(7);
  // jsdom draws nothing, so contrast cannot be measured here.
  const results = await axe.run(el, { rules: { "color-contrast": { enabled: false } } });
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(", ")}`)).toEqual([]);
});
