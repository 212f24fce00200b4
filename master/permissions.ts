/**
 * The permissions of each of the master's tasks, from its options: each gets exactly the
 * sockets, paths and hosts its job needs (the Scribe writes the output path and reaches nothing
 * else; the Oracle reaches the database; Cloud Gazer reaches PyPI).
 *
 * @module
 */

import {
  databasePermissions,
  endpointPermissions,
  merge,
  type Permissions,
  urlPermissions,
} from "../shared/permissions.ts";
import { dirname } from "node:path";
import type { MasterOptions } from "./options.ts";

/**
 * The permissions of each task (by module name), from the master's options; and of the File
 * Juggler's writing thread (`file_writer`).
 */
export function taskPermissions(options: MasterOptions): Record<string, Permissions> {
  // every task sends its metrics to Big Brother on the stats queue
  const logFile: Partial<Permissions> = merge(
    options.logFile ? { read: [options.logFile], write: [options.logFile] } : {},
    endpointPermissions(options.statsQueue),
  );
  const out = options.outputPath;
  // the queues the slaves speak to read CURVE's key and allow-list (again as keys are added)
  const curve: Partial<Permissions> = options.curveKey && options.curveClients
    ? { read: [options.curveKey, options.curveClients] }
    : {};
  // the internal queues (inproc:// unless moved to ipc:// or tcp://), as each task uses them
  const db = endpointPermissions(options.dbQueue);
  const fs = endpointPermissions(options.fsQueue);
  const web = endpointPermissions(options.webQueue);
  const builds = endpointPermissions(options.buildsQueue);
  return {
    seraph: merge(logFile, db),
    the_oracle: merge(logFile, databasePermissions(options.dsn!)),
    the_architect: merge(logFile, db, builds),
    slave_driver: merge(
      logFile,
      curve,
      endpointPermissions(options.slaveQueue),
      db,
      fs,
      web,
      builds,
    ),
    // db: at start, which copy of a file a killed master's COMMIT replaced the database lists
    file_juggler: merge(logFile, curve, endpointPermissions(options.fileQueue), fs, db, {
      read: [out],
      write: [out],
      sys: ["statfs"],
    }),
    // the temporary files of large wheels, in simple/ (master/file_writer.ts)
    file_writer: merge({ read: [`${out}/simple`], write: [`${out}/simple`] }),
    mr_chase: merge(logFile, endpointPermissions(options.importQueue), db, fs, web),
    big_brother: merge(
      logFile,
      db,
      fs,
      web,
      // the metrics file, written by a rename from a temporary file beside it
      options.metricsFile
        ? { read: [dirname(options.metricsFile)], write: [dirname(options.metricsFile)] }
        : {},
    ),
    the_secretary: merge(logFile, db, web),
    the_scribe: merge(logFile, db, { read: [out], write: [out] }),
    cloud_gazer: merge(
      logFile,
      db,
      fs,
      web,
      urlPermissions(options.pypiXmlrpc),
      options.releaseData === "json" ? urlPermissions(options.pypiJson) : {},
      options.releaseData === "simple" ? urlPermissions(options.pypiSimple) : {},
    ),
    lumberjack: merge(logFile, endpointPermissions(options.logQueue), db),
  };
}
