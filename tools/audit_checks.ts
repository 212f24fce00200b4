/**
 * piw-audit's checks of the web site the master wrote (its output path) against the database,
 * which they only read: what the database knows is given as {@linkcode AuditFacts}, and each
 * check returns the problems it found, one {@linkcode Problem} each, with what may repair it.
 *
 * - {@linkcode checkTree}: every package (and every other spelling of its name) has its simple
 *   and project directories with their pages; no directory belongs to no package; the site's
 *   own pages exist.
 * - {@linkcode checkPackages}: each package's simple page lists exactly the files the database
 *   has of it; every file it lists is there (with `hashes`, with the SHA-256 the database
 *   records), with its core metadata where the page says so (PEP 658); nothing else is there.
 * - {@linkcode checkLogs}: every build's log is there, and no log of a build that is not.
 *
 * Nothing here follows a symbolic link out of the output path or writes anything.
 *
 * @module
 */

import { sha256File } from "../shared/hash.ts";
import { logBuildId, logPath } from "../master/scribe/log_path.ts";
import { pageNames } from "../master/scribe/page_names.ts";
import { isTemporaryName } from "../master/atomic_write.ts";

/** What the database says, as the checks need it. */
export interface AuditFacts {
  /** Every package (normal form), with the other spellings of its name, in batches. */
  packages(): AsyncIterable<[string, string[]][]>;
  /** The files of the packages named: name → SHA-256, per package. */
  files(packages: string[]): Promise<Map<string, Map<string, string>>>;
  /** Every build id, in batches. */
  builds(): AsyncIterable<number[]>;
}

/**
 * What can repair a problem, when asked: the master writing a package's pages again, the home
 * and statistics pages, the search index, or a build's log; or deleting what belongs to nothing.
 */
export type Repair =
  | { rebuild: string }
  | { home: true }
  | { search: true }
  | { relog: number }
  | { delete: string }
  | null;

/** One problem: a line for the operator, and what may repair it. */
export interface Problem {
  /**
   * `missing`, `extra`, `broken` or `stale`, what it is, and its path (relative to the output
   * path), e.g. `missing wheel simple/foo/foo-1.0-py3-none-any.whl`.
   */
  readonly line: string;
  /** What may repair it (null: nothing the audit can do; the operator must look). */
  readonly repair: Repair;
}

async function kind(path: string): Promise<"file" | "directory" | "other" | null> {
  try {
    const info = await Deno.lstat(path);
    return info.isFile ? "file" : info.isDirectory ? "directory" : "other";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** The names in a directory (none when it is not one). */
async function entries(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) out.push(entry);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The pages each of a package's directories holds. */
const PAGES = {
  simple: ["index.html", "index.json"],
  project: ["index.html", "json/index.json"],
} as const;

/** The site's own pages, and what writes each again. */
const SITE_PAGES: [string, Repair][] = [
  ["index.html", { home: true }],
  ["stats.html", { home: true }],
  ["packages.json", { search: true }],
  ["simple/index.html", null],
  ["simple/index.json", null],
];

/**
 * The temporary files of page writes in `dir` (relative to `root`, "" for the root itself), which
 * a master killed mid-write leaves: each an extra file.
 */
async function temporaries(root: string, dir: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const entry of await entries(dir ? `${root}/${dir}` : root)) {
    if (!entry.isFile || !isTemporaryName(entry.name)) continue;
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    problems.push({ line: `extra file ${path}`, repair: { delete: path } });
  }
  return problems;
}

/**
 * Checks the tree: the site's pages, each package's (and alias's) directories and pages,
 * directories of no package, and temporary files of page writes beside the pages.
 */
export async function checkTree(root: string, facts: AuditFacts): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [page, repair] of SITE_PAGES) {
    if (await kind(`${root}/${page}`) !== "file") {
      problems.push({ line: `missing page ${page}`, repair });
    }
  }
  for (const dir of ["", "simple", "project"]) problems.push(...await temporaries(root, dir));
  const known = new Set<string>();
  for await (const batch of facts.packages()) {
    for (const [pkg, aliases] of batch) {
      for (const name of pageNames(pkg, aliases)) {
        known.add(name);
        for (const [top, pages] of Object.entries(PAGES)) {
          const dir = `${top}/${name}`;
          const found = await kind(`${root}/${dir}`);
          if (found === null) {
            problems.push({ line: `missing directory ${dir}`, repair: { rebuild: pkg } });
            continue;
          }
          if (found !== "directory") {
            problems.push({ line: `broken directory ${dir}: not a directory`, repair: null });
            continue;
          }
          const absent = [];
          for (const page of pages) {
            if (await kind(`${root}/${dir}/${page}`) !== "file") absent.push(page);
          }
          if (absent.length) {
            problems.push({
              line: `broken directory ${dir}: no ${absent.join(", no ")}`,
              repair: { rebuild: pkg },
            });
          }
          // simple/<package>/ is the packages check's, which reports every file it has no use for
          if (top === "project") {
            for (const sub of [dir, `${dir}/json`]) problems.push(...await temporaries(root, sub));
          }
        }
      }
    }
  }
  for (const top of Object.keys(PAGES)) {
    for (const entry of await entries(`${root}/${top}`)) {
      if (entry.isFile || known.has(entry.name)) continue; // simple/index.html, a transfer
      const path = `${top}/${entry.name}`;
      problems.push({ line: `extra directory ${path}`, repair: { delete: path } });
    }
  }
  return problems;
}

