// The entry that registers <task-progress>: importing it defines the element (once, whoever imports it).
import { TaskProgressElement } from "./task-progress-element.js";

/**
 * Registers the element as `tag` in `registry`; a tag already defined is left as it is.
 * @param {string} [tag]
 * @param {CustomElementRegistry} [registry]
 */
export function define(tag = "task-progress", registry = globalThis.customElements) {
  return TaskProgressElement.define(tag, registry);
}

// A browser without custom elements gets no element, and no error.
if (globalThis.customElements) define();
