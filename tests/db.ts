/**
 * Databases for tests: scratch PostgreSQL databases and roles made (and dropped) through the
 * superuser `.ci/run` creates, with unique names so that test files can run at once; and a
 * fingerprint of a schema, to compare two databases' structure and permissions.
 *
 * @module
 */

import { connect, type Queryable, type Row } from "../shared/db/driver.ts";
import { quoteIdent } from "../shared/db/schema.ts";

/** The superuser DSN `.ci/run` exports as PIWHEELS_TEST_SUPERDSN. */
export function superDsn(): string {
  const dsn = Deno.env.get("PIWHEELS_TEST_SUPERDSN");
  if (!dsn) {
    throw new Error(
      "PIWHEELS_TEST_SUPERDSN is not set: run `bash .ci/run` once (it starts PostgreSQL and " +
        "creates the superuser), then export the DSN it prints in its source",
    );
  }
  return dsn;
}

/** The DSN of another database (and optionally another user) on the same server. */
export function dsnFor(database: string, user?: { name: string; password: string }): string {
  const url = new URL(superDsn());
  url.pathname = `/${database}`;
  if (user) {
    url.username = encodeURIComponent(user.name);
    url.password = encodeURIComponent(user.password);
  }
  return url.toString();
}

/** A unique name for a scratch database or role. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Runs statements as the superuser on the server's maintenance database. */
export async function asSuperuser(...statements: string[]): Promise<void> {
  const db = await connect(superDsn(), { applicationName: "piwheels tests" });
  try {
    for (const s of statements) await db.exec(s);
  } finally {
    await db.close();
  }
}

/** A scratch database and an ordinary login role, both dropped by `drop()`. */
export interface Scratch extends AsyncDisposable {
  /** The database's name. */
  readonly name: string;
  /** The ordinary role's name (its password is its name). */
  readonly user: string;
  /** The superuser's DSN into the scratch database. */
  readonly superDsn: string;
  /** The ordinary role's DSN into the scratch database. */
  readonly userDsn: string;
}

/** Creates an empty database and an ordinary login role; `await using` drops both. */
export async function scratchDatabase(): Promise<Scratch> {
  const name = uniqueName("piwtest");
  const user = `${name}_user`;
  await asSuperuser(
    `CREATE DATABASE ${quoteIdent(name)}`,
    `CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD '${user}'`,
  );
  return {
    name,
    user,
    superDsn: dsnFor(name),
    userDsn: dsnFor(name, { name: user, password: user }),
    async [Symbol.asyncDispose]() {
      await asSuperuser(
        `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`,
        `DROP ROLE IF EXISTS ${quoteIdent(user)}`,
      );
    },
  };
}

/**
 * Every object of the public schema with its definition, and every privilege granted on one to
 * anybody but its owner, one line each, sorted: two databases with equal fingerprints have the
 * same tables, columns (in order), constraints, indexes, views, functions, triggers and grants.
 * The master's role name, when given, reads as `<user>`, so that databases made for different
 * roles compare. NOT NULL shows as a column property (PostgreSQL 18 also lists it as a
 * constraint), and owners are left out (PGlite's superuser is not the server's).
 */
export async function fingerprint(db: Queryable, user?: string): Promise<string[]> {
  const rows = await db.query<{ line: string }>(`
    SELECT format('column %s.%s #%s %s %s %s %s %s', table_name, column_name, ordinal_position,
                  data_type, character_maximum_length, is_nullable, column_default,
                  identity_generation) AS line
    FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'
    UNION ALL
    SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT format('view %s %s', viewname, definition) FROM pg_views WHERE schemaname = 'public'
    UNION ALL
    SELECT format('function %s', pg_get_functiondef(oid))
    FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
    WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('relation %s %s', relname, relkind)
    FROM pg_class WHERE relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('grant %s on %s to %s', a.privilege_type, c.relname,
                  COALESCE(pg_get_userbyid(NULLIF(a.grantee, 0)), 'PUBLIC'))
    FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
    WHERE c.relnamespace = 'public'::regnamespace AND a.grantee <> c.relowner
    UNION ALL
    SELECT format('grant %s on %s to %s', a.privilege_type, p.oid::regprocedure,
                  COALESCE(pg_get_userbyid(NULLIF(a.grantee, 0)), 'PUBLIC'))
    FROM pg_proc AS p CROSS JOIN LATERAL aclexplode(p.proacl) AS a
    WHERE p.pronamespace = 'public'::regnamespace AND a.grantee <> p.proowner
    ORDER BY 1`);
  return rows.map((r) => (user ? r.line.replaceAll(user, "<user>") : r.line));
}

/** Every row of every table of the public schema, as sorted JSON text per table. */
export async function contents(db: Queryable): Promise<Record<string, string[]>> {
  const tables = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables) {
    const rows = await db.query<{ row: string }>(
      `SELECT to_jsonb(t)::text AS row FROM ${quoteIdent(name)} AS t ORDER BY 1`,
    );
    out[name] = rows.map((r) => r.row);
  }
  return out;
}

/** Runs one query on the database a DSN names (e.g. a scratch database as its superuser). */
export async function queryDb<T extends Row>(
  dsn: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const db = await connect(dsn, { applicationName: "piwheels tests" });
  try {
    return await db.query<T>(sql, params);
  } finally {
    await db.close();
  }
}

/** A lock on a table, held in a transaction of its own until released. */
export interface TableLock extends AsyncDisposable {
  /** Ends the transaction (the lock goes); resolves once it has. */
  release(): Promise<void>;
}

/**
 * Locks `table` (as `LOCK TABLE … IN <mode> MODE`) in a transaction of the superuser's, and
 * resolves once the lock is held: a slow database, or another session's change, as the master
 * meets them.
 */
export async function lockTable(dsn: string, table: string, mode: string): Promise<TableLock> {
  const db = await connect(dsn, { applicationName: "piwheels tests" });
  const ending = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  const holding = db.transaction(async (tx) => {
    await tx.exec(`LOCK TABLE ${table} IN ${mode} MODE`);
    locked.resolve();
    await ending.promise;
  });
  holding.catch((e) => locked.reject(e));
  await locked.promise;
  let released: Promise<void> | undefined;
  const release = () =>
    released ??= (async () => {
      ending.resolve();
      try {
        await holding;
      } finally {
        await db.close();
      }
    })();
  return { release, [Symbol.asyncDispose]: release };
}

/** Whether a session waits for a lock while running a query that includes `text`. */
export async function waitsForLock(dsn: string, text: string): Promise<boolean> {
  const [row] = await queryDb<{ n: number }>(
    dsn,
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
    [text],
  );
  return row!.n > 0;
}
