// The shadow root's style sheet, adopted as a constructed sheet (no <style>, no style attribute: it works
// under a Content-Security-Policy without 'unsafe-inline'). Colours come from custom properties
// (documented in README.md), with a light and a dark set chosen by the host's `theme` attribute, which
// the element takes from the page's own `color-scheme`. Nodes carry their state as an attribute:
// [state="failed"]. Widths come from custom properties set through the CSSOM (--value, --share).
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

/** @type {CSSStyleSheet | null} */
let sheet = null;

/**
 * Gives `root` the style sheet: one constructed sheet shared by every element (no 'unsafe-inline' needed);
 * a <style> only where the browser cannot adopt sheets.
 * @param {ShadowRoot} root
 */
export function adoptStyles(root) {
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
