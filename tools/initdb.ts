/**
 * piw-initdb: creates the piwheels database schema in an empty database, or upgrades an older
 * one to this software's schema version (manual chapter 6). It connects as a cluster
 * superuser, grants the master's ordinary user SELECT and EXECUTE only, says what it will do
 * and asks first (unless `-y`), and does everything in one transaction: if anything fails,
 * the database is left as it was and the error names what failed.
 *
 * Run with the flags `TOOLS["piw-initdb"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { type CommonOptions, parseCommand, toolCommand } from "../shared/config.ts";
import { describeConnectFailure } from "../shared/connect_failure.ts";
import { dsnValue, nonEmpty } from "../shared/option_values.ts";
import { connect, type Database, DbError, parseDsn } from "../shared/db/driver.ts";
import { applyPlan, describePlan, preparePlan, SchemaError } from "../shared/db/schema.ts";
import { errorMessage, Logger } from "../shared/log.ts";
import { mayProceed } from "../shared/prompt.ts";

/** piw-initdb's options. */
interface Options extends CommonOptions {
  dsn: string;
  user: string;
  yes?: boolean;
}

const log = new Logger("piw-initdb");

function command() {
  return toolCommand(
    "piw-initdb",
    "Initialize the piwheels master database, or upgrade it to the current version.",
  )
    .option(
      "-d, --dsn <DSN>",
      "the database to create or upgrade; this DSN must connect as the cluster superuser " +
        "(pglite:///DIR for an embedded database)",
      dsnValue,
      "postgres:///piwheels",
    )
    .option(
      "-u, --user <NAME>",
      "the name of the ordinary piwheels database user; this must not be a cluster superuser",
      nonEmpty,
      "piwheels",
    )
    .option("-y, --yes", "proceed without prompting before init/upgrades");
}

/** Connects, turning a missing database into advice on making it. */
async function open(dsn: string): Promise<Database> {
  try {
    return await connect(dsn, { applicationName: "piw-initdb" });
  } catch (e) {
    if (e instanceof DbError && e.code === "3D000") {
      const where = parseDsn(dsn);
      const name = where.engine === "postgres"
        ? decodeURIComponent(new URL(where.url).pathname.slice(1))
        : where.path;
      throw new SchemaError(
        `database ${name} does not exist: piw-initdb does not create databases; create it ` +
          `first (as postgres: createdb -O postgres ${name}), then run this again`,
      );
    }
    throw e;
  }
}

/** Runs piw-initdb; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const opts = parseCommand<Options>(command(), args);
  let db: Database;
  try {
    db = await open(opts.dsn);
  } catch (e) {
    if (e instanceof SchemaError) {
      log.error(errorMessage(e));
      return 1;
    }
    // the server cannot be reached, or refuses the login: what the DSN says is wrong
    log.error(describeConnectFailure(opts.dsn, e));
    return 2;
  }
  try {
    const plan = await preparePlan(db, opts.user);
    if (!await mayProceed("piw-initdb", describePlan(plan), opts.yes, log)) return 1;
    try {
      await applyPlan(db, plan, log);
    } catch (e) {
      log.error(`${errorMessage(e)}; nothing was changed (the transaction was rolled back)`);
      return 1;
    }
    log.info(`done: the piwheels schema in database ${plan.database} is at version ${plan.to}`);
    return 0;
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  } finally {
    await db.close();
  }
}

if (import.meta.main) Deno.exit(await main());
