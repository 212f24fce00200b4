/**
 * The master's database layer: one typed method per request the Oracle serves (`theOracle` in
 * `shared/protocols.ts`; each method's doc names its message). Every write is one call of a
 * SECURITY DEFINER function of `sql/create_piwheels.sql`, so each is atomic and the master's
 * role needs no write privilege on any table; reads are plain SELECTs or the schema's
 * reading functions.
 *
 * A project is known by its PEP 503 normal form (`normalizeName`), whatever spelling a caller
 * uses: every method takes any spelling of a package's name and works on the project it names.
 * PyPI's spellings are recorded (package_names) by {@linkcode MasterDb.addPackage},
 * {@linkcode MasterDb.addVersion} and {@linkcode MasterDb.addAlias}.
 *
 * {@linkcode MasterDb.open} refuses a database whose schema version is not this software's,
 * and a connection as a cluster superuser. A `pglite://` DSN gets the schema created on first
 * use and runs as the ordinary role {@linkcode EMBEDDED_USER}.
 *
 * Deno permissions: those of the driver (`shared/db/postgres.ts` or `shared/db/pglite.ts`).
 *
 * @module
 */

import { SCHEMA_VERSION } from "../sql/scripts.ts";
import { connect, type Database, DbError } from "../shared/db/driver.ts";
import {
  applyPlan,
  compareVersions,
  detectVersion,
  preparePlan,
  quoteIdent,
  SchemaError,
} from "../shared/db/schema.ts";
import {
  QUEUE_LENGTH,
  type RewritePending,
  type StatsMessage,
  type WebLogRecord,
} from "../shared/protocols.ts";
import {
  type BuildState,
  type Dependencies,
  DownloadState,
  JSONState,
  PageState,
  ProjectState,
  SearchState,
  type UserAgentInfo,
} from "../shared/states.ts";
import type { Timestamp } from "../shared/timestamp.ts";
import { VERSION } from "../shared/version.ts";
import { normalizeName as key } from "../shared/wheel.ts";

/** The master's role inside an embedded (PGlite) database. */
export const EMBEDDED_USER = "piwheels";

/** The statistics the database provides: STATS without the file system's disk figures. */
export type DbStatistics = Omit<StatsMessage, "disk_free" | "disk_size">;

/** A build as LOGBUILD recorded it: its id, and the files that went with builds it replaced. */
export interface LoggedBuild {
  /** The new build's id. */
  buildId: number;
  /** The names of the files of replaced builds that the new build does not hold again. */
  removed: string[];
}

/** Builds and downloads per day ({@linkcode MasterDb.history}). */
export interface History {
  /** `[day, succeeded, failed]`, oldest first. */
  builds: [string, number, number][];
  /** `[day, downloads]`, oldest first. */
  downloads: [string, number][];
}

/** What PyPI says of a release, each part null where it says nothing (or was not asked). */
export interface ReleaseData {
  /** The project's one-line summary. */
  description: string | null;
  /** The release's Requires-Python. */
  requiresPython: string | null;
  /** Whether the release is yanked. */
  yanked: boolean | null;
}

