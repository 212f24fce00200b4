/**
 * The tasks' typed view of the database: each method sends one Oracle request through Seraph
 * (the database queue) and returns its result typed as `master/db.ts` produced it. An ERROR
 * reply raises {@linkcode OracleError}.
 *
 * @module
 */

import type { CborValue } from "../shared/cbor.ts";
import type { Logger } from "../shared/log.ts";
import {
  type BareName,
  type DataIn,
  type DataName,
  MAX_PROJDATA,
  type Message,
  type RewritePending,
  theOracle,
} from "../shared/protocols.ts";
import type { BuildState, Dependencies } from "../shared/states.ts";
import type { Timestamp } from "../shared/timestamp.ts";
import type { DbStatistics, History, LoggedBuild, ReleaseData } from "./db.ts";
import { Batcher } from "./batcher.ts";
import { RpcClient } from "./rpc.ts";
import { normalizeName as key } from "../shared/wheel.ts";

type Requests = typeof theOracle.recv;
type OracleReply = Message<typeof theOracle.send>;

/** Raised when the Oracle answers ERROR. */
export class OracleError extends Error {
  override name = "OracleError";
}

function toMap<V>(value: CborValue): Map<string, V> {
  if (value instanceof Map) return value as Map<string, V>;
  return new Map(Object.entries(value as Record<string, V>));
}

/** How many PROJDATA requests one client keeps out at once (of the three Oracles). */
const PROJDATA_IN_FLIGHT = 2;

/** A connection to the Oracles (through Seraph). */
/** How often {@linkcode OracleClient.untilRewritten} asks (the Scribe pays once a second). */
export const REWRITTEN_POLL_MS = 100;
/**
 * How long a removal waits for its package's pages to be rewritten before it removes the files
 * all the same (piw-remove waits a minute for its answer by default).
 */
export const REWRITE_WAIT_MS = 20_000;

