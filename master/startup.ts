/**
 * What piw-master checks in its main thread before it starts a task, so that a setting that
 * cannot work is one line and exit status 2 at once, not a task failing and the rest being
 * stopped: the output path can be written, an embedded database's directory can be made, and
 * a PostgreSQL server answers the DSN's login, CURVE's key and allow-list (if given) can be
 * read, the metrics file (if given) can be written. (Whether that login is a superuser and the
 * schema's version are the Oracle's to check, as it opens its own connection.)
 *
 * @module
 */

import { dirname } from "node:path";
import { describeConnectFailure } from "../shared/connect_failure.ts";
import { readAllowList, readCertificate } from "../shared/curve_keys.ts";
import { connect, parseDsn } from "../shared/db/driver.ts";
import { errorMessage } from "../shared/log.ts";

/** A setting the master cannot start with; the message says which and why, in one line. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Makes `dir` (and its parents) and checks that a file can be written in it. */
async function writableDirectory(dir: string, what: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = await Deno.makeTempFile({ dir, prefix: ".piw-master-" });
    await Deno.remove(probe);
  } catch (e) {
    throw new StartupError(`cannot write ${what} ${dir}: ${errorMessage(e)}`);
  }
}

/**
 * Checks the master's output path and database (see the module's description); throws a
 * {@linkcode StartupError} for the first that cannot work.
 */
export async function checkStartup(
  options: {
    outputPath: string;
    dsn: string;
    curveKey?: string;
    curveClients?: string;
    metricsFile?: string;
  },
): Promise<void> {
  await checkCurve(options);
  await writableDirectory(options.outputPath, "the output path");
  if (options.metricsFile) {
    await writableDirectory(dirname(options.metricsFile), "the metrics file's directory");
  }
  const where = parseDsn(options.dsn);
  if (where.engine === "pglite") {
    await writableDirectory(where.path, "the embedded database's directory");
    return;
  }
  try {
    const db = await connect(options.dsn, { applicationName: "piw-master" });
    await db.close();
  } catch (e) {
    throw new StartupError(describeConnectFailure(options.dsn, e));
  }
}

/** Checks that CURVE is set up whole: the master's secret certificate and a readable allow-list. */
async function checkCurve(options: { curveKey?: string; curveClients?: string }): Promise<void> {
  const { curveKey, curveClients } = options;
  if (curveKey === undefined && curveClients === undefined) return;
  if (curveKey === undefined || curveClients === undefined) {
    throw new StartupError(
      `--curve-key and --curve-clients go together: ${
        curveKey === undefined ? "--curve-clients" : "--curve-key"
      } alone would leave the queues ${
        curveKey === undefined ? "open to anyone" : "without a list of whom to let in"
      }`,
    );
  }
  try {
    await readCertificate(curveKey, { secret: true });
    await readAllowList(curveClients);
  } catch (e) {
    throw new StartupError(`CURVE: ${errorMessage(e)}`);
  }
}