/** One link of a simple page: the file it names and the hashes it gives. */
export interface PageLink {
  /** The href without its fragment, as written (unescaped). */
  href: string;
  /** The `#sha256=` of the href, if any. */
  sha256: string | null;
  /** The SHA-256 of `data-core-metadata` (PEP 658/714), if any. */
  metadataSha256: string | null;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** The links of a PEP 503 page: each anchor's href, its SHA-256 and its metadata's. */
export function parseSimpleLinks(html: string): PageLink[] {
  const links: PageLink[] = [];
  for (const anchor of html.matchAll(/<a\s([^>]*)>/gi)) {
    const attrs = new Map<string, string>();
    for (const a of anchor[1]!.matchAll(/([a-z-]+)\s*=\s*"([^"]*)"/gi)) {
      attrs.set(a[1]!.toLowerCase(), unescapeHtml(a[2]!));
    }
    const href = attrs.get("href");
    if (href === undefined) continue;
    const [path, fragment = ""] = href.split("#", 2) as [string, string?];
    const hash = (text: string | undefined) =>
      /(?:^|&)sha256=([0-9a-f]{64})(?:&|$)/i.exec(text ?? "")?.[1]?.toLowerCase() ?? null;
    links.push({
      href: path,
      sha256: hash(fragment),
      metadataSha256: hash(attrs.get("data-core-metadata")),
    });
  }
  return links;
}

