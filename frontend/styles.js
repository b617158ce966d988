// The shadow root's style sheet. Colours come from custom properties (documented in README.md), with
// defaults for light and dark schemes; nodes carry their state as an attribute: [state="failed"].
export const STYLE = `
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
