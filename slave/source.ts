/**
 * Fetching a release's sdist for a build without network, before any code of the package runs:
 * the project page from the index the master named (PEP 691 JSON or PEP 503 HTML), the one
 * sdist of exactly that version, its size bounded and its SHA-256 checked against the index's.
 *
 * The slave's Worker cannot reach the index itself (its permissions are fixed at start, before
 * ACK names the index, and admit only the master's queues), so each download is our own small
 * script, {@linkcode FETCH_SCRIPT}, run by the build's interpreter in isolated mode (`python
 * -I`: no site directory, no `PYTHON*` variables, nothing from the working directory) inside the
 * sandbox with network, in a workspace that holds nothing of the package yet. The script only
 * downloads (http and https only, the size bounded); choosing the file and checking its hash
 * happen here, in the Worker.
 *
 * @module
 */

import { sha256File } from "../shared/hash.ts";
import {
  chooseSdist,
  INDEX_ACCEPT,
  IndexError,
  parseProjectPage,
  projectPageUrl,
} from "./index_page.ts";
import type { Finished } from "./sandbox.ts";
import type { TailBuffer } from "./tail.ts";
import type { Workspace } from "./workspace.ts";

/**
 * The default bound of an sdist's size: 1 GiB, ten times PyPI's default upload limit, so that
 * no real sdist is refused while an index cannot fill the build directory.
 */
export const DEFAULT_SOURCE_LIMIT = 1024 ** 3;

/** The bound of a project page: 64 MiB (PyPI's largest pages are a few MB). */
const PAGE_LIMIT = 64 * 1024 * 1024;

/** The bound of what the script says of a download (its final URL and content type). */
const META_LIMIT = 64 * 1024;

/**
 * The download script: `python -I -c FETCH_SCRIPT URL ACCEPT LIMIT DEST` writes the body of
 * URL to DEST (at most LIMIT bytes, or it fails and removes DEST) and `{"url": final URL, "type": content type,
 * "size": bytes}` to DEST.json; it exits 1 with one line saying why when it cannot. Redirects
 * are followed to http(s) URLs only. Written for every Python 3 a slave may build with.
 */
export const FETCH_SCRIPT = `
import json, os, sys, urllib.error, urllib.request
url, accept, limit, dest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def fail(why):
    if os.path.exists(dest):
        os.remove(dest)
    print("piw-slave: cannot fetch %s: %s" % (url, why), flush=True)
    sys.exit(1)

class Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            fail("redirected to %s" % newurl)
        return urllib.request.HTTPRedirectHandler.redirect_request(
            self, req, fp, code, msg, headers, newurl)

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), Redirects())
request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "piw-slave"})
print("piw-slave: fetching %s" % url, flush=True)
try:
    with opener.open(request, timeout=60) as response:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            fail("it is %s bytes, more than the %d bytes allowed" % (length, limit))
        size = 0
        with open(dest, "wb") as out:
            while True:
                chunk = response.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    fail("it is more than the %d bytes allowed" % limit)
                out.write(chunk)
        meta = {"url": response.geturl(), "type": response.headers.get("Content-Type", ""),
                "size": size}
except urllib.error.HTTPError as e:
    fail("HTTP %d %s" % (e.code, e.reason))
except (urllib.error.URLError, OSError, ValueError) as e:
    fail(str(getattr(e, "reason", e)))
with open(dest + ".json", "w") as out:
    json.dump(meta, out)
print("piw-slave: fetched %d bytes" % size, flush=True)
`;

/** Runs a command in the build's sandbox, with the build's time left. */
export type SandboxRunner = (command: string[], network: boolean) => Promise<Finished>;

