/**
 * The directory names a project's pages are written under (in `simple/` and `project/`): its
 * normal form (PEP 503), and each other spelling of its name, so that every one resolves. The
 * Scribe writes them and piw-audit expects them.
 *
 * @module
 */

/**
 * Whether a spelling of a name may have its own directory: `index.html` and `index.json` are
 * valid project names (PEP 508) but the files of `simple/` itself, so a project called so has
 * its pages under its normal form (`index-html`) only.
 */
export function ownDirectory(name: string): boolean {
  return name !== "index.html" && name !== "index.json";
}

/** The names a project's pages go under: `pkg` (its normal form) first, then its aliases. */
export function pageNames(pkg: string, aliases: readonly string[]): string[] {
  return [...new Set([pkg, ...aliases.filter(ownDirectory)])];
}
