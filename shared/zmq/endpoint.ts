/**
 * Endpoint addresses: `tcp://host:port` (IPv4, `[IPv6]`, a host name, or `*` to bind every
 * interface; port 0 or `*` for an ephemeral port), `ipc://path` (a unix socket) and
 * `inproc://name` (within the process, across Workers).
 *
 * @module
 */

import { ZmqError } from "./errors.ts";

/** A parsed endpoint. */
export type Endpoint =
  | { transport: "tcp"; host: string; port: number }
  | { transport: "ipc"; path: string }
  | { transport: "inproc"; name: string };

/** Parses an endpoint address. */
export function parseEndpoint(address: string): Endpoint {
  const match = /^([a-z]+):\/\/(.+)$/.exec(address);
  if (!match) throw new ZmqError("EINVAL", `invalid endpoint ${JSON.stringify(address)}`);
  const [, transport, rest] = match as unknown as [string, string, string];
  switch (transport) {
    case "tcp":
      return parseTcp(address, rest);
    case "ipc":
      return { transport, path: rest };
    case "inproc":
      return { transport, name: rest };
    default:
      throw new ZmqError("EPROTONOSUPPORT", `unsupported transport in ${address}`);
  }
}

function parseTcp(address: string, rest: string): Endpoint {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(\d+|\*)$/.exec(rest);
  const port = match?.[2] === "*" ? 0 : Number(match?.[2]);
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new ZmqError("EINVAL", `invalid tcp endpoint ${JSON.stringify(address)}`);
  }
  return { transport: "tcp", host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

/** Formats a tcp address as an endpoint, bracketing IPv6 addresses. */
export function tcpAddress(host: string, port: number): string {
  return host.includes(":") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}
