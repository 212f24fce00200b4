/**
 * Creating and upgrading the piwheels schema (what piw-initdb does, and what the master does
 * to an embedded database on first use): check the users, detect the schema version, plan the
 * scripts that lead to {@linkcode SCHEMA_VERSION}, and apply them with the master's grants in
 * one transaction, so that on any failure the database is left exactly as it was.
 *
 * @module
 */

import { CREATE_SCRIPT, SCHEMA_VERSION, type Script, UPDATE_SCRIPTS } from "../../sql/scripts.ts";
import { VERSION } from "../version.ts";
import type { Logger } from "../log.ts";
import type { Database, Queryable } from "./driver.ts";
import { splitStatements } from "./statements.ts";

/** A failure piw-initdb reports as it is: the message says what is wrong and what to do. */
export class SchemaError extends Error {
  override name = "SchemaError";
}

/** What applying the scripts will do. */
export interface Plan {
  /** The database, as messages name it. */
  readonly database: string;
  /** The master's role, granted SELECT and EXECUTE. */
  readonly user: string;
  /** Whether the role must be created first (only ever in an embedded database). */
  readonly createUser: boolean;
  /** The schema version found; null for an empty database. */
  readonly from: string | null;
  /** The schema version it will be left at. */
  readonly to: string;
  /** The scripts to run, in order (none when the schema is current). */
  readonly scripts: readonly Script[];
}

/** Compares dotted version numbers numerically (`0.10.0` after `0.9.1`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The scripts that take a database from schema version `from` (null: empty) to `to`: the create
 * script, or the chain of update scripts. Refuses a version newer than `to` or one no update
 * starts from.
 */
export function planScripts(
  from: string | null,
  to: string = SCHEMA_VERSION,
  updates: readonly (Script & { from: string; to: string })[] = UPDATE_SCRIPTS,
  create: Script = CREATE_SCRIPT,
): Script[] {
  if (from === null) return [create];
  if (/^\d+\.\d+$/.test(from) && /^\d+\.\d+\.\d+$/.test(to)) {
    // the Python piwheels' schema versions have two parts (0.10 to 0.18), ours three: "newer"
    // misled
    throw new SchemaError(
      `the database's schema version ${from} is no version of this piwheels' schema (${to} ` +
        `here): it looks like the Python piwheels' own, which piw-initdb does not convert; ` +
        "give piw-initdb an empty database, and bring the wheels over with piw-import",
    );
  }
  if (compareVersions(from, to) > 0) {
    throw new SchemaError(
      `the database's schema version ${from} is newer than this software's (${to}, ` +
        `piwheels ${VERSION}): upgrade piwheels (downgrades are not supported)`,
    );
  }
  const chain: Script[] = [];
  for (let at = from; at !== to;) {
    const step = updates.find((u) => u.from === at);
    if (!step || compareVersions(step.to, to) > 0) {
      throw new SchemaError(
        `unknown schema version ${from}: piwheels ${VERSION} knows no upgrade from ${at}`,
      );
    }
    chain.push(step);
    at = step.to;
  }
  return chain;
}

/** A PostgreSQL identifier, quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The master's privileges: SELECT on every table and view, EXECUTE on every function, and
 * nothing else (anything granted before, to it or to PUBLIC, is revoked first, as is creating
 * objects in the schema).
 */
