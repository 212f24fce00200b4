/**
 * piwheels for Deno: the library surface shared by every tool (the queue protocols, the CBOR
 * codec, durations and timestamps, the state classes and byte ranges, the database, and the
 * ZeroMQ sockets as `zmq`), for embedding and tests.
 *
 * ```ts
 * import { decodeMessage, encodeMessage, reverse, slaveDriver } from "./mod.ts";
 * const frame = encodeMessage(reverse(slaveDriver), "IDLE");
 * decodeMessage(slaveDriver, frame); // { msg: "IDLE" }
 * ```
 *
 * @module
 */

export * from "./shared/cbor.ts";
export * from "./shared/duration.ts";
export * from "./shared/timestamp.ts";
export * from "./shared/protocols.ts";
export * from "./shared/ranges.ts";
export * from "./shared/states.ts";
export { VERSION } from "./shared/version.ts";
export {
  connect,
  type ConnectOptions,
  type Database,
  DbError,
  type Engine,
  type Queryable,
  type Row,
} from "./shared/db/driver.ts";
export { SCHEMA_VERSION } from "./sql/scripts.ts";
export { type DbStatistics, MasterDb } from "./master/db.ts";
export type {
  AbiStatus,
  BuildData,
  FileData,
  ProjectData,
  VersionData,
} from "./master/project_data.ts";
export * as zmq from "./shared/zmq/mod.ts";
