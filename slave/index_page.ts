/**
 * What a package index says of a project: its PEP 691 JSON or PEP 503 HTML project page read
 * into the files it lists, and the one sdist of a release chosen from them. Everything here is
 * what a remote server sent: URLs are resolved and must be http(s), hashes must be well formed,
 * and a file counts only if its name says it is exactly the project and version asked for.
 *
 * @module
 */

import { z } from "zod";
import { normalizeVersion, sameVersion } from "../shared/pep440.ts";
import { normalizeName, versionAfter } from "../shared/wheel.ts";

/** What the slave asks an index for: PEP 691 JSON first, PEP 503 HTML otherwise. */
export const INDEX_ACCEPT =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/** PEP 691's JSON content type. */
const JSON_TYPE = "application/vnd.pypi.simple.v1+json";

/** The sdist extensions a release is built from, preferred first. */
const SDIST_EXTENSIONS = [".tar.gz", ".zip"];

/** A file name an index may give: one path component of the characters names and versions use. */
const FILENAME = /^[A-Za-z0-9][A-Za-z0-9._+!-]*$/;
/** The longest file name a file system takes; a longer one is no sdist to fetch. */
const MAX_FILENAME = 255;

/**
 * How many of an index's files the error for a missing sdist names: a page may list a million
 * names of 1,000 characters, every one of which went into the message.
 */
const LISTED_FILES = 20;

/** Raised when an index page cannot be read, or holds no sdist the slave may build. */
export class IndexError extends Error {
  override name = "IndexError";
}

/** A file an index lists for a project. */
export interface IndexFile {
  /** Its name, as the index gives it. */
  filename: string;
  /** Where to fetch it (absolute, http or https). */
  url: string;
  /** Its SHA-256 in lower-case hex, or null when the index gives none. */
  sha256: string | null;
}

/**
 * The URL of a project's page on a simple index (PEP 503: the normalised name, a trailing
 * slash). Throws {@linkcode IndexError} for an index that is not an http(s) URL.
 */
export function projectPageUrl(indexUrl: string, project: string): string {
  const base = httpUrl(indexUrl, undefined, "the index");
  const path = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  return new URL(`${path}${normalizeName(project)}/`, base).href;
}

/**
 * The files a project page lists, from its body and content type; `pageUrl` is the page's
 * final URL (after redirects), which relative links resolve against.
 */
export function parseProjectPage(body: string, contentType: string, pageUrl: string): IndexFile[] {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type === JSON_TYPE) return parseJson(body, pageUrl);
  if (type === "text/html" || type === "application/vnd.pypi.simple.v1+html") {
    return parseHtml(body, pageUrl);
  }
  throw new IndexError(
    `the project page is ${contentType || "of no content type"}, not HTML or JSON`,
  );
}

const jsonPage = z.object({
  meta: z.object({ "api-version": z.string().max(100) }),
  files: z.array(z.object({
    filename: z.string().max(1000),
    url: z.string().max(10_000),
    hashes: z.record(z.string().max(100), z.string().max(1000)),
  })),
});

/** PEP 691 JSON: `files` of `filename`, `url`, `hashes`, under API version 1. */
function parseJson(body: string, pageUrl: string): IndexFile[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new IndexError(`the project page is not JSON: ${(e as Error).message}`);
  }
  const page = jsonPage.safeParse(value);
  if (!page.success) {
    const issue = page.error.issues[0]!;
    throw new IndexError(
      `the project page is not PEP 691 JSON: ${issue.path.join(".")}: ${issue.message}`,
    );
  }
  const version = page.data.meta["api-version"];
  if (!/^1(\.\d+)?$/.test(version)) {
    throw new IndexError(`the project page is of API version ${version}, not 1.x`);
  }
  return page.data.files.map((f) => ({
    filename: f.filename,
    url: f.url,
    sha256: checkedHash(f.hashes["sha256"]),
  })).map((f) => resolved(f, pageUrl)).filter((f) => f !== null);
}

/** PEP 503 HTML: an anchor per file, its text the file name, `#sha256=` on its URL. */
function parseHtml(body: string, pageUrl: string): IndexFile[] {
  const files: IndexFile[] = [];
  for (const [attributes, text] of anchors(body)) {
    const href = /(?:^|\s)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i.exec(attributes);
    if (!href) continue;
    const url = unescapeHtml(href[1] ?? href[2] ?? href[3]!);
    const fragment = url.includes("#") ? url.slice(url.indexOf("#") + 1) : "";
    const hash = fragment.split("&").findLast((p) => p.startsWith("sha256="))?.slice(7);
    const file = resolved({
      filename: unescapeHtml(text).trim(),
      url,
      sha256: checkedHash(hash),
    }, pageUrl);
    if (file) files.push(file);
  }
  return files;
}