export class OracleClient {
  readonly #rpc: RpcClient<Requests, typeof theOracle.send>;
  /** PROJDATA's packages, asked for together while the Oracles are busy with earlier ones. */
  readonly #projects = new Batcher<string, string | null>({
    fetch: async (pkgs) => await this.call("PROJDATA", pkgs) as (string | null)[],
    inFlight: PROJDATA_IN_FLIGHT,
    maxBatch: MAX_PROJDATA,
  });

  /** Connects to the database queue at `address`. */
  constructor(address: string, log?: Logger) {
    this.#rpc = new RpcClient(address, theOracle, log);
  }

  /** Sends a request and returns OK's data (ERROR raises {@linkcode OracleError}). */
  call<K extends BareName<Requests>>(msg: K): Promise<CborValue>;
  call<K extends DataName<Requests>>(msg: K, data: DataIn<Requests, K>): Promise<CborValue>;
  async call(msg: string, ...data: unknown[]): Promise<CborValue> {
    const call = this.#rpc.call as (m: string, ...d: unknown[]) => Promise<OracleReply>;
    const reply = await call.call(this.#rpc, msg, ...data);
    if (reply.msg === "ERROR") throw new OracleError(`${msg}: ${reply.data}`);
    return reply.data as CborValue;
  }

  /** Every known package. */
  async allPackages(): Promise<Set<string>> {
    return await this.call("ALLPKGS") as Set<string>;
  }

  /**
   * Records a package by any spelling of its name (seen at `seen`, now by default); true when
   * it was new.
   */
  async newPackage(
    pkg: string,
    skip = "",
    description = "",
    seen: Timestamp | null = null,
  ): Promise<boolean> {
    return await this.call("NEWPKG", [pkg, skip, description, seen]) as boolean;
  }

  /** Records a version; true when it was new. */
  async newVersion(
    pkg: string,
    version: string,
    released: Timestamp,
    skip = "",
    requiresPython: string | null = null,
  ): Promise<boolean> {
    return await this.call("NEWVER", [pkg, version, released, skip, requiresPython]) as boolean;
  }

  /** Sets a package's description. */
  async setDescription(pkg: string, description: string): Promise<void> {
    await this.call("PROJDESC", [pkg, description]);
  }

  /** Sets a package's skip reason. */
  async skipPackage(pkg: string, reason: string): Promise<void> {
    await this.call("SKIPPKG", [pkg, reason]);
  }

  /** Sets a version's skip reason. */
  async skipVersion(pkg: string, version: string, reason: string): Promise<void> {
    await this.call("SKIPVER", [pkg, version, reason]);
  }

  /** Deletes a package; returns the names of its files that went. */
  async deletePackage(pkg: string): Promise<string[]> {
    return await this.call("DELPKG", pkg) as string[];
  }

  /**
   * The newest build's id (0 for none): asked before a deletion, the files it removes later go
   * but where a build logged since put its own (the File Juggler's REMOVE keeps those).
   */
  async maxBuildId(): Promise<number> {
    return await this.call("MAXBUILD") as number;
  }

  /** Deletes a version; returns the names of its files that went. */
  async deleteVersion(pkg: string, version: string): Promise<string[]> {
    return await this.call("DELVER", [pkg, version]) as string[];
  }

  /** Marks a version yanked or not. */
  async yankVersion(pkg: string, version: string, yanked: boolean): Promise<void> {
    await this.call(yanked ? "YANKVER" : "UNYANKVER", [pkg, version]);
  }

  /**
   * Records a build and its files (replacing the version's builds it supersedes); returns its
   * id and the files that went with those. A file name of another version raises.
   */
  async logBuild(build: BuildState): Promise<LoggedBuild> {
    const [buildId, removed] = await this.call("LOGBUILD", build.asMessage()) as [number, string[]];
    return { buildId, removed };
  }

  /** The versions the named files belong to (known ones only): name → [package, version]. */
  async fileVersions(names: string[]): Promise<Map<string, [string, string]>> {
    return toMap(await this.call("FILEVERS", names));
  }

  /** Deletes a version's builds; returns the names of the files that went. */
  async deleteBuilds(pkg: string, version: string): Promise<string[]> {
    return await this.call("DELBUILD", [pkg, version]) as string[];
  }

  /**
   * Everything a project page shows, as the JSON text `parseProjectData` (`project_data.ts`)
   * reads; null for an unknown package.
   */
  async projectDataText(pkg: string): Promise<string | null> {
    return await this.#projects.get(pkg);
  }

  /** Why a version is not built ('' when it is); null for an unknown version. */
  async versionSkip(pkg: string, version: string): Promise<string | null> {
    return await this.call("GETSKIP", [pkg, version]) as string | null;
  }

  /** Whether a package is known. */
  async packageExists(pkg: string): Promise<boolean> {
    return await this.call("PKGEXISTS", pkg) as boolean;
  }

  /** Whether a version is known. */
  async versionExists(pkg: string, version: string): Promise<boolean> {
    return await this.call("VEREXISTS", [pkg, version]) as boolean;
  }

  /** The active build ABIs. */
  async buildAbis(): Promise<Set<string>> {
    return await this.call("GETABIS") as Set<string>;
  }

  /** Every build ABI with its skip reason. */
  async listBuildAbis(): Promise<[string, string][]> {
    return await this.call("LISTABIS") as [string, string][];
  }

  /** Adds a build ABI; true when it was new. */
  async addBuildAbi(abi: string): Promise<boolean> {
    return await this.call("ADDABI", abi) as boolean;
  }

  /** Removes a build ABI; true when it existed. */
  async deleteBuildAbi(abi: string): Promise<boolean> {
    return await this.call("DELABI", abi) as boolean;
  }

  /** Sets a build ABI's skip reason ('' builds it again); true when it exists. */
  async skipBuildAbi(abi: string, reason: string): Promise<boolean> {
    return await this.call("SKIPABI", [abi, reason]) as boolean;
  }

  /** The last PyPI serial processed. */
  async pypiSerial(): Promise<number> {
    return await this.call("GETPYPI") as number;
  }

  /** Moves the PyPI serial forward. */
  async setPypiSerial(serial: number): Promise<void> {
    await this.call("SETPYPI", serial);
  }

  /** The database's statistics. */
  async statistics(): Promise<DbStatistics> {
    return await this.call("GETSTATS") as unknown as DbStatistics;
  }

  /** Every package → [downloads in the last 30 days, ever]. */
  async searchIndex(): Promise<Map<string, [number, number]>> {
    return toMap(await this.call("GETSEARCH"));
  }

  /** Builds and downloads per day over the last `days` days, of `pkg` or of all packages. */
  async history(days: number, pkg: string | null = null): Promise<History> {
    return await this.call("HISTORY", [days, pkg]) as unknown as History;
  }

  /** Per ABI, the pending builds in order. */
  async buildQueue(): Promise<Map<string, [string, string][]>> {
    return toMap(await this.call("GETQUEUE"));
  }

  /** What a file needs installed. */
  async fileDependencies(filename: string): Promise<Dependencies> {
    return await this.call("FILEDEPS", filename) as Dependencies;
  }

  /** Owes these rewrites too (the Secretary's own, as it stops). */
  async saveRewritesPending(pending: RewritePending[]): Promise<void> {
    await this.call("SAVERWP", pending);
  }

  /** Every page rewrite owed, oldest first. */
  async loadRewritesPending(): Promise<RewritePending[]> {
    return await this.call("LOADRWP") as unknown as RewritePending[];
  }

  /** Pays the rewrites of these packages' pages, written from data read with these seqs. */
  async rewritesDone(done: [string, number][]): Promise<void> {
    await this.call("RWPDONE", done);
  }

  /** Which of these packages' pages are owed a rewrite still. */
  async rewritesOwed(packages: string[]): Promise<string[]> {
    return await this.call("RWPOWED", packages) as string[];
  }

  /**
   * Waits until no rewrite of these packages' pages is owed (each owed one written: pages that
   * show every change made before the call), asking every {@linkcode REWRITTEN_POLL_MS}; false
   * when some still are after `timeoutMs`, or the signal aborted the wait.
   */
  async untilRewritten(
    packages: string[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    let owed = [...new Set(packages.map(key))];
    for (;;) {
      const still: string[] = [];
      for (let i = 0; i < owed.length; i += 1000) {
        still.push(...await this.rewritesOwed(owed.slice(i, i + 1000)));
      }
      owed = still;
      if (owed.length === 0) return true;
      if (Date.now() >= until || signal?.aborted) return false;
      await new Promise((resolve) => setTimeout(resolve, REWRITTEN_POLL_MS));
    }
  }

  // --- one project per name, piw-add, release data, popularity, piw-audit ---

  /** Records another spelling of a known package's name. */
  async addAlias(pkg: string, name: string): Promise<void> {
    await this.call("PKGALIAS", [pkg, name]);
  }

  /** Every spelling of a package's name, and its normal form. */
  async packageNames(pkg: string): Promise<string[]> {
    return await this.call("PKGNAMES", pkg) as string[];
  }

  /** Sets a package's priority in the build queue. */
  async setPriority(pkg: string, priority: number): Promise<void> {
    await this.call("SETPRIO", [pkg, priority]);
  }

  /** Records what PyPI says of a release (the parts that are not null); true if it changed. */
  async releaseData(pkg: string, version: string, data: ReleaseData): Promise<boolean> {
    return await this.call("RELDATA", [pkg, version, [
      data.description,
      data.requiresPython,
      data.yanked,
    ]]) as boolean;
  }

  /** Recomputes every package's popularity; resolves to how many changed. */
  async refreshPopularity(): Promise<number> {
    return await this.call("REFRESHPOP") as number;
  }

  /** Up to `limit` packages after `after`, each with the other spellings of its name. */
  async listPackages(after: string, limit: number): Promise<[string, string[]][]> {
    return await this.call("LISTPKGS", [after, limit]) as [string, string[]][];
  }

  /** Up to `limit` build ids above `after`. */
  async listBuilds(after: number, limit: number): Promise<number[]> {
    return await this.call("LISTBUILDS", [after, limit]) as number[];
  }

  /** Which of these ids (at most 1000) are builds' ids, in one query. */
  async knownBuilds(ids: number[]): Promise<Set<number>> {
    return new Set(await this.call("BUILDIDS", ids) as number[]);
  }

  /** The files of each package named: `[filename, SHA-256]`. */
  async packagesFiles(pkgs: string[]): Promise<Map<string, [string, string][]>> {
    return toMap(await this.call("PKGSFILES", pkgs));
  }

  /** A build's output; null for an unknown build. */
  async buildOutput(buildId: number): Promise<string | null> {
    return await this.call("GETLOG", buildId) as string | null;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#rpc.close();
  }
}
