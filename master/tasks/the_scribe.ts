/**
 * The Scribe (manual 11.3.9): writes the web site under the output path, every file through a
 * temporary file and a rename. It takes its orders from the Secretary: a package's simple page
 * and project page (PKGBOTH) or just the latter (PKGPROJ), the home and statistics pages
 * (HOME), the search index (SEARCH), build logs (LOG), and removals (DELPKG, DELVER). At start
 * it writes the site's static files (`static/`: the home page's search script), the simple
 * index and the search index (`/packages.json`); a package that appears later joins both
 * within a second (with no downloads yet, until Big Brother's next count).
 *
 * A project's pages are named by its normalised name (PEP 503) and list every version of it,
 * whatever spelling each was released under; each other spelling of its name (PyPI's, and an
 * operator's alias) gets the same pages, so that every one resolves.
 *
 * Pages written from data that showed a rewrite owed (`rewrites_pending`) pay it, in batches
 * every {@linkcode PAY_MS}. A rewrite owed from before this master started, or for over a
 * minute (a master killed, or a LOG lost), also writes the package's build logs that are
 * missing, from the database.
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { errorMessage } from "../../shared/log.ts";
import { type Message, theScribe } from "../../shared/protocols.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { normalizeName } from "../../shared/wheel.ts";
import { Pull } from "../../shared/zmq/mod.ts";
import { writeAtomicSync } from "../atomic_write.ts";
import { OracleClient } from "../oracle_client.ts";
import type { History } from "../db.ts";
import { parseProjectData, type ProjectData } from "../project_data.ts";
import {
  HISTORY_DAYS,
  indexFiles,
  projectJson,
  renderHome,
  renderProject,
  renderSimpleIndex,
  renderSimpleProject,
  renderStats,
  searchIndex,
  type Site,
} from "../scribe/render.ts";
import { logPath } from "../scribe/log_path.ts";
import { ownDirectory, pageNames } from "../scribe/page_names.ts";
import { eachDecoded, isClosed } from "../../shared/receive.ts";
import { STATIC } from "../../templates/mod.ts";
import { runTask, SCRIBE_QUEUE, type TaskContext } from "../task.ts";

/** Pages written pay their rewrites owed in one request this often. */
const PAY_MS = 1_000;
/** A rewrite owed this long was missed: the package's missing build logs are written too. */
export const OVERDUE_MS = 60_000;

/** The root simple index is rewritten at most this often (it lists every package). */
const INDEX_DELAY_MS = 1_000;

/**
 * How many orders the Scribe has under way at once. Their pages' data comes from the database
 * in batches (the Oracle client sends the requests waiting together), so that many under way
 * make few, large requests: at 32, six in seven of a full rewrite's requests went alone. What
 * waits is JSON text; the pages are drawn one package at a time ({@linkcode Turns}).
 */
const CONCURRENT = 128;

type Order = Message<typeof theScribe.recv>;

/** Work done one at a time, in the order it was asked for. */
class Turns {
  #last: Promise<unknown> = Promise.resolve();

  /** Runs `work` once all work asked for before it has finished (or failed). */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#last.then(work);
    this.#last = result.catch(() => {});
    return result;
  }
}

class Scribe {
  readonly packages = new Set<string>();
  /** The search index: normalised name → [the name shown, downloads recent, ever]. */
  readonly search = new Map<string, [string, number, number]>();
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * A package's pages are drawn and written in its turn: the thread does one at a time anyway,
   * and interleaved at each await, every package whose data had come was alive at once (V8's
   * young generation overflowed into the old one: a fifth of a full rewrite in garbage
   * collection).
   */
  readonly #turns = new Turns();
  /** Rewrites owed that pages written have paid, to tell the database: package → seq. */
  readonly #paid = new Map<string, number>();
  #payTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #started = Timestamp.now();

  constructor(readonly ctx: TaskContext, readonly oracle: OracleClient) {}