/** The User-Agent fields as the JSON object the logging functions take (`py_version`…). */
function agentObject(agent: UserAgentInfo): Record<string, string | null> {
  return Object.fromEntries(
    Object.entries(agent).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

/** Calls a logging function once per row of a JSON array (`$1`) of `columns`. */
function perRow(call: string, columns: string): string {
  return `SELECT ${call} FROM jsonb_to_recordset($1::jsonb) AS r (${columns})`;
}

const LOG_DOWNLOADS = perRow(
  "log_download(r.name, r.host, r.at, r.agent)",
  "name varchar, host varchar, at timestamptz, agent jsonb",
);
const LOG_SEARCHES = perRow(
  "log_search(r.name, r.host, r.at, r.agent)",
  "name varchar, host varchar, at timestamptz, agent jsonb",
);
const LOG_WEB_HITS = perRow(
  "log_web_hit(r.kind, r.name, r.host, r.at, r.agent)",
  "kind varchar, name varchar, host varchar, at timestamptz, agent varchar",
);

/**
 * Creates the schema of an embedded database on first use, then becomes its ordinary role (an
 * older schema is left for piw-initdb to upgrade, which {@linkcode checkConnection} says).
 */
async function prepareEmbedded(db: Database): Promise<void> {
  if (await detectVersion(db) === null) await applyPlan(db, await preparePlan(db, EMBEDDED_USER));
  await db.exec(`SET ROLE ${quoteIdent(EMBEDDED_USER)}`);
}

/** Refuses a superuser connection and a schema version other than this software's. */
async function checkConnection(db: Database): Promise<void> {
  const [me] = await db.query<{ name: string; super: boolean; ready: boolean }>(
    `SELECT current_user AS name,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super,
            to_regclass('public.configuration') IS NOT NULL AS ready`,
  );
  if (me!.super) {
    throw new SchemaError(
      `connected to ${db.target} as ${me!.name}, a cluster superuser: the master must run as ` +
        "the ordinary user piw-initdb granted its permissions to",
    );
  }
  if (!me!.ready) {
    throw new SchemaError(`${db.target} holds no piwheels schema: run piw-initdb on it first`);
  }
  const [config] = await db.query<{ version: string }>("SELECT version FROM configuration");
  const found = config?.version ?? "(none)";
  if (found !== SCHEMA_VERSION) {
    const what = compareVersions(found, SCHEMA_VERSION) > 0
      ? "upgrade piwheels"
      : "run piw-initdb to upgrade it";
    throw new SchemaError(
      `${db.target} has schema version ${found}, but piwheels ${VERSION} needs ` +
        `${SCHEMA_VERSION}: ${what}`,
    );
  }
}

/** The master's view of the piwheels database. */
export class MasterDb {
  private constructor(
    /** The connection underneath (for the tests and the embedded case's administration). */
    readonly connection: Database,
  ) {}

  /** Connects to the DSN's database and checks it (see the module's description). */
  static async open(dsn: string): Promise<MasterDb> {
    const db = await connect(dsn, { applicationName: "piw-master" });
    try {
      return await MasterDb.attach(db);
    } catch (e) {
      await db.close();
      throw e;
    }
  }

  /** Checks an open database (creating an embedded one's schema) and wraps it. */
  static async attach(db: Database): Promise<MasterDb> {
    if (db.engine === "pglite") await prepareEmbedded(db);
    await checkConnection(db);
    return new MasterDb(db);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.connection.close();
  }

  async #run(sql: string, params: readonly unknown[]): Promise<void> {
    await this.connection.query(sql, params);
  }

  async #value<T>(sql: string, params: readonly unknown[]): Promise<T> {
    const [row] = await this.connection.query<{ value: T }>(sql, params);
    return row!.value;
  }

  async #names(sql: string, params: readonly unknown[]): Promise<string[]> {
    return (await this.connection.query<{ name: string }>(sql, params)).map((r) => r.name);
  }

  /** ALLPKGS: every known package, by its normal form. */
  async allPackages(): Promise<Set<string>> {
    return new Set(await this.#names("SELECT package AS name FROM packages", []));
  }

  /** ALLVERS: every known version, as `[package, version]`. */
  async allVersions(): Promise<[string, string][]> {
    const rows = await this.connection.query<{ p: string; v: string }>(
      "SELECT package AS p, version AS v FROM versions",
    );
    return rows.map((r) => [r.p, r.v]);
  }

  /**
   * NEWPKG: records a package by any spelling of its name, and the spelling as seen at `seen`
   * (now by default: the latest spelling is the name pages show); true when it was new.
   */
  addPackage(
    pkg: string,
    skip = "",
    description = "",
    seen: Timestamp | null = null,
  ): Promise<boolean> {
    return this.#value(
      "SELECT add_new_package($1, $2, $3, $4) AS value",
      [pkg, skip, description, seen],
    );
  }

  /**
   * PKGALIAS: records another spelling of a known package's name (an operator's, which does not
   * change the name pages show). Raises for a name whose normal form is not the package's.
   */
  async addAlias(pkg: string, name: string): Promise<void> {
    if (key(name) !== key(pkg)) {
      throw new DbError(`${name} is not a spelling of ${key(pkg)} (it is ${key(name)})`);
    }
    await this.#run("SELECT add_package_name($1)", [name]);
  }

  /** PKGNAMES: every spelling recorded of a package's name, and its normal form, sorted. */
  async packageNames(pkg: string): Promise<string[]> {
    return [
      ...new Set([
        key(pkg),
        ...await this.#names("SELECT name FROM package_names WHERE package = $1", [key(pkg)]),
      ]),
    ].sort();
  }

  /**
   * NEWVER: records a version of a known package (by any spelling, which is recorded as seen
   * when the version was released); true when it was new.
   */
  addVersion(
    pkg: string,
    version: string,
    released: Timestamp,
    skip = "",
    requiresPython: string | null = null,
  ): Promise<boolean> {
    return this.#value(
      "SELECT add_new_package_version($1, $2, $3, $4, $5) AS value",
      [pkg, version, released, skip, requiresPython],
    );
  }

  /** PROJDESC: sets a package's description. */
  setDescription(pkg: string, description: string): Promise<void> {
    return this.#run("SELECT update_package($1, descr => $2)", [key(pkg), description]);
  }

  /** SKIPPKG: sets a package's skip reason ('' builds it again). */
  skipPackage(pkg: string, reason: string): Promise<void> {
    return this.#run("SELECT update_package($1, reason => $2)", [key(pkg), reason]);
  }

  /** SETPRIO: sets a package's priority in the build queue (higher builds first; 0 usual). */
  setPriority(pkg: string, priority: number): Promise<void> {
    return this.#run("SELECT update_package($1, prio => $2::smallint)", [key(pkg), priority]);
  }

  /** SKIPVER: sets a version's skip reason ('' builds it again). */
  skipVersion(pkg: string, version: string, reason: string): Promise<void> {
    return this.#run("SELECT update_version($1, $2, reason => $3)", [key(pkg), version, reason]);
  }

  /**
   * RELDATA: records what PyPI says of a release (its parts that are not null): the project's
   * description, the release's Requires-Python and whether it is yanked, in one transaction;
   * true when that changed anything (so that pages are written again only then). Raises for an
   * unknown version.
   */
  async releaseData(pkg: string, version: string, data: ReleaseData): Promise<boolean> {
    return await this.connection.transaction(async (tx) => {
      const [known] = await tx.query<{ d: string; r: string | null; y: boolean }>(
        `SELECT p.description AS d, v.requires_python AS r, v.yanked AS y
         FROM versions AS v JOIN packages AS p ON p.package = v.package
         WHERE v.package = $1 AND v.version = $2`,
        [key(pkg), version],
      );
      if (!known) throw new DbError(`unknown version ${key(pkg)} ${version}`);
      const description = data.description !== null && data.description !== known.d
        ? data.description
        : null;
      const requires = data.requiresPython !== null && data.requiresPython !== known.r
        ? data.requiresPython
        : null;
      const yanked = data.yanked !== null && data.yanked !== known.y ? data.yanked : null;
      if (description !== null) {
        await tx.query("SELECT update_package($1, descr => $2)", [key(pkg), description]);
      }
      if (requires !== null || yanked !== null) {
        await tx.query(
          "SELECT update_version($1, $2, yank => $3, requires => $4)",
          [key(pkg), version, yanked, requires],
        );
      }
      return description !== null || requires !== null || yanked !== null;
    });
  }

  /** DELPKG: deletes a package and all of it; returns the names of the files that went. */
  deletePackage(pkg: string): Promise<string[]> {
    return this.#names("SELECT name FROM delete_release($1) AS name", [key(pkg)]);
  }

  /** DELVER: deletes a version and all of it; returns the names of the files that went. */
  deleteVersion(pkg: string, version: string): Promise<string[]> {
    return this.#names("SELECT name FROM delete_release($1, $2) AS name", [key(pkg), version]);
  }

  /** YANKVER (and UNYANKVER with `yanked` false): marks a version yanked or not. */
  yankVersion(pkg: string, version: string, yanked = true): Promise<void> {
    return this.#run("SELECT update_version($1, $2, yank => $3)", [key(pkg), version, yanked]);
  }

  /**
   * REFRESHPOP: recomputes every package's popularity from the downloads of the last 30 days
   * (see `refresh_popularity`), which reorders the build queue; returns how many changed.
   */
  refreshPopularity(): Promise<number> {
    return this.#value("SELECT refresh_popularity() AS value", []);
  }

  /**
   * LOGBATCH: records piw-logger's records (wheel downloads, simple-page fetches, page hits) in
   * one transaction, with one statement per kind however many there are. A record the database
   * refuses for what it holds (SQLSTATE classes 22 and 23) is dropped alone: the batch's halves
   * are tried apart, down to it. Resolves to why each dropped record was refused. Any other
   * error (the database gone, a deadlock) is raised for the whole batch, to be tried again: it
   * used to be split to single records just the same, each failing, so that a database restart
   * lost every record of the batch.
   */
  async logWebRecords(records: readonly WebLogRecord[]): Promise<string[]> {
    try {
      await this.#logWebBatch(records);
      return [];
    } catch (e) {
      if (!(e instanceof DbError && /^2[23]/.test(e.code ?? ""))) throw e;
      if (records.length === 1) return [e.message];
      const half = Math.ceil(records.length / 2);
      return [
        ...await this.logWebRecords(records.slice(0, half)),
        ...await this.logWebRecords(records.slice(half)),
      ];
    }
  }

  async #logWebBatch(records: readonly WebLogRecord[]): Promise<void> {
    const downloads: object[] = [];
    const searches: object[] = [];
    const hits: object[] = [];
    for (const r of records) {
      switch (r[0]) {
        case "LOGDOWNLOAD": {
          const d = DownloadState.fromMessage(r[1]);
          downloads.push({
            name: d.filename,
            host: d.host,
            at: d.timestamp,
            agent: agentObject(d.agent),
          });
          break;
        }
        case "LOGSEARCH": {
          const s = SearchState.fromMessage(r[1]);
          searches.push({
            name: s.package_,
            host: s.host,
            at: s.timestamp,
            agent: agentObject(s.agent),
          });
          break;
        }
        case "LOGPROJECT":
        case "LOGJSON": {
          const h = (r[0] === "LOGJSON" ? JSONState : ProjectState).fromMessage(r[1]);
          const kind = r[0] === "LOGJSON" ? "json" : "project";
          hits.push({ kind, name: h.package_, host: h.host, at: h.timestamp, agent: h.userAgent });
          break;
        }
        case "LOGPAGE": {
          const h = PageState.fromMessage(r[1]);
          hits.push({
            kind: "page",
            name: h.page,
            host: h.host,
            at: h.timestamp,
            agent: h.userAgent,
          });
          break;
        }
      }
    }
    await this.connection.transaction(async (tx) => {
      for (
        const [sql, rows] of [[LOG_DOWNLOADS, downloads], [LOG_SEARCHES, searches], [
          LOG_WEB_HITS,
          hits,
        ]] as const
      ) {
        if (rows.length) await tx.query(sql, [JSON.stringify(rows)]);
      }
    });
  }

  /**
   * LOGBUILD: records a build with its output, files and dependencies, taking over the files it
   * holds again from the builds that held them and replacing the version's earlier builds it
   * supersedes (see `log_build`); returns its id and the names of the files that went with
   * those. A file name another version holds is refused (a `DbError`).
   */
  async logBuild(build: BuildState): Promise<LoggedBuild> {
    const files = [...build.files.values()].map((f) => ({
      filename: f.filename,
      filesize: f.filesize,
      filehash: f.filehash,
      package_tag: f.packageTag,
      package_version_tag: f.packageVersionTag,
      py_version_tag: f.pyVersionTag,
      abi_tag: f.abiTag,
      platform_tag: f.platformTag,
      requires_python: f.requiresPython,
      metadata_sha256: f.metadataHash,
      dependencies: f.dependencies,
    }));
    const [row] = await this.connection.query<{ id: number; removed: string[] }>(
      "SELECT build_id AS id, removed FROM log_build($1, $2, $3, $4, $5, $6, $7, $8)",
      [
        build.slaveId,
        key(build.package_),
        build.version,
        build.abiTag,
        build.status,
        build.duration,
        build.output,
        JSON.stringify(files),
      ],
    );
    return { buildId: row!.id, removed: row!.removed };
  }

  /** FILEVERS: the versions the named files belong to (known ones only), name → [pkg, ver]. */
  async fileVersions(names: readonly string[]): Promise<Map<string, [string, string]>> {
    const rows = await this.connection.query<{ f: string; p: string; v: string }>(
      "SELECT filename AS f, package AS p, version AS v FROM get_file_versions($1)",
      [names],
    );
    return new Map(rows.map((r) => [r.f, [r.p, r.v]]));
  }

  /** MAXBUILD: the newest build's id, or 0 when there is none. */
  maxBuildId(): Promise<number> {
    return this.#value("SELECT COALESCE(max(build_id), 0)::bigint AS value FROM builds", []);
  }

  /** DELBUILD: deletes every build of a version (which becomes pending again); returns the
   * names of the files that went. */
  deleteBuilds(pkg: string, version: string): Promise<string[]> {
    return this.#names("SELECT name FROM delete_builds($1, $2) AS name", [key(pkg), version]);
  }

  /** PKGFILES: every file of a package, name → SHA-256, by name. */
  async packageFiles(pkg: string): Promise<Map<string, string>> {
    const rows = await this.connection.query<{ name: string; hash: string }>(
      "SELECT filename AS name, filehash AS hash FROM get_files($1)",
      [key(pkg)],
    );
    return new Map(rows.map((r) => [r.name, r.hash]));
  }

  /**
   * PROJDATA: everything a project page shows of each package named, in their order, as the
   * JSON text `get_project_data()` makes (null for an unknown package), which the Oracle passes
   * on as it is: the reader parses it once (`parseProjectData`), not the driver here, then CBOR
   * each way.
   */
  async projectDataJson(pkgs: readonly string[]): Promise<(string | null)[]> {
    const rows = await this.connection.query<{ value: string | null }>(
      `SELECT get_project_data(t.p)::text AS value
       FROM unnest($1::varchar[]) WITH ORDINALITY AS t (p, i) ORDER BY t.i`,
      [pkgs.map(key)],
    );
    return rows.map((r) => r.value);
  }

  /** VERFILES: the names of a version's files. */
  async versionFiles(pkg: string, version: string): Promise<Set<string>> {
    return new Set(
      await this.#names("SELECT filename AS name FROM get_files($1, $2)", [key(pkg), version]),
    );
  }

  /** GETSKIP: why a version is not built: its own skip reason, else its package's, else ''.
   * Null for an unknown version. */
  async versionSkip(pkg: string, version: string): Promise<string | null> {
    const [row] = await this.connection.query<{ skip: string }>(
      `SELECT CASE WHEN v.skip <> '' THEN v.skip ELSE p.skip END AS skip
       FROM versions AS v JOIN packages AS p ON p.package = v.package
       WHERE v.package = $1 AND v.version = $2`,
      [key(pkg), version],
    );
    return row?.skip ?? null;
  }

  /** PKGEXISTS: whether a package is known. */
  packageExists(pkg: string): Promise<boolean> {
    return this.#value(
      "SELECT EXISTS (SELECT FROM packages WHERE package = $1) AS value",
      [key(pkg)],
    );
  }

  /** VEREXISTS: whether a version is known. */
  versionExists(pkg: string, version: string): Promise<boolean> {
    return this.#value(
      "SELECT EXISTS (SELECT FROM versions WHERE package = $1 AND version = $2) AS value",
      [key(pkg), version],
    );
  }

  /** GETABIS: the build ABIs that are not skipped. */
  async buildAbis(): Promise<Set<string>> {
    return new Set(
      await this.#names(
        "SELECT abi_tag AS name FROM build_abis WHERE skip = '' ORDER BY abi_tag",
        [],
      ),
    );
  }

  /** LISTABIS: every build ABI, skipped or not, with its skip reason, in name order. */
  async listBuildAbis(): Promise<[string, string][]> {
    const rows = await this.connection.query<{ abi: string; skip: string }>(
      "SELECT abi_tag AS abi, skip FROM build_abis ORDER BY abi_tag",
    );
    return rows.map((r) => [r.abi, r.skip]);
  }

  /** ADDABI: adds a build ABI (the operator, through piw-abi); true when it was new. */
  addBuildAbi(abi: string): Promise<boolean> {
    return this.#value("SELECT add_build_abi($1) AS value", [abi]);
  }

  /** DELABI: removes a build ABI (and its queue); true when it existed. */
  deleteBuildAbi(abi: string): Promise<boolean> {
    return this.#value("SELECT delete_build_abi($1) AS value", [abi]);
  }

  /** SKIPABI: sets a build ABI's skip reason ('' builds it again); true when it exists. */
  skipBuildAbi(abi: string, reason: string): Promise<boolean> {
    return this.#value("SELECT skip_build_abi($1, $2) AS value", [abi, reason]);
  }

  /** GETPYPI: the last PyPI changelog serial processed. */
  pypiSerial(): Promise<number> {
    return this.#value("SELECT pypi_serial AS value FROM configuration", []);
  }

  /** SETPYPI: moves the PyPI serial forward (a lower one is ignored). */
  setPypiSerial(serial: number): Promise<void> {
    return this.#run("SELECT set_pypi_serial($1)", [serial]);
  }

  /**
   * GETSTATS: the statistics of the home page and the monitors, but for disk space. The time
   * of every build together is cut at a century: past 285 years it is no duration at all, and
   * every statistics request failed (builds logged by an older master, or imported, are not cut
   * to the time they took).
   */
  async statistics(): Promise<DbStatistics> {
    const [s] = await this.connection.query<Omit<DbStatistics, "builds_pending">>(
      `SELECT packages_built, builds_count, builds_last_hour, builds_success,
              LEAST(builds_time, interval '36500 days') AS builds_time, builds_size, files_count,
              downloads_last_month, downloads_all
         FROM get_statistics()`,
    );
    const pending = await this.#value<number>(
      "SELECT count(*) AS value FROM build_queue",
      [],
    );
    return { ...s!, builds_pending: pending };
  }

  /**
   * HISTORY: builds (succeeded, failed) and downloads per day (UTC, `YYYY-MM-DD`) over the last
   * `days` days, of one package or of all; days with none are left out.
   */
  async history(days: number, pkg: string | null): Promise<History> {
    const builds = await this.connection.query<{ day: string; ok: number; failed: number }>(
      `SELECT to_char(built_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
              (count(*) FILTER (WHERE status))::int AS ok,
              (count(*) FILTER (WHERE NOT status))::int AS failed
         FROM builds
        WHERE built_at >= now() - make_interval(days => $1) AND ($2::text IS NULL OR package = $2)
        GROUP BY 1 ORDER BY 1`,
      [days, pkg],
    );
    const downloads = await this.connection.query<{ day: string; n: number }>(
      `SELECT to_char(accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n
         FROM downloads
        WHERE accessed_at >= now() - make_interval(days => $1)
          AND ($2::text IS NULL OR package = $2)
        GROUP BY 1 ORDER BY 1`,
      [days, pkg],
    );
    return {
      builds: builds.map((r) => [r.day, r.ok, r.failed]),
      downloads: downloads.map((r) => [r.day, r.n]),
    };
  }

  /**
   * GETSEARCH: every package (by the name pages show) → [downloads in the last 30 days,
   * downloads ever].
   */
  async searchIndex(): Promise<Map<string, [number, number]>> {
    const rows = await this.connection.query<{ p: string; r: number; a: number }>(
      "SELECT package AS p, downloads_recent AS r, downloads_all AS a FROM get_search_index()",
    );
    return new Map(rows.map((r) => [r.p, [r.r, r.a]]));
  }

  /**
   * GETQUEUE: for every active build ABI, its first `perAbi` pending builds
   * `[package, version]` in the order to build them: the operator's priority, then the
   * project's popularity, then the newest release first.
   */
  async buildQueue(perAbi = QUEUE_LENGTH): Promise<Map<string, [string, string][]>> {
    const rows = await this.connection.query<{ abi: string; p: string | null; v: string }>(
      "SELECT abi_tag AS abi, package AS p, version AS v FROM get_build_queue($1)",
      [perAbi],
    );
    const queue = new Map<string, [string, string][]>();
    for (const r of rows) {
      const list = queue.get(r.abi) ?? [];
      queue.set(r.abi, list);
      if (r.p !== null) list.push([r.p, r.v]);
    }
    return queue;
  }

  /** FILEDEPS: what a file needs installed, tool → packages. */
  async fileDependencies(filename: string): Promise<Dependencies> {
    const rows = await this.connection.query<{ tool: string; name: string }>(
      `SELECT tool, dependency AS name FROM dependencies
       WHERE filename = $1 ORDER BY tool, dependency`,
      [filename],
    );
    const deps: Dependencies = {};
    for (const r of rows) (deps[r.tool] ??= []).push(r.name);
    return deps;
  }

  /**
   * SAVERWP: owes these page rewrites too (those of unknown packages are dropped), each with a
   * new seq, so that pages being written meanwhile do not pay it.
   */
  saveRewritesPending(pending: readonly RewritePending[]): Promise<void> {
    const doc = pending.map(([pkg, at, command]) => ({
      package: key(pkg),
      added_at: at.toString(),
      command,
    }));
    return this.#run("SELECT save_rewrites_pending($1)", [JSON.stringify(doc)]);
  }

  /** RWPDONE: pays the rewrites of pages written from data read with these seqs. */
  rewritesDone(done: readonly [string, number][]): Promise<void> {
    const doc = done.map(([pkg, seq]) => ({ package: key(pkg), seq }));
    return this.#run("SELECT rewrites_done($1)", [JSON.stringify(doc)]);
  }

  /** RWPOWED: which of these packages' pages are owed a rewrite still. */
  async rewritesOwed(packages: readonly string[]): Promise<string[]> {
    const rows = await this.connection.query<{ p: string }>(
      "SELECT package AS p FROM rewrites_pending WHERE package = ANY($1::varchar[])",
      [packages.map(key)],
    );
    return rows.map((r) => r.p);
  }

  /** LOADRWP: every page rewrite owed, oldest first. */
  async loadRewritesPending(): Promise<RewritePending[]> {
    const rows = await this.connection.query<
      { p: string; at: Timestamp; cmd: RewritePending[2] }
    >(
      `SELECT package AS p, added_at AS at, command AS cmd FROM rewrites_pending
       ORDER BY added_at, package`,
    );
    return rows.map((r) => [r.p, r.at, r.cmd]);
  }

  /**
   * LISTPKGS: up to `limit` packages after `after` (by normal form; "" for the first), each
   * with the other spellings of its name, for piw-audit.
   */
  async listPackages(after: string, limit: number): Promise<[string, string[]][]> {
    const rows = await this.connection.query<{ p: string; names: string[] }>(
      `SELECT p.package AS p, COALESCE((
           SELECT array_agg(n.name ORDER BY n.name) FROM package_names AS n
           WHERE n.package = p.package AND n.name <> p.package
       ), '{}') AS names
       FROM packages AS p WHERE p.package > $1 ORDER BY p.package LIMIT $2`,
      [after, limit],
    );
    return rows.map((r) => [r.p, r.names]);
  }

  /** LISTBUILDS: up to `limit` build ids above `after`, in order, for piw-audit. */
  async listBuilds(after: number, limit: number): Promise<number[]> {
    const rows = await this.connection.query<{ id: number }>(
      "SELECT build_id AS id FROM builds WHERE build_id > $1 ORDER BY build_id LIMIT $2",
      [after, limit],
    );
    return rows.map((r) => r.id);
  }

  /** BUILDIDS: which of these ids are builds' ids, in order. */
  async knownBuilds(ids: readonly number[]): Promise<number[]> {
    const rows = await this.connection.query<{ id: number }>(
      "SELECT build_id AS id FROM builds WHERE build_id = ANY ($1::bigint[]) ORDER BY build_id",
      [[...ids]],
    );
    return rows.map((r) => r.id);
  }

  /** PKGSFILES: the files of each package named, `[filename, SHA-256]` by name. */
  async packagesFiles(pkgs: readonly string[]): Promise<Map<string, [string, string][]>> {
    const out = new Map<string, [string, string][]>(pkgs.map((p) => [key(p), []]));
    const rows = await this.connection.query<{ p: string; f: string; h: string }>(
      `SELECT b.package AS p, f.filename AS f, f.filehash AS h
       FROM builds AS b JOIN files AS f ON f.build_id = b.build_id
       WHERE b.package = ANY ($1) ORDER BY f.filename`,
      [[...out.keys()]],
    );
    for (const r of rows) out.get(r.p)!.push([r.f, r.h]);
    return out;
  }

  /** GETLOG: a build's output, null for an unknown build. */
  async buildOutput(buildId: number): Promise<string | null> {
    const [row] = await this.connection.query<{ output: string }>(
      "SELECT output FROM output WHERE build_id = $1",
      [buildId],
    );
    return row?.output ?? null;
  }
}
