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
import type { MasterOptions } from "./options.ts";

/** The permissions of each task (by module name), from the master's options. */
export function taskPermissions(options: MasterOptions): Record<string, Permissions> {
  const logFile: Partial<Permissions> = options.logFile
    ? { read: [options.logFile], write: [options.logFile] }
    : {};
  const out = options.outputPath;
  return {
    seraph: merge(logFile),
    the_oracle: merge(logFile, databasePermissions(options.dsn!)),
    the_architect: merge(logFile),
    slave_driver: merge(logFile, endpointPermissions(options.slaveQueue)),
    file_juggler: merge(logFile, endpointPermissions(options.fileQueue), {
      read: [out],
      write: [out],
      sys: ["statfs"],
    }),
    mr_chase: merge(logFile, endpointPermissions(options.importQueue)),
    big_brother: merge(logFile),
    the_secretary: merge(logFile),
    the_scribe: merge(logFile, { read: [out], write: [out] }),
    cloud_gazer: merge(
      logFile,
      urlPermissions(options.pypiXmlrpc),
      options.releaseData === "json" ? urlPermissions(options.pypiJson) : {},
      options.releaseData === "simple" ? urlPermissions(options.pypiSimple) : {},
    ),
    lumberjack: merge(logFile, endpointPermissions(options.logQueue)),
  };
}
