/**
 * The one small interface every piwheels database access goes through, whichever engine is
 * underneath: a PostgreSQL server through postgres.js (`postgres://…`), or an embedded PGlite
 * data directory through its direct API (`pglite:///path/to/dir`, created on first use).
 *
 * Rows come back as plain objects whose values {@link ./values.ts} describes; every failure is
 * a {@linkcode DbError}.
 *
 * @module
 */

/** A row: column name → value. */
export type Row = Record<string, unknown>;

/** Something statements can run on: a connection, or a transaction in progress. */
export interface Queryable {
  /** Runs one statement with `$1`… parameters and returns its rows. */
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one statement without parameters or results (DDL from a script). */
  exec(text: string): Promise<void>;
}

/** The engines a DSN can name. */
export type Engine = "postgres" | "pglite";

/** An open database. */
export interface Database extends Queryable {
  /** Which engine this is. */
  readonly engine: Engine;
  /** The DSN without its password, for messages. */
  readonly target: string;
  /**
   * Runs `fn` in a transaction: committed when `fn` resolves, rolled back (and the error
   * re-thrown) when it rejects.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Closes the connection (and for PGlite, the data directory). */
  close(): Promise<void>;
}

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Shown by PostgreSQL in `pg_stat_activity` (default "piwheels"). */
  applicationName?: string;
  /** The most server connections to open at once (default 1; PGlite has one session). */
  maxConnections?: number;
}

/** Raised for anything that goes wrong in the database, with PostgreSQL's details if any. */
export class DbError extends Error {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "DbError";
  /** The SQLSTATE (e.g. `3D000` for a missing database) or a system error code. */
  readonly code: string | undefined;
  /** PostgreSQL's DETAIL, if any. */
  readonly detail: string | undefined;
  /** PostgreSQL's HINT, if any. */
  readonly hint: string | undefined;

  /** Wraps a message with the fields PostgreSQL supplies. */
  constructor(
    message: string,
    fields: { code?: string; detail?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: fields.cause });
    this.code = fields.code;
    this.detail = fields.detail;
    this.hint = fields.hint;
  }
}

/** Turns whatever a driver threw into a {@linkcode DbError} (kept as is if it already is). */
export function toDbError(e: unknown, context?: string): DbError {
  if (e instanceof DbError && context === undefined) return e;
  const err = e as { message?: unknown; code?: unknown; detail?: unknown; hint?: unknown };
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const message = text(err?.message) ?? String(e);
  return new DbError(context ? `${context}: ${message}` : message, {
    code: text(err?.code),
    detail: text(err?.detail),
    hint: text(err?.hint),
    cause: e,
  });
}

/** Where libpq (and so psql) finds the local server when a DSN names no host. */
export const SOCKET_DIR = "/var/run/postgresql";

/** The PostgreSQL server a DSN reaches: a Unix socket (its path), or a host and port. */
export type PgServer = { socket: string } | { host: string; port: number };

/** A DSN taken apart: which engine, and where. */
export type Dsn =
  | { engine: "postgres"; url: string; target: string; server: PgServer }
  | { engine: "pglite"; path: string; target: string };

/**
 * Reads a DSN: `postgres://` or `postgresql://` URLs (libpq's form: an empty host means
 * `$PGHOST`, else the local Unix socket in {@linkcode SOCKET_DIR}; a host that is a directory,
 * `%2F`-escaped or as `?host=`, is a socket directory), or `pglite://PATH` for an embedded data
 * directory (`pglite:///var/lib/x` is absolute, `pglite://data/x` relative to the working
 * directory). `server` is the one place that says where a DSN leads: the driver connects there
 * and the database Worker is given permission for exactly that.
 */
export function parseDsn(dsn: string): Dsn {
  const pglite = /^pglite:\/\/(.*)$/.exec(dsn);
  if (pglite) {
    const path = pglite[1]!;
    if (path === "") throw new DbError(`${dsn}: a pglite:// DSN needs a directory`);
    return { engine: "pglite", path, target: dsn };
  }
  const url = /^postgres(?:ql)?:\/\/(?:[^@/?]*@)?([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(dsn);
  if (!url) throw new DbError(`${dsn}: expected a postgres://, postgresql:// or pglite:// DSN`);
  const target = dsn.replace(/:[^:@/]*@/, ":***@");
  const [, hostPort, query] = url as unknown as [string, string, string | undefined];
  const hostPart = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
  if (!hostPart) throw new DbError(`${target}: cannot read the host and port`);
  const params = new URLSearchParams(query ?? "");
  const port = Number(params.get("port") ?? hostPart[2] ?? 5432);
  const host = params.get("host") ??
    (decodeURIComponent(hostPart[1]!) || Deno.env.get("PGHOST") || SOCKET_DIR);
  const server: PgServer = host.startsWith("/")
    ? { socket: `${host}/.s.PGSQL.${port}` }
    : { host: host.replace(/^\[(.*)\]$/, "$1"), port };
  // the server is given to the driver apart: the URL keeps the rest (user, database, options);
  // a socket's URL names a placeholder host, since a URL with a user and no host is no URL to
  // the driver (`postgres://u:secret@/db?host=/run/postgresql` would not parse)
  params.delete("host");
  params.delete("port");
  const rest = params.size ? `?${params}` : "";
  const base = dsn.replace(/\?.*$/, "");
  const driverUrl = "socket" in server
    ? base.replace(/^(postgres(?:ql)?:\/\/(?:[^@/?]*@)?)[^/?]*/, "$1localhost")
    : base;
  return { engine: "postgres", url: driverUrl + rest, target, server };
}

/**
 * Opens the database a DSN names, checking that it can be reached (a missing database, a
 * refused connection or a failed login raise here, not at the first query).
 */
export async function connect(dsn: string, options: ConnectOptions = {}): Promise<Database> {
  const where = parseDsn(dsn);
  if (where.engine === "pglite") {
    const { openPglite } = await import("./pglite.ts");
    return await openPglite(where.path, where.target);
  }
  const { openPostgres } = await import("./postgres.ts");
  return await openPostgres(where.url, where.target, where.server, options);
}