/**
 * Each `<a ATTRIBUTES>TEXT</a>` of a page, in one pass: a regular expression for it took time
 * growing with the square of the page (each `<a ` with no `>` after it read to the end again),
 * days for a hostile index's 64 MiB page.
 */
export function* anchors(body: string): Generator<[string, string]> {
  const lower = body.toLowerCase();
  const closing = /<\/a\s*>/y;
  for (let at = 0;;) {
    const open = lower.indexOf("<a", at);
    if (open < 0) return;
    at = open + 2;
    if (!/\s/.test(body[at] ?? "")) continue;
    const close = body.indexOf(">", at);
    const end = close < 0 ? -1 : body.indexOf("<", close + 1);
    if (end < 0) return; // no anchor can end after this
    closing.lastIndex = end;
    // every `<a` before `close` ends at the same `>` and text: none is an anchor either
    if (!closing.test(lower)) {
      at = end;
      continue;
    }
    yield [body.slice(at + 1, close), body.slice(close + 1, end)];
    at = closing.lastIndex;
  }
}

/**
 * The one sdist of exactly `project` `version` among an index's files: a `.tar.gz` (or else a
 * `.zip`) whose name is the project's (PEP 503-normalised) and the version's (the same release
 * by PEP 440). Throws {@linkcode IndexError} saying why there is none, or that the chosen one
 * has no SHA-256 to check it by.
 */
export function chooseSdist(files: readonly IndexFile[], project: string, version: string) {
  for (const extension of SDIST_EXTENSIONS) {
    // the release's own spelling first: a legacy index may list `1.0` and `1.0.0` apart
    const found = files.find((f) => isSdistOf(f.filename, extension, project, version, exact)) ??
      files.find((f) => isSdistOf(f.filename, extension, project, version, sameVersion));
    if (!found) continue;
    if (found.sha256 === null) {
      throw new IndexError(`refused ${found.filename}: the index gives no SHA-256 to check it by`);
    }
    return found as IndexFile & { sha256: string };
  }
  const shown = files.slice(0, LISTED_FILES).map((f) => f.filename.slice(0, MAX_FILENAME)).join(
    ", ",
  );
  const more = files.length > LISTED_FILES ? ` and ${files.length - LISTED_FILES} more` : "";
  const listed = files.length === 0 ? "no files" : `${shown}${more}`;
  throw new IndexError(`the index has no sdist of ${project} ${version} (it lists ${listed})`);
}

/** Whether two versions have one normal form (`1.0` and `1.0.0` do not). */
function exact(a: string, b: string): boolean {
  const na = normalizeVersion(a);
  return na === null ? a === b : na === normalizeVersion(b);
}

/**
 * Whether `filename` is `<project>-<version><extension>` (the name may hold `-` itself), its
 * version compared by `same`: read once (`versionAfter`), and only a name of at most
 * {@linkcode MAX_FILENAME} characters.
 */
function isSdistOf(
  filename: string,
  extension: string,
  project: string,
  version: string,
  same: (a: string, b: string) => boolean,
) {
  if (filename.length > MAX_FILENAME || !FILENAME.test(filename)) return false;
  if (!filename.toLowerCase().endsWith(extension)) return false;
  const rest = versionAfter(filename.slice(0, -extension.length), normalizeName(project));
  return rest !== null && same(rest, version);
}

/** A file with its URL made absolute against the page, or null if it is not http(s). */
function resolved(file: IndexFile, pageUrl: string): IndexFile | null {
  try {
    const url = httpUrl(file.url, pageUrl, file.filename);
    url.hash = "";
    return { ...file, url: url.href };
  } catch (e) {
    if (e instanceof IndexError) return null;
    throw e;
  }
}

/** `url` resolved against `base`, if it is http(s); else {@linkcode IndexError}. */
function httpUrl(url: string, base: string | undefined, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url, base);
  } catch {
    throw new IndexError(`${what}: ${JSON.stringify(url)} is not an http(s) URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new IndexError(`${what}: ${JSON.stringify(url)} is not an http(s) URL`);
  }
  return parsed;
}

/** A SHA-256 as lower-case hex, or null when absent or not 64 hex digits. */
function checkedHash(hash: string | undefined): string | null {
  return hash !== undefined && /^[0-9a-fA-F]{64}$/.test(hash) ? hash.toLowerCase() : null;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** HTML character references (`&amp;`, `&#39;`, `&#x27;`) as the characters they stand for. */
function unescapeHtml(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-z]+);/g, (whole, ref: string) => {
    if (!ref.startsWith("#")) return ENTITIES[ref] ?? whole;
    const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}
