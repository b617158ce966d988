// The records of docs/protocol.md, and what the element reads from them.

/**
 * One record of a task tree, as `realtime_tasks.serializers.serialize` sends it.
 * @typedef {object} TaskRecord
 * @property {string} uuid
 * @property {string} root
 * @property {string | null} parent
 * @property {number} position
 * @property {string} task_id
 * @property {string} kind "task", "chain", "group" or "chord"
 * @property {string} task_class
 * @property {string} name
 * @property {string} state
 * @property {string} state_text
 * @property {number} completed_steps
 * @property {number} total_steps
 * @property {number} attempts
 * @property {number} version
 * @property {string} created
 * @property {string} modified
 * @property {string | null} started
 * @property {string | null} finished
 * @property {string | null} error
 */

/** @typedef {{root: string, records: TaskRecord[]}} TaskTree */

/** The `state` attribute of a node for each built-in state; any other (custom) state is in progress. */
const STATE_KEYS = /** @type {Record<string, string>} */ ({
  Pending: "pending",
  "In Progress": "running",
  Succeeded: "succeeded",
  Failed: "failed",
  Canceled: "canceled",
  Retrying: "retrying",
});

export const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
export const CONTAINERS = new Set(["chain", "group", "chord"]);

/** An icon for each state, so that a state never shows by colour alone. */
export const MARKERS = /** @type {Record<string, string>} */ ({
  pending: "○",
  running: "▶",
  succeeded: "✓",
  failed: "✕",
  canceled: "⊘",
  retrying: "↻",
});

/** @param {string} state */
export const stateKey = (state) => STATE_KEYS[state] ?? "running";

/** The name to show: the record's, else a container's kind or a task's class. @param {TaskRecord} record */
export const label = (record) => record.name || (record.kind === "task" ? record.task_class : record.kind);

/** @param {TaskRecord} record */
export function percent(record) {
  const { completed_steps: done, total_steps: total } = record;
  if (!(total > 0)) return stateKey(record.state) === "succeeded" ? 100 : 0;
  // Floored: a bar shows 100% only when every step is done.
  return Math.min(100, Math.max(0, Math.floor((done * 100) / total)));
}

/** @param {number} seconds */
export function duration(seconds) {
  const s = Math.ceil(seconds);
  if (s < 60) return UNITS.second.format(s);
  if (s < 3600) return `${UNITS.minute.format(Math.floor(s / 60))} ${UNITS.second.format(s % 60)}`;
  return `${UNITS.hour.format(Math.floor(s / 3600))} ${UNITS.minute.format(Math.floor((s % 3600) / 60))}`;
}

// Durations in the browser's language ("8 sec", "8 Sek.", "8 s"...).
const unitFormat = (/** @type {string} */ unit) =>
  new Intl.NumberFormat(undefined, { style: "unit", unit, unitDisplay: "short" });
const UNITS = { second: unitFormat("second"), minute: unitFormat("minute"), hour: unitFormat("hour") };

// Rate and time left need this much history of a record: samples, over at least this many milliseconds;
// they follow the recent pace: the last samples, within a window.
const RATE_SAMPLES = 3;
const RATE_SPAN = 1000;
const RATE_KEEP = 20;
const RATE_WINDOW = 120000;

/**
 * Adds the progress of `record` to `samples` ([time, completed steps], oldest first), and returns them.
 * @param {number[][]} samples
 * @param {TaskRecord} record
 */
export function addSample(samples, record) {
  // The server's time of the change: messages batched on the way do not bunch the samples up.
  const time = Date.parse(record.modified) || Date.now();
  const last = samples[samples.length - 1];
  if (last && time <= last[0]) return samples;
  samples.push([time, record.completed_steps]);
  while (samples.length > RATE_KEEP || time - samples[0][0] > RATE_WINDOW) samples.shift();
  return samples;
}

/**
 * Steps a second and seconds left, or null until the samples tell.
 * @param {number[][]} samples
 * @param {TaskRecord} record
 */
export function progressRate(samples, record) {
  if (samples.length < RATE_SAMPLES) return null;
  const [[t0, c0], [t1, c1]] = [samples[0], samples[samples.length - 1]];
  if (t1 - t0 < RATE_SPAN || c1 <= c0) return null;
  const perSecond = ((c1 - c0) * 1000) / (t1 - t0);
  return { perSecond, left: Math.max(0, record.total_steps - record.completed_steps) / perSecond };
}
