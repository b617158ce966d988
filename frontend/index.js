// The module Django serves, built into realtime_tasks/static/realtime_tasks/task-progress.js.
export { TaskProgressElement } from "./task-progress-element.js";
export { define } from "./define.js";
