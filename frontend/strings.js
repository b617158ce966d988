// The words <task-progress> shows, by language. The element takes the table of its `lang` (its own, an
// ancestor's, or the document's), else English. Numbers and durations are formatted by Intl in that
// language; state names come translated from the server (`state_text`).

/** English: 1 is singular. @param {number} n @param {string} one @param {string} other */
const plural = (n, one, other) => (n === 1 ? one : other);
/** French: 0 and 1 are singular. @param {number} n @param {string} one @param {string} other */
const pluriel = (n, one, other) => (n < 2 ? one : other);

export const en = {
  connection: { connecting: "Connecting…", live: "Live", polling: "Polling", offline: "Offline" },
  loggedOut: "Log in to see your tasks.",
  notFound: "This task was not found.",
  empty: "No tasks.",
  cancel: "Cancel",
  steps: /** @param {string} name */ (name) => `Steps of ${name}`,
  attempt: /** @param {number} n */ (n) => `attempt ${n}`,
  showAll: /** @param {string} n */ (n) => `Show all ${n}`,
  showSummary: "Show summary",
  counts: /** @param {string} done @param {string} total @param {string} pct */ (done, total, pct) =>
    `${done} / ${total} · ${pct}%`,
  valueText: /** @param {string} done @param {string} total @param {number} pct */ (done, total, pct) =>
    `${done} of ${total} (${pct}%)`,
  rate: /** @param {string} rate @param {string} left */ (rate, left) => `${rate}, about ${left} left`,
  perSecond: /** @param {string} n */ (n) => `${n}/s`,
  perMinute: /** @param {string} n */ (n) => `${n}/min`,
  finished: /** @param {string} name */ (name) => `${name}: finished.`,
  failed: /** @param {string} name */ (name) => `${name}: failed.`,
  canceled: /** @param {string} name */ (name) => `${name}: canceled.`,
  chain: /** @param {number} n @param {string} shown */ (n, shown) => `Chain · ${shown} ${plural(n, "step", "steps")}`,
  group: /** @param {number} n @param {string} shown */ (n, shown) => `Group · ${shown} ${plural(n, "task", "tasks")}`,
  chord: /** @param {number} n @param {string} shown */ (n, shown) =>
    `Chord · ${shown} ${plural(n, "task", "tasks")}, then a callback`,
  chordHeader: "Header · in parallel",
  chordBody: "Body · when the header is done",
  took: /** @param {string} time */ (time) => time,
  when: /** @param {string} start @param {string | null} end */ (start, end) =>
    end ? `Started ${start}, ended ${end}` : `Started ${start}, still running`,
  summary: "Members by state",
};

/** @typedef {typeof en} Strings */

/** @type {Strings} */
export const fr = {
  connection: { connecting: "Connexion…", live: "En direct", polling: "Actualisation périodique", offline: "Hors ligne" },
  loggedOut: "Connectez-vous pour voir vos tâches.",
  notFound: "Cette tâche est introuvable.",
  empty: "Aucune tâche.",
  cancel: "Annuler",
  steps: (name) => `Étapes de ${name}`,
  attempt: (n) => `tentative ${n}`,
  showAll: (n) => `Tout afficher (${n})`,
  showSummary: "Afficher le résumé",
  counts: (done, total, pct) => `${done} / ${total} · ${pct} %`,
  valueText: (done, total, pct) => `${done} sur ${total} (${pct} %)`,
  rate: (rate, left) => `${rate}, encore ${left} environ`,
  perSecond: (n) => `${n}/s`,
  perMinute: (n) => `${n}/min`,
  finished: (name) => `${name} : terminé.`,
  failed: (name) => `${name} : échec.`,
  canceled: (name) => `${name} : annulé.`,
  chain: (n, shown) => `Chaîne · ${shown} ${pluriel(n, "étape", "étapes")}`,
  group: (n, shown) => `Groupe · ${shown} ${pluriel(n, "tâche", "tâches")}`,
  chord: (n, shown) => `Chord · ${shown} ${pluriel(n, "tâche", "tâches")}, puis un rappel`,
  chordHeader: "En-tête · en parallèle",
  chordBody: "Corps · une fois l’en-tête terminé",
  took: (time) => time,
  when: (start, end) => (end ? `Commencé à ${start}, fini à ${end}` : `Commencé à ${start}, en cours`),
  summary: "Membres par état",
};
