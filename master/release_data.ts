/**
 * What PyPI says of a release beyond its changelog: the project's one-line description, the
 * release's Requires-Python and whether it is yanked. Cloud Gazer reads it from PyPI's JSON API
 * ({@linkcode JsonApiSource}: `<url>/<project>/<version>/json`, all three) or from the PEP 691
 * simple API ({@linkcode SimpleApiSource}: `<url>/<project>/` as JSON, Requires-Python and
 * yanks only).
 *
 * A response is PyPI's, but it is checked as a peer's is: it is read with a time limit on the
 * whole exchange and a size limit on the body (a larger or slower one is abandoned), parsed into
 * only the fields used, and each field kept only if it is what it should be (a Requires-Python
 * that is not a specifier set, or a description with control characters, is not believed).
 *
 * @module
 */

import { z } from "zod";
import { requiresPythonSpec } from "../shared/protocols.ts";
import { sameVersion } from "../shared/pep440.ts";
import { VERSION } from "../shared/version.ts";
import { normalizeName, parseWheelFilename, versionAfter } from "../shared/wheel.ts";
import type { ReleaseData } from "./db.ts";
import { boundedBody } from "./http_body.ts";

/** Raised when a response cannot be had or read: the release's data stays unknown. */
export class ReleaseDataError extends Error {
  override name = "ReleaseDataError";
}

/** How long one request may take, body included, by default. */
export const FETCH_TIMEOUT_MS = 10_000;
/** The largest JSON API response read (a release's JSON holds its README: a few KiB to MiBs). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** The largest PEP 691 page read (it lists every file of every release of the project). */
export const MAX_SIMPLE_BYTES = 16 * 1024 * 1024;
/** The longest description kept (PyPI's summaries are one line; piwheels keeps 200). */
export const MAX_DESCRIPTION = 1000;

/** Where Cloud Gazer reads release data from. */
export interface ReleaseDataSource {
  /** What the source says of `project` `version`; null when it does not know the release. */
  lookup(project: string, version: string): Promise<ReleaseData | null>;
}

/** Limits of {@linkcode fetchJson}. */
export interface FetchLimits {
  /** The Accept header to send. */
  accept: string;
  /** The largest body read, in bytes. */
  maxBytes: number;
  /** How long the whole exchange may take. */
  timeoutMs: number;
}

/**
 * GETs `url` and parses its body as JSON, within `limits`; resolves to null for a 404 (PyPI
 * does not know it). Anything else that is not a 200 with JSON of at most `maxBytes` bytes in
 * `timeoutMs` raises {@linkcode ReleaseDataError}.
 */
