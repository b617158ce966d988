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
  running: "◐",
  succeeded: "✓",
  failed: "✕",
  canceled: "⊘",
  retrying: "↻",
});

/** @param {string} state */
export const stateKey = (state) => STATE_KEYS[state] ?? "running";

/** The name to show: the record's, else a container's kind or a task's class. @param {TaskRecord} record */
export const label = (record) => record.name || (record.kind === "task" ? record.task_class : record.kind);

/**
 * The completed and total steps to show: never more completed than total (a retried task starts its steps
 * again; a server that does not reset them must not make a bar read 9 / 3).
 * @param {TaskRecord} record
 */
export function steps(record) {
  const total = Math.max(0, Number(record.total_steps) || 0);
  const done = Math.min(total, Math.max(0, Number(record.completed_steps) || 0));
  return { done, total };
}

/** @param {TaskRecord} record */
export function percent(record) {
  const { done, total } = steps(record);
  if (!(total > 0)) return stateKey(record.state) === "succeeded" ? 100 : 0;
  // Floored: a bar shows 100% only when every step is done.
  return Math.min(100, Math.max(0, Math.floor((done * 100) / total)));
}

/**
 * A duration in `lang` ("8 sec", "2 min 40 sec"; "8 s", "2 min 40 s" in French), or the browser's language.
 * Rounded up by default (a time left); `round` = Math.floor for a time elapsed.
 * @param {number} seconds
 * @param {string} [lang]
 * @param {(n: number) => number} [round]
 */
export function duration(seconds, lang, round = Math.ceil) {
  const units = unitsOf(lang);
  const s = round(seconds);
  if (s < 60) return units.second.format(s);
  if (s < 3600) return `${units.minute.format(Math.floor(s / 60))} ${units.second.format(s % 60)}`;
  return `${units.hour.format(Math.floor(s / 3600))} ${units.minute.format(Math.floor((s % 3600) / 60))}`;
}

/** @type {Map<string, Record<"second" | "minute" | "hour", Intl.NumberFormat>>} */
const UNITS = new Map();

/** @param {string} [lang] */
function unitsOf(lang) {
  const key = lang ?? "";
  let units = UNITS.get(key);
  if (!units) {
    const format = (/** @type {string} */ unit) => {
      try {
        return new Intl.NumberFormat(lang || undefined, { style: "unit", unit, unitDisplay: "short" });
      } catch {
        // A lang Intl does not accept ("x-klingon"): the browser's language.
        return new Intl.NumberFormat(undefined, { style: "unit", unit, unitDisplay: "short" });
      }
    };
    units = { second: format("second"), minute: format("minute"), hour: format("hour") };
    UNITS.set(key, units);
  }
  return units;
}

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
  const { done, total } = steps(record);
  return { perSecond, left: (total - done) / perSecond };
}