/** What {@linkcode fetchSource} needs. */
export interface SourceOptions {
  /** The project. */
  project: string;
  /** The release. */
  version: string;
  /** The simple index the master named. */
  indexUrl: string;
  /** The interpreter that runs the script (absolute path). */
  python: string;
  /** The build's workspace: the sdist goes to its `build/sdist/`. */
  workspace: Workspace;
  /** The build log. */
  output: TailBuffer;
  /** Runs the script in the sandbox. */
  run: SandboxRunner;
  /** The most bytes an sdist may have (default {@linkcode DEFAULT_SOURCE_LIMIT}). */
  limit?: number;
}

/** How the fetch ended: the sdist's path, or how the build ends (failed, timed out, aborted). */
export type Fetched = { path: string; end?: undefined } | { path?: undefined; end: Finished };

const FAILED: Finished = { ended: "exited", code: 1 };

/**
 * Fetches the sdist of exactly `project` `version` into the workspace's `build/sdist/`, checked
 * against the index's SHA-256. Every way it can fail ends the build as failed, with the reason
 * as the last line of the log.
 */
export async function fetchSource(options: SourceOptions): Promise<Fetched> {
  const { workspace: ws, output } = options;
  const refuse = (why: string): Fetched => {
    output.append(`piw-slave: ${why}\n`);
    return { end: FAILED };
  };
  try {
    const pageUrl = projectPageUrl(options.indexUrl, options.project);
    await Deno.mkdir(ws.path("index"));
    const page = await download(options, pageUrl, INDEX_ACCEPT, PAGE_LIMIT, ws.path("index/page"));
    if (page.end) return { end: page.end };
    const body = new TextDecoder().decode(await Deno.readFile(page.body));
    const files = parseProjectPage(body, page.type, page.url);
    const sdist = chooseSdist(files, options.project, options.version);
    await Deno.mkdir(ws.path("sdist"));
    const path = ws.path(`sdist/${sdist.filename}`);
    const limit = options.limit ?? DEFAULT_SOURCE_LIMIT;
    const got = await download(options, sdist.url, "*/*", limit, path);
    if (got.end) return { end: got.end };
    await Deno.remove(`${path}.json`);
    const hash = await sha256File(path);
    if (hash !== sdist.sha256) {
      await Deno.remove(path);
      return refuse(
        `refused ${sdist.filename}: its SHA-256 is ${hash}, the index says ${sdist.sha256}`,
      );
    }
    output.append(`piw-slave: ${sdist.filename} matches the index's SHA-256 ${hash}\n`);
    return { path };
  } catch (e) {
    if (e instanceof IndexError) return refuse(e.message);
    throw e;
  }
}

/** A download: where the body is, the URL it came from after redirects, its content type. */
type Downloaded = { body: string; url: string; type: string; end?: undefined };

/** One run of the script: what it downloaded, or how the build ends. */
async function download(
  options: SourceOptions,
  url: string,
  accept: string,
  limit: number,
  dest: string,
): Promise<Downloaded | { body?: undefined; end: Finished }> {
  const command = [options.python, "-I", "-c", FETCH_SCRIPT, url, accept, String(limit), dest];
  const end = await options.run(command, true);
  if (end.ended !== "exited" || end.code !== 0) return { end };
  const wrong = new IndexError(`the download of ${url} went wrong`);
  const meta = await readBounded(`${dest}.json`, META_LIMIT);
  const info = await Deno.lstat(dest).catch(() => null);
  if (meta === null || !info?.isFile || info.size > limit) throw wrong;
  let said: { url?: unknown; type?: unknown };
  try {
    said = JSON.parse(meta);
  } catch {
    throw wrong;
  }
  if (typeof said?.url !== "string" || typeof said.type !== "string") throw wrong;
  return { body: dest, url: said.url, type: said.type };
}

/** A regular file's text, or null if it is not one or is larger than `limit`. */
async function readBounded(path: string, limit: number): Promise<string | null> {
  const info = await Deno.lstat(path).catch(() => null);
  if (!info?.isFile || info.size > limit) return null;
  return await Deno.readTextFile(path);
}
