// Keeps the admin's tree page and changelist live: every record the <task-progress> elements of the page
// apply (their "task-progress:update" event) updates the parts of the page marked data-live="<uuid>".
// A classic script with no inline code, so the pages work under a strict Content-Security-Policy.
"use strict";

(() => {
  const STATE_KEYS = {
    Pending: "pending",
    Succeeded: "succeeded",
    Failed: "failed",
    Canceled: "canceled",
    Retrying: "retrying",
  };
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "medium",
  });

  /** Writes a <time> element from an ISO time, or empties it. */
  const setTime = (element, iso) => {
    if (iso) {
      element.setAttribute("datetime", iso);
      element.textContent = format.format(new Date(iso));
    } else {
      element.removeAttribute("datetime");
      element.textContent = "";
    }
  };

  /** The elements under (and including) `root` that match `selector`. */
  const within = (root, selector) => [
    ...(root.matches(selector) ? [root] : []),
    ...root.querySelectorAll(selector),
  ];

  const apply = (record) => {
    const state = STATE_KEYS[record.state] || "running";
    for (const live of document.querySelectorAll(`[data-live="${CSS.escape(record.uuid)}"]`)) {
      for (const field of within(live, "[data-field]")) {
        switch (field.dataset.field) {
          case "state_text":
            field.textContent = record.state_text;
            break;
          case "counts":
            field.textContent = `${record.completed_steps} / ${record.total_steps}`;
            break;
          case "attempts":
            field.textContent = String(record.attempts);
            break;
          case "started":
          case "finished":
            setTime(field, record[field.dataset.field]);
            break;
          case "finished-part":
            field.hidden = !record.finished;
            break;
        }
      }
      for (const element of within(live, "[data-state]")) element.dataset.state = state;
      for (const bar of within(live, "progress")) {
        bar.max = Math.max(record.total_steps, 1);
        bar.value = Math.min(record.completed_steps, bar.max);
      }
    }
  };

  // Times in the reader's language, the same way before and after an update.
  for (const element of document.querySelectorAll("time[datetime]")) {
    setTime(element, element.getAttribute("datetime"));
  }
  document.addEventListener("task-progress:update", (event) => apply(event.detail.record));
})();