/** Checks one package's simple directory against its files in the database. */
async function checkPackage(
  root: string,
  pkg: string,
  files: Map<string, string>,
  hashes: boolean,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const dir = `simple/${pkg}`;
  if (await kind(`${root}/${dir}`) !== "directory") {
    return [{ line: `missing directory ${dir}`, repair: { rebuild: pkg } }];
  }
  let html: string;
  try {
    html = await Deno.readTextFile(`${root}/${dir}/index.html`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    return [{ line: `missing page ${dir}/index.html`, repair: { rebuild: pkg } }];
  }
  const expected = new Set<string>(["index.html", "index.json"]);
  for (const name of files.keys()) expected.add(name).add(`${name}.metadata`);
  const listed = new Set<string>();
  for (const link of parseSimpleLinks(html)) {
    const name = link.href;
    if (!/^[^/\\]+$/.test(name) || name === "." || name === "..") {
      problems.push({
        line: `broken page ${dir}/index.html: it links to ${name}`,
        repair: { rebuild: pkg },
      });
      continue;
    }
    listed.add(name);
    const known = files.get(name);
    if (known === undefined) {
      problems.push({
        line: `stale page ${dir}/index.html: it lists ${name}, which the database does not know`,
        repair: { rebuild: pkg },
      });
    } else if (link.sha256 !== known) {
      problems.push({
        line: `stale page ${dir}/index.html: it gives ${name} the SHA-256 ${link.sha256}, ` +
          `the database ${known}`,
        repair: { rebuild: pkg },
      });
    }
    expected.add(name);
    const path = `${dir}/${name}`;
    if (await kind(`${root}/${path}`) !== "file") {
      problems.push({ line: `missing wheel ${path}`, repair: null });
    } else if (hashes && known !== undefined) {
      const actual = await sha256File(`${root}/${path}`);
      if (actual !== known) {
        problems.push({
          line: `broken wheel ${path}: its SHA-256 is ${actual}, the database says ${known}`,
          repair: null,
        });
      }
    }
    if (link.metadataSha256 !== null) {
      expected.add(`${name}.metadata`);
      const meta = `${path}.metadata`;
      if (await kind(`${root}/${meta}`) !== "file") {
        problems.push({ line: `missing metadata ${meta}`, repair: null });
      } else if (hashes) {
        const actual = await sha256File(`${root}/${meta}`);
        if (actual !== link.metadataSha256) {
          problems.push({
            line: `broken metadata ${meta}: its SHA-256 is ${actual}, the page says ` +
              link.metadataSha256,
            repair: null,
          });
        }
      }
    }
  }
  for (const name of files.keys()) {
    if (!listed.has(name)) {
      problems.push({
        line: `stale page ${dir}/index.html: it does not list ${name}`,
        repair: { rebuild: pkg },
      });
    }
  }
  for (const entry of await entries(`${root}/${dir}`)) {
    if (expected.has(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    problems.push({ line: `extra file ${path}`, repair: { delete: path } });
  }
  return problems;
}

/** How many packages' files are asked for at once. */
const FILES_BATCH = 500;

/**
 * Checks the simple directories of `packages` (every package's when empty) against their files
 * in the database; with `hashes`, reads every file to check its SHA-256.
 */
export async function checkPackages(
  root: string,
  facts: AuditFacts,
  packages: string[],
  hashes: boolean,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const check = async (batch: string[]) => {
    const files = await facts.files(batch);
    for (const [pkg, known] of files) {
      problems.push(...await checkPackage(root, pkg, known, hashes));
    }
  };
  if (packages.length) {
    for (let i = 0; i < packages.length; i += FILES_BATCH) {
      await check(packages.slice(i, i + FILES_BATCH));
    }
  } else {
    for await (const batch of facts.packages()) {
      for (let i = 0; i < batch.length; i += FILES_BATCH) {
        await check(batch.slice(i, i + FILES_BATCH).map(([pkg]) => pkg));
      }
    }
  }
  return problems;
}

/** Every file under `dir`, as paths relative to `root`, depth first (no link followed). */
async function* walk(root: string, dir: string): AsyncGenerator<string> {
  for (const entry of await entries(`${root}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(root, path);
    else yield path;
  }
}

/** Checks the build logs: one for every build, none for a build the database does not have. */
export async function checkLogs(root: string, facts: AuditFacts): Promise<Problem[]> {
  const problems: Problem[] = [];
  const builds = new Set<number>();
  for await (const batch of facts.builds()) for (const id of batch) builds.add(id);
  const found = new Set<number>();
  for await (const path of walk(root, "logs")) {
    const id = logBuildId(path);
    if (id === null) {
      problems.push({ line: `extra file ${path}`, repair: { delete: path } });
    } else if (!builds.has(id)) {
      problems.push({ line: `extra log ${path}`, repair: { delete: path } });
    } else {
      found.add(id);
    }
  }
  for (const id of builds) {
    if (!found.has(id)) {
      problems.push({ line: `missing log ${logPath(id)} (build ${id})`, repair: { relog: id } });
    }
  }
  return problems;
}
