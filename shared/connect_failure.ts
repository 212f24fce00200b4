/**
 * What a tool says when the database a DSN names cannot be opened: one line naming the server
 * (the socket path or host and port that `parseDsn` says the DSN reaches), the DSN without its
 * password, and the reason in words an operator can act on.
 *
 * @module
 */

import { DbError, parseDsn } from "./db/driver.ts";
import { errorMessage } from "./log.ts";

/** The reasons a connection fails at the socket, by the system's code, in plain words. */
const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused (is PostgreSQL running, and listening there?)",
  ENOENT: "no such socket (is PostgreSQL running, and is this its socket directory?)",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name cannot be looked up now",
  EHOSTUNREACH: "the host cannot be reached",
  ENETUNREACH: "the network cannot be reached",
  ETIMEDOUT: "no answer (timed out)",
  CONNECT_TIMEOUT: "no answer (timed out)",
  EACCES: "permission denied",
};

/**
 * One line saying why the database `dsn` names could not be opened (`e`, as `connect` threw
 * it): `cannot connect to the database server at 127.0.0.1:5432 (postgres://…): connection
 * refused (…)`.
 */
export function describeConnectFailure(dsn: string, e: unknown): string {
  const where = parseDsn(dsn);
  // the embedded database's own messages say what and where ("cannot open pglite://…: …")
  if (where.engine === "pglite") return errorMessage(e);
  const cause = e instanceof DbError && e.cause !== undefined ? e.cause : e;
  const code = (cause as { code?: unknown } | null)?.code;
  const reason = (typeof code === "string" ? REASONS[code] : undefined) ?? errorMessage(cause);
  const server = "socket" in where.server
    ? where.server.socket
    : `${
      where.server.host.includes(":") ? `[${where.server.host}]` : where.server.host
    }:${where.server.port}`;
  return `cannot connect to the database server at ${server} (${where.target}): ${reason}`;
}