export function grantStatements(user: string): string[] {
  const who = quoteIdent(user);
  return [
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, ${who}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, ${who}`,
    `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, ${who}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${who}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${who}`,
  ];
}

/** The name messages give the database: its name on a server, its directory for PGlite. */
async function databaseName(db: Database): Promise<string> {
  if (db.engine === "pglite") return db.target;
  const [row] = await db.query<{ name: string }>("SELECT current_database() AS name");
  return row!.name;
}

/** Refuses unless the connection is a cluster superuser's (it must own what it creates). */
export async function checkSuperuser(db: Queryable): Promise<void> {
  const [me] = await db.query<{ name: string; super: boolean }>(
    "SELECT current_user AS name, rolsuper AS super FROM pg_roles WHERE rolname = current_user",
  );
  if (!me?.super) {
    throw new SchemaError(
      `connected as ${me?.name ?? "an unknown role"}, which is not a cluster superuser: ` +
        "connect as one (e.g. postgres) to create or upgrade the schema",
    );
  }
}

/**
 * Checks the master's role: it must exist (in an embedded database, where nobody else can make
 * it, it is created) and must not be a superuser. Resolves to whether it must be created.
 */
async function checkUser(db: Database, user: string): Promise<boolean> {
  const [role] = await db.query<{ super: boolean }>(
    "SELECT rolsuper AS super FROM pg_roles WHERE rolname = $1",
    [user],
  );
  if (!role) {
    if (db.engine === "pglite") return true;
    throw new SchemaError(
      `user ${user} does not exist: create it first (createuser ${user}), then run this again`,
    );
  }
  if (role.super) {
    throw new SchemaError(
      `user ${user} is a cluster superuser: the master must run as an ordinary user`,
    );
  }
  return false;
}

/**
 * Refuses a master role that can still create objects in schema public (it owns the database,
 * or was granted CREATE): it could then add an overload of a function or operator that the
 * SECURITY DEFINER functions would pick, and run its own code as their owner.
 */
async function checkCannotCreate(tx: Queryable, user: string): Promise<void> {
  const [can] = await tx.query<{ create: boolean }>(
    "SELECT has_schema_privilege($1, 'public', 'CREATE') AS create",
    [user],
  );
  if (can!.create) {
    throw new SchemaError(
      `user ${user} can create objects in schema public (does it own the database?), which ` +
        "would let it take over the schema's functions: make the database owned by postgres " +
        "(ALTER DATABASE … OWNER TO postgres) or revoke that privilege",
    );
  }
}

/**
 * The schema version of the database: null when it is empty, the configuration row's version
 * otherwise. Refuses a database that holds tables but no piwheels configuration.
 */
export async function detectVersion(db: Queryable): Promise<string | null> {
  const [found] = await db.query<{ config: boolean; tables: number }>(
    `SELECT to_regclass('public.configuration') IS NOT NULL AS config,
            (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables`,
  );
  if (!found!.config) {
    if (found!.tables === 0) return null;
    throw new SchemaError(
      "the database holds tables but no piwheels configuration table: it is not a piwheels " +
        "database, and piw-initdb will not touch it",
    );
  }
  const [row] = await db.query<{ version: string }>("SELECT version FROM configuration");
  if (!row) throw new SchemaError("the configuration table is empty: the database is damaged");
  return row.version;
}

/**
 * Checks the connection and the user and works out what to do; changes nothing. Raises
 * {@linkcode SchemaError} for each reason to refuse.
 */
export async function preparePlan(db: Database, user: string): Promise<Plan> {
  await checkSuperuser(db);
  const createUser = await checkUser(db, user);
  const from = await detectVersion(db);
  const scripts = planScripts(from);
  return { database: await databaseName(db), user, createUser, from, to: SCHEMA_VERSION, scripts };
}

/** One sentence saying what {@linkcode applyPlan} will do. */
export function describePlan(plan: Plan): string {
  const role = plan.createUser ? `a new role ${plan.user}` : `user ${plan.user}`;
  if (plan.from === null) {
    return `will create the piwheels schema version ${plan.to} in database ${plan.database} ` +
      `for ${role}`;
  }
  if (plan.scripts.length === 0) {
    return `the piwheels schema in database ${plan.database} is at version ${plan.to} already ` +
      `(piwheels ${VERSION}); will grant ${role} its permissions again`;
  }
  return `will upgrade the piwheels schema in database ${plan.database} from version ` +
    `${plan.from} to ${plan.to} (${plan.scripts.map((s) => s.name).join(", ")}) for ${role}`;
}

const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|ROLLBACK|ABORT|END|START|SAVEPOINT|RELEASE)\b/i;

/** Runs a script one statement at a time; a failure names the script, line and statement. */
export async function runScript(tx: Queryable, script: Script): Promise<void> {
  for (const statement of splitStatements(script.text)) {
    const where = `${script.name}, line ${statement.line}: ${statement.text.split("\n")[0]}`;
    if (TRANSACTION_CONTROL.test(statement.text)) {
      throw new SchemaError(`${where}: scripts must not control the transaction`);
    }
    try {
      await tx.exec(statement.text);
    } catch (e) {
      throw new SchemaError(`${where}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * Applies a plan in one transaction: the scripts, the role if it must be made, the grants, and
 * a last check that the schema is at the planned version. Any failure rolls all of it back.
 * With `progress`, each script is logged as it starts and with its time once done, so that a
 * long upgrade shows where it is (and a failed one where it stopped).
 */
export async function applyPlan(
  db: Database,
  plan: Plan,
  progress?: Pick<Logger, "info">,
): Promise<void> {
  await db.transaction(async (tx) => {
    if (plan.createUser) await tx.exec(`CREATE ROLE ${quoteIdent(plan.user)} NOLOGIN`);
    for (const [i, script] of plan.scripts.entries()) {
      progress?.info(`running ${script.name} (${i + 1} of ${plan.scripts.length})`);
      const start = performance.now();
      await runScript(tx, script);
      progress?.info(`${script.name} done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
    for (const grant of grantStatements(plan.user)) await tx.exec(grant);
    await checkCannotCreate(tx, plan.user);
    const version = await detectVersion(tx);
    if (version !== plan.to) {
      throw new SchemaError(`the scripts left schema version ${version}, not ${plan.to}`);
    }
  });
}
