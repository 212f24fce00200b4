/**
 * The PostgreSQL server driver, on postgres.js.
 *
 * Deno permissions: `--allow-net=HOST:PORT` and `--allow-env=PG*` (postgres.js reads every
 * `PG…` variable when a connection is made). The local Unix socket (a DSN without a host) needs
 * `--allow-net=unix:/var/run/postgresql/.s.PGSQL.5432` and read and write access to that path;
 * a DSN without a user name needs `--allow-sys=uid,gid,userInfo` (the user is the login name).
 *
 * @module
 */

import postgres from "postgres";
import {
  type ConnectOptions,
  type Database,
  DbError,
  type PgServer,
  type Queryable,
  type Row,
  toDbError,
} from "./driver.ts";
import { OID, PARSERS, toParam } from "./values.ts";

/** postgres.js custom types built from {@link ./values.ts}, so both drivers agree. */
function types() {
  const type = (oid: number, from: number[]) => ({
    to: oid,
    from,
    serialize: (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x)),
    parse: PARSERS[oid]!,
  });
  return {
    int8: { ...type(OID.int8, [OID.int8]), serialize: String },
    json: type(OID.jsonb, [OID.json, OID.jsonb]),
    timestamp: type(OID.timestamptz, [OID.timestamp, OID.timestamptz]),
    interval: type(OID.interval, [OID.interval]),
  };
}

type Sql = postgres.Sql | postgres.TransactionSql;

function queryable(sql: Sql): Queryable {
  return {
    async query<T extends Row>(text: string, params: readonly unknown[] = []) {
      try {
        // deno-lint-ignore no-explicit-any
        const rows = await sql.unsafe(text, params.map(toParam) as any[]);
        return [...rows] as unknown as T[];
      } catch (e) {
        throw toDbError(e);
      }
    },
    async exec(text: string) {
      try {
        await sql.unsafe(text).simple();
      } catch (e) {
        throw toDbError(e);
      }
    },
  };
}

/**
 * Makes the driver's client; a DSN it cannot read (`parseDsn` takes some that its URL parser
 * does not) is refused naming `target`, without the driver's message, which quotes the whole
 * URL, password and all.
 */
function readable<T>(target: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    // not the driver's error as the cause either: it would carry the password into a log
    throw new DbError(
      `${target}: the database driver cannot read this DSN (${(e as Error)?.name})`,
    );
  }
}

/** Connects to a PostgreSQL server and checks that the connection works. */
export async function openPostgres(
  url: string,
  target: string,
  server: PgServer,
  options: ConnectOptions,
): Promise<Database> {
  const sql = readable(target, () =>
    postgres(url, {
      max: options.maxConnections ?? 1,
      // where parseDsn says, which the database Worker's permissions name too
      ...("socket" in server ? { path: server.socket } : { host: server.host, port: server.port }),
      onnotice: () => {},
      types: types(),
      connection: {
        application_name: options.applicationName ?? "piwheels",
        TimeZone: "UTC",
        search_path: "public",
        // The schema's functions read JSON with jsonb_to_recordset, whose row estimate (100 per
        // call, multiplied across joins) talks the planner into compiling a plan with LLVM for a
        // statement of a handful of rows: 5-30 ms a call, nearly all of log_build's time.
        jit: "off",
      },
    }));
  const db: Database = {
    engine: "postgres",
    target,
    ...queryable(sql),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      try {
        return await sql.begin((tx) => fn(queryable(tx))) as T;
      } catch (e) {
        throw e instanceof postgres.PostgresError ? toDbError(e) : e; // fn's own errors pass
      }
    },
    async close() {
      await sql.end();
    },
  };
  try {
    await sql`SELECT 1`;
  } catch (e) {
    await sql.end();
    throw toDbError(e, `cannot connect to ${target}`);
  }
  return db;
}
