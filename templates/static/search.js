/**
 * The home page's project search, as piwheels.org has it: as you type a name, the projects whose
 * PEP 503-normalised name starts with it, then those that contain it, each group most downloaded
 * first (in the last 30 days, then ever, then by name), at most {@linkcode LIMIT} of them, each
 * a link to its project page. The names come from the site's search index, `/packages.json`
 * (`[[package, downloads in the last 30 days, downloads ever], …]`), fetched once, when the box
 * is first used. No framework: the page loads this file as a module; in Deno (no `document`) it
 * only exports its functions, which the tests call.
 *
 * The page works without it: the search box is `hidden` until this script shows it, and the
 * page links to the simple index and to `/packages.json` either way.
 *
 * @module
 */

/** At most this many projects are listed. */
export const LIMIT = 20;

/**
 * A project of the search index, ready to match.
 *
 * @typedef {object} Project
 * @property {string} name The name as PyPI spells it.
 * @property {string} key The PEP 503-normalised name.
 * @property {number} recent Downloads in the last 30 days.
 * @property {number} all Downloads ever.
 */

/**
 * What a search found.
 *
 * @typedef {object} Found
 * @property {Project[]} projects The projects to list, best first.
 * @property {boolean} more Whether more projects match than are listed.
 */

/**
 * A name as PEP 503 normalises it: lower case, each run of `-`, `_` and `.` one `-`.
 *
 * @param {string} name
 * @returns {string}
 */
export function normalize(name) {
  return name.trim().toLowerCase().replace(/[-_.]+/g, "-");
}

/** A valid project name (PEP 508): letters and digits, with `.`, `_` and `-` inside. */
const VALID_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** @param {unknown} n */
function isCount(n) {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * The search index's entries ready to match, most downloaded first. An entry that is not a
 * valid name with two counts is left out: the file is the site's, but the names in it are
 * PyPI's.
 *
 * @param {unknown} index The parsed `/packages.json`.
 * @returns {Project[]}
 */
export function prepare(index) {
  if (!Array.isArray(index)) return [];
  /** @type {Project[]} */
  const projects = [];
  for (const entry of index) {
    if (!Array.isArray(entry) || entry.length < 3) continue;
    const [name, recent, all] = entry;
    if (typeof name !== "string" || !VALID_NAME.test(name)) continue;
    if (!isCount(recent) || !isCount(all)) continue;
    projects.push({ name, key: normalize(name), recent, all });
  }
  return projects.sort((a, b) =>
    b.recent - a.recent || b.all - a.all || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/**
 * The projects matching `query`: those whose normalised name starts with the normalised query,
 * then those that contain it, each in the order of `projects` (most downloaded first), at most
 * `limit`.
 *
 * @param {Project[]} projects From {@linkcode prepare}.
 * @param {string} query What was typed.
 * @param {number} [limit]
 * @returns {Found}
 */
export function search(projects, query, limit = LIMIT) {
  const key = normalize(query);
  if (key === "") return { projects: [], more: false };
  /** @type {Project[]} */
  const starting = [];
  /** @type {Project[]} */
  const containing = [];
  for (const project of projects) {
    if (project.key.startsWith(key)) {
      starting.push(project);
      // the first limit + 1 that start with it are all that can be listed
      if (starting.length > limit) break;
    } else if (containing.length <= limit && project.key.includes(key)) {
      containing.push(project);
    }
  }
  const found = starting.concat(containing);
  return { projects: found.slice(0, limit), more: found.length > limit };
}

const number = new Intl.NumberFormat("en");

/**
 * Wires the search box: shows it, loads the index on first use, lists matches as you type, and
 * goes to the first match on Enter.
 *
 * @param {Document} document
 */
function wire(document) {
  const form = document.getElementById("search");
  const box = document.getElementById("search-box");
  const list = document.getElementById("search-results");
  const status = document.getElementById("search-status");
  if (!form || !(box instanceof HTMLInputElement) || !list || !status) return;
  /** @type {Project[] | null} */
  let projects = null;
  /** @type {Promise<void> | null} */
  let loading = null;

  const show = () => {
    const query = box.value;
    list.replaceChildren();
    if (projects === null) {
      status.textContent = normalize(query) ? "Loading the list of projects…" : "";
      return;
    }
    const found = search(projects, query);
    for (const project of found.projects) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `/project/${encodeURIComponent(project.key)}/`;
      link.textContent = project.name;
      const downloads = document.createElement("span");
      downloads.className = "downloads";
      downloads.textContent = `${number.format(project.recent)} downloads in the last 30 days`;
      item.append(link, " ", downloads);
      list.append(item);
    }
    if (!normalize(query)) status.textContent = "";
    else if (found.projects.length === 0) status.textContent = "No project has that in its name.";
    else if (found.more) {
      status.textContent =
        `The ${found.projects.length} most downloaded of more: type more of the name.`;
    } else status.textContent = "";
    // what the list now shows, for whoever waits for it (the tests)
    list.dataset.query = normalize(query);
  };

  const load = () => {
    loading ??= fetch("/packages.json")
      .then((response) => {
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        return response.json();
      })
      .then((index) => {
        projects = prepare(index);
        show();
      })
      .catch(() => {
        status.textContent = "The list of projects could not be loaded: see the simple index.";
      });
    return loading;
  };

  box.addEventListener("focus", load);
  box.addEventListener("input", () => {
    load();
    show();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const first = list.querySelector("a");
    if (first instanceof HTMLAnchorElement) document.location.assign(first.href);
  });
  form.hidden = false;
}

if (globalThis.document) wire(globalThis.document);