export async function fetchJson(url: string, limits: FetchLimits): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const response = await fetch(url, {
      headers: { accept: limits.accept, "user-agent": `piwheels-deno/${VERSION}` },
      signal,
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ReleaseDataError(`${url} answered ${response.status} ${response.statusText}`);
    }
    const body = await boundedBody(
      response,
      limits.maxBytes,
      (size) => new ReleaseDataError(`${url} sent ${size}, more than ${limits.maxBytes}`),
    );
    return JSON.parse(new TextDecoder().decode(body));
  } catch (e) {
    if (e instanceof ReleaseDataError) throw e;
    if (signal.aborted) {
      throw new ReleaseDataError(`${url} did not answer within ${limits.timeoutMs} ms`);
    }
    throw new ReleaseDataError(`${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A description as kept: one line of printable text, trimmed, at most MAX_DESCRIPTION. */
export function cleanDescription(text: unknown): string | null {
  if (typeof text !== "string") return null;
  const line = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, " ").replace(/\s+/g, " ").trim();
  if (!line) return null;
  return [...line].slice(0, MAX_DESCRIPTION).join("");
}

/** A Requires-Python as kept: a valid specifier set, else null. */
export function cleanRequiresPython(text: unknown): string | null {
  if (typeof text !== "string") return null;
  const spec = text.trim();
  return spec && requiresPythonSpec.safeParse(spec).success ? spec : null;
}

/** The JSON API's answer for a release: only what is used, each part optional. */
const jsonApiRelease = z.object({
  info: z.object({
    summary: z.unknown().optional(),
    requires_python: z.unknown().optional(),
    yanked: z.unknown().optional(),
  }),
});

/** PyPI's JSON API (`https://pypi.org/pypi`): a release's summary, Requires-Python and yank. */
export class JsonApiSource implements ReleaseDataSource {
  /** Reads `<url>/<project>/<version>/json`. */
  constructor(readonly url: string, readonly timeoutMs = FETCH_TIMEOUT_MS) {}

  /** See {@linkcode ReleaseDataSource.lookup}. */
  async lookup(project: string, version: string): Promise<ReleaseData | null> {
    const base = this.url.replace(/\/+$/, "");
    const url = `${base}/${encodeURIComponent(project)}/${encodeURIComponent(version)}/json`;
    const doc = await fetchJson(url, {
      accept: "application/json",
      maxBytes: MAX_JSON_BYTES,
      timeoutMs: this.timeoutMs,
    });
    if (doc === null) return null;
    const parsed = jsonApiRelease.safeParse(doc);
    if (!parsed.success) throw new ReleaseDataError(`${url} is not a release's JSON`);
    const { info } = parsed.data;
    return {
      description: cleanDescription(info.summary),
      requiresPython: cleanRequiresPython(info.requires_python),
      yanked: typeof info.yanked === "boolean" ? info.yanked : null,
    };
  }
}

/** The PEP 691 project page: only what is used. */
/** A file of a PEP 691 page, as far as it is read. */
const simpleFile = z.object({
  filename: z.string().max(1000),
  "requires-python": z.unknown().optional(),
  yanked: z.unknown().optional(),
});
/** The most files a PEP 691 page may list. */
const MAX_SIMPLE_FILES = 1_000_000;
/**
 * The most files of one release read from a page (a release has tens): a page of a million
 * names of one release was 3 s of checking each, on the thread that writes the web pages.
 */
const MAX_RELEASE_FILES = 1000;

/** The extensions of source distributions, longest first. */
const SDISTS = [".tar.gz", ".tar.bz2", ".tar.xz", ".tar.Z", ".tgz", ".tar", ".zip"];

/**
 * Whether `filename` is a file of `project` `version`: a wheel by its name's tags, an sdist
 * `<project>-<version><extension>` (the name may hold `-` itself).
 */
export function isFileOf(filename: string, project: string, version: string): boolean {
  const name = normalizeName(project);
  if (filename.endsWith(".whl")) {
    try {
      const tags = parseWheelFilename(filename);
      return normalizeName(tags.packageTag) === name &&
        sameVersion(tags.packageVersionTag, version);
    } catch {
      return false;
    }
  }
  const extension = SDISTS.find((e) => filename.toLowerCase().endsWith(e.toLowerCase()));
  if (!extension) return false;
  const rest = versionAfter(filename.slice(0, -extension.length), name);
  return rest !== null && sameVersion(rest, version);
}

/**
 * The PEP 691 simple API (`https://pypi.org/simple`): a release's Requires-Python (its files'
 * first) and whether it is yanked (PEP 592: every file of it is); no descriptions.
 */
export class SimpleApiSource implements ReleaseDataSource {
  /** Reads `<url>/<normalised project>/` as `application/vnd.pypi.simple.v1+json`. */
  constructor(readonly url: string, readonly timeoutMs = FETCH_TIMEOUT_MS) {}

  /** See {@linkcode ReleaseDataSource.lookup}. */
  async lookup(project: string, version: string): Promise<ReleaseData | null> {
    const url = `${this.url.replace(/\/+$/, "")}/${normalizeName(project)}/`;
    const doc = await fetchJson(url, {
      accept: "application/vnd.pypi.simple.v1+json",
      maxBytes: MAX_SIMPLE_BYTES,
      timeoutMs: this.timeoutMs,
    });
    if (doc === null) return null;
    const list = (doc as { files?: unknown }).files;
    const notPage = () => new ReleaseDataError(`${url} is not a PEP 691 project page`);
    if (!Array.isArray(list) || list.length > MAX_SIMPLE_FILES) throw notPage();
    // only the release's own files are checked whole (zod's check of each of a million files
    // took most of the time); every name is a string of at most 1,000 characters all the same
    const files: z.infer<typeof simpleFile>[] = [];
    for (const entry of list) {
      const filename = (entry as { filename?: unknown } | null)?.filename;
      if (typeof filename !== "string" || filename.length > 1000) throw notPage();
      if (files.length >= MAX_RELEASE_FILES || !isFileOf(filename, project, version)) continue;
      const file = simpleFile.safeParse(entry);
      if (!file.success) throw notPage();
      files.push(file.data);
    }
    if (files.length === 0) return null;
    const requires = files.map((f) => cleanRequiresPython(f["requires-python"]))
      .find((r) => r !== null) ?? null;
    const yanked = files.every((f) => f.yanked === true || typeof f.yanked === "string");
    return { description: null, requiresPython: requires, yanked };
  }
}