  /** Notes that pages written from `data` pay the rewrite it showed owed. */
  #pay(data: ProjectData): void {
    if (!data.rewrite) return;
    this.#paid.set(data.package, data.rewrite.seq);
    this.#payTimer ??= setTimeout(() => {
      this.#payTimer = undefined;
      this.payNow().catch((e) => {
        // owed still: the Secretary asks again
        if (!isClosed(e)) this.ctx.log.warning(`cannot pay rewrites: ${errorMessage(e)}`);
      });
    }, PAY_MS);
  }

  /** Tells the database which rewrites owed the pages written have paid. */
  async payNow(): Promise<void> {
    clearTimeout(this.#payTimer);
    this.#payTimer = undefined;
    if (this.#paid.size === 0) return;
    const paid = [...this.#paid];
    this.#paid.clear();
    await this.oracle.rewritesDone(paid);
  }

  /**
   * Writes the package's build logs that are missing, when its rewrite was owed from before
   * this master started or for over {@linkcode OVERDUE_MS} (the LOG order may be lost with it).
   */
  async #repairLogs(data: ProjectData): Promise<void> {
    const since = data.rewrite?.since.toEpochSeconds();
    if (since === undefined) return;
    if (since >= this.#started.toEpochSeconds() && Date.now() - since * 1000 < OVERDUE_MS) return;
    for (const build of data.versions.flatMap((v) => v.builds)) {
      const path = `${this.out}/${logPath(build.buildId)}`;
      try {
        await Deno.lstat(path);
        continue;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      const output = await this.oracle.buildOutput(build.buildId);
      if (output === null) continue;
      writeAtomicSync(path, gzipSync(new TextEncoder().encode(output)));
      this.ctx.log.info(`wrote the missing log of build ${build.buildId} (${data.package})`);
    }
  }

  get out(): string {
    return this.ctx.options.outputPath;
  }

  site(): Site {
    return { baseUrl: this.ctx.options.baseUrl, now: Timestamp.now() };
  }

  /** Rewrites `/simple/index.html` soon (merging bursts of new packages). */
  indexChanged(): void {
    if (this.#indexTimer !== undefined || this.ctx.signal.aborted) return;
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = undefined;
      this.writeIndex().catch((e) =>
        this.ctx.log.error(`cannot write the simple index: ${errorMessage(e)}`)
      );
    }, INDEX_DELAY_MS);
  }

  cancel(): void {
    clearTimeout(this.#indexTimer);
  }

  async writeIndex(): Promise<void> {
    const { html, json } = await renderSimpleIndex([...this.packages]);
    writeAtomicSync(`${this.out}/simple/index.html`, html);
    writeAtomicSync(`${this.out}/simple/index.json`, json);
    this.writeSearch();
  }

  /** Takes the download counts Big Brother gathered (name shown → [recent, ever]). */
  setSearch(counts: Record<string, [number, number]>): void {
    this.search.clear();
    for (const [name, [recent, all]] of Object.entries(counts)) {
      this.search.set(normalizeName(name), [name, recent, all]);
    }
  }

  writeSearch(): void {
    const counts = Object.fromEntries(
      [...this.search.values()].map(([name, recent, all]) => [name, [recent, all]]),
    ) as Record<string, [number, number]>;
    writeAtomicSync(`${this.out}/packages.json`, searchIndex(counts));
  }

  async removePackage(name: string): Promise<void> {
    const names = new Set([name, normalizeName(name)].filter(ownDirectory));
    // the index pages first, so that no page lists a file gone (the files are in simple/)
    for (const n of names) {
      for (const page of ["index.html", "index.json"]) {
        await Deno.remove(`${this.out}/simple/${n}/${page}`).catch(() => {});
      }
    }
    for (const dir of ["simple", "project"]) {
      for (const n of names) {
        await Deno.remove(`${this.out}/${dir}/${n}`, { recursive: true }).catch(() => {});
      }
    }
    const gone = this.packages.delete(normalizeName(name));
    if (this.search.delete(normalizeName(name)) || gone) this.indexChanged();
  }

  async writePackage(name: string, both: boolean): Promise<void> {
    const text = await this.oracle.projectDataText(name);
    const data = parseProjectData(text);
    await this.#turns.run(() => this.writeProject(name, both, data));
    if (!data) return;
    await this.#repairLogs(data);
    // the project page alone does not pay for the simple page
    if (both || !data.rewrite?.both) this.#pay(data);
  }

  async writeProject(name: string, both: boolean, data: ProjectData | null): Promise<void> {
    if (!data) return await this.removePackage(name);
    const norm = data.package;
    // every other spelling of the name gets the same pages, so that it resolves too (a
    // symbolic link would need unscoped file permissions)
    const names = pageNames(norm, data.aliases);
    // each page's directory made once here (a new project's would each cost a failed write)
    for (const name of names) {
      if (both) Deno.mkdirSync(`${this.out}/simple/${name}`, { recursive: true });
      Deno.mkdirSync(`${this.out}/project/${name}/json`, { recursive: true });
    }
    if (both) {
      const files = indexFiles(data);
      for (const name of names) {
        const prefix = name === norm ? "" : `../${norm}/`;
        const { html, json } = await renderSimpleProject(norm, files, prefix);
        writeAtomicSync(`${this.out}/simple/${name}/index.html`, html);
        writeAtomicSync(`${this.out}/simple/${name}/index.json`, json);
      }
    }
    const page = await renderProject(data, this.site());
    const json = projectJson(data);
    for (const name of names) {
      writeAtomicSync(`${this.out}/project/${name}/index.html`, page);
      writeAtomicSync(`${this.out}/project/${name}/json/index.json`, json);
    }
    const known = this.search.get(norm);
    if (!this.packages.has(norm) || known?.[0] !== data.name) {
      this.packages.add(norm);
      this.search.set(norm, [data.name, known?.[1] ?? 0, known?.[2] ?? 0]);
      this.indexChanged();
    }
  }

  /** The site's builds and downloads per day, or null (the page goes without its plots). */
  async history(): Promise<History | null> {
    try {
      return await this.oracle.history(HISTORY_DAYS);
    } catch (e) {
      this.ctx.log.warning(`cannot read the history for the stats page: ${errorMessage(e)}`);
      return null;
    }
  }

  async handle(m: Order): Promise<void> {
    switch (m.msg) {
      case "PKGBOTH":
      case "PKGPROJ":
        return await this.writePackage(m.data, m.msg === "PKGBOTH");
      case "HOME":
        writeAtomicSync(`${this.out}/index.html`, await renderHome(m.data, this.site()));
        writeAtomicSync(
          `${this.out}/stats.html`,
          await renderStats(m.data, this.site(), await this.history()),
        );
        return;
      case "SEARCH":
        this.setSearch(m.data);
        return this.writeSearch();
      case "LOG":
        return writeAtomicSync(
          `${this.out}/${logPath(m.data[0])}`,
          gzipSync(new TextEncoder().encode(m.data[1])),
        );
      case "DELPKG":
        return await this.removePackage(m.data);
      case "DELVER":
        return await this.writePackage(m.data[0], true);
    }
  }
}

/** What an order writes, so that two orders for one package are carried out in turn. */
function orderKey(m: Order): string {
  switch (m.msg) {
    case "PKGBOTH":
    case "PKGPROJ":
    case "DELPKG":
      return `package ${normalizeName(m.data)}`;
    case "DELVER":
      return `package ${normalizeName(m.data[0])}`;
    case "LOG":
      return `log ${m.data[0]}`;
    default:
      return m.msg;
  }
}

/**
 * Carries out orders {@linkcode CONCURRENT} at a time, those of one key (a package, a log, the
 * home page) in the order they came; `add` returns once the order is under way.
 */
class Orders {
  #running = 0;
  readonly #last = new Map<string, Promise<void>>();
  /** An `add` waiting for a place (orders are added one after another). */
  readonly #waiting: (() => void)[] = [];
  #drained: PromiseWithResolvers<void> | undefined;

  constructor(readonly carryOut: (m: Order) => Promise<void>) {}

  async add(m: Order): Promise<void> {
    if (this.#running < CONCURRENT) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    const key = orderKey(m);
    const done = (this.#last.get(key) ?? Promise.resolve()).then(() => this.carryOut(m));
    this.#last.set(key, done);
    done.finally(() => {
      if (this.#last.get(key) === done) this.#last.delete(key);
      // its place goes to the order waiting for one
      const next = this.#waiting.shift();
      if (next) next();
      else if (--this.#running === 0) this.#drained?.resolve();
    });
  }

  /** Resolves once every order taken is carried out. */
  async drain(): Promise<void> {
    if (this.#running === 0) return;
    this.#drained = Promise.withResolvers();
    await this.#drained.promise;
  }
}

runTask("the_scribe", async (ctx) => {
  const inbox = ctx.socket(new Pull());
  await inbox.bind(SCRIBE_QUEUE);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const scribe = new Scribe(ctx, oracle);
  await Deno.mkdir(`${ctx.options.outputPath}/simple`, { recursive: true });
  for (const name of await oracle.allPackages()) scribe.packages.add(normalizeName(name));
  scribe.setSearch(Object.fromEntries(await oracle.searchIndex()));
  await scribe.writeIndex();
  for (const [name, source] of Object.entries(STATIC)) {
    writeAtomicSync(`${ctx.options.outputPath}/static/${name}`, source);
  }
  ctx.ready();
  const orders = new Orders(async (m) => {
    try {
      await scribe.handle(m);
    } catch (e) {
      if (!isClosed(e)) ctx.log.error(`${m.msg}: ${errorMessage(e)}`);
    }
  });
  // from the Secretary, over inproc://
  await eachDecoded(inbox, theScribe, ctx.log, (m) => orders.add(m), { trusted: true });
  await orders.drain();
  scribe.cancel();
  await scribe.payNow().catch((e) => {
    // owed still: written again at the next start
    ctx.log.warning(`cannot pay the last rewrites: ${errorMessage(e)}`);
  });
  await oracle.close();
});
