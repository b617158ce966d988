// The demo's buttons start their canvas with a fetch, so the page (and what <task-progress> shows: collapsed
// trees, "Show all", the scroll position) stays as it is. Without JavaScript the forms post and reload.
"use strict";

(() => {
  const said = document.querySelector("[data-started]");
  for (const form of document.querySelectorAll("form[data-start]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      const title = button.textContent.trim();
      button.setAttribute("aria-busy", "true");
      said.textContent = `Starting ${title}…`;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        said.textContent = response.ok ? `Started: ${title}.` : `Could not start ${title} (${response.status}).`;
      } catch {
        said.textContent = `Could not start ${title}: the server does not answer.`;
      } finally {
        button.removeAttribute("aria-busy");
      }
    });
  }
})();
