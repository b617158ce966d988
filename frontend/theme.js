// The page around the elements: its colour scheme, and one observer (and one media query) for every element
// that tells them when the page's class, style, lang or colour preference changes.

// The page's theme: one observer and one media query for every element, as relative-time-element keeps
// one timer for all of its elements.
/** @typedef {Element & {pageChanged(): void}} Watcher */
/** @type {Set<Watcher>} */
const watching = new Set();
/** @type {MutationObserver | null} */
let pageObserver = null;
/** @type {MediaQueryList | null} */
let darkQuery = null;
const pageChanged = () => {
  for (const el of watching) el.pageChanged();
};

/** Calls `el.pageChanged()` whenever the page's theme or language may have changed. @param {Watcher} el */
export function watchPage(el) {
  watching.add(el);
  if (pageObserver) return;
  pageObserver = new MutationObserver(pageChanged);
  const watched = { attributes: true, attributeFilter: ["class", "style", "lang", "data-theme", "data-color-scheme"] };
  pageObserver.observe(document.documentElement, { ...watched, subtree: false });
  if (document.head) pageObserver.observe(document.head, { childList: true, subtree: true, attributes: true });
  if (document.body) pageObserver.observe(document.body, watched);
  darkQuery = globalThis.matchMedia?.("(prefers-color-scheme: dark)") ?? null;
  darkQuery?.addEventListener?.("change", pageChanged);
}

/** @param {Watcher} el */
export function unwatchPage(el) {
  watching.delete(el);
  if (watching.size || !pageObserver) return;
  pageObserver.disconnect();
  pageObserver = null;
  darkQuery?.removeEventListener?.("change", pageChanged);
  darkQuery = null;
}

/**
 * "light" or "dark": the `color-scheme` the page gives the element (inherited from its ancestors, else
 * the page's `<meta name="color-scheme">`); a page that accepts both follows the system's preference.
 * @param {Element} el
 * @returns {"light" | "dark"}
 */
export function pageTheme(el) {
  let scheme = "";
  /** @param {Element} node @returns {Element | null} */
  const up = (node) => node.parentElement ?? (/** @type {ShadowRoot} */ (node.getRootNode()).host || null);
  // From the parent: the element's own color-scheme is the one its style sheet gives it.
  for (let node = up(el); node && !scheme; node = up(node)) {
    const value = getComputedStyle(node).getPropertyValue("color-scheme").trim();
    if (value && value !== "normal") scheme = value;
  }
  if (!scheme) scheme = document.querySelector('meta[name="color-scheme"]')?.getAttribute("content") ?? "";
  const words = scheme.toLowerCase().split(/\s+/);
  const dark = words.includes("dark");
  if (!dark) return "light";
  if (!words.includes("light")) return "dark";
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}
