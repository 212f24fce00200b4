/**
 * The values the tools' options take, each checked as it is read (from the command line or a
 * configuration file): durations, database DSNs, ZeroMQ addresses, host names, URLs and paths.
 * Each is a commander argument parser: a bad value is a usage error (one line naming the option,
 * the value and what was expected; exit status 2) before the tool does anything.
 *
 * @module
 */

import { InvalidArgumentError } from "commander";
import type { z } from "zod";
import { parseDsn } from "./db/driver.ts";
import { Duration } from "./duration.ts";
import { parseEndpoint } from "./zmq/endpoint.ts";

/**
 * The longest duration a timer can wait: JavaScript timers hold a signed 32-bit count of
 * milliseconds, and a longer delay fires at once (a `-t 30d` would time every build out).
 */
export const MAX_TIMER: Duration = Duration.of({ days: 24 });

const DURATION_EXAMPLES = "e.g. 90s, 15m, 1h30m or 2d; a bare number is seconds";

function duration(text: string): Duration {
  try {
    return Duration.parse(text);
  } catch {
    throw new InvalidArgumentError(`expected a duration (${DURATION_EXAMPLES})`);
  }
}

/**
 * A duration above zero and at most {@linkcode MAX_TIMER}: a timeout, a pause, an alert's
 * delay.
 */
export function positiveDuration(text: string): Duration {
  const d = duration(text);
  if (d.micros <= 0) {
    throw new InvalidArgumentError(`expected a duration above 0 (${DURATION_EXAMPLES})`);
  }
  if (d.compare(MAX_TIMER) > 0) {
    throw new InvalidArgumentError(`expected a duration of at most ${MAX_TIMER}`);
  }
  return d;
}

/** A duration of zero or more: a length of time recorded, such as how long a build took. */
export function nonNegativeDuration(text: string): Duration {
  const d = duration(text);
  if (d.micros < 0) {
    throw new InvalidArgumentError(`expected a duration of 0 or more (${DURATION_EXAMPLES})`);
  }
  return d;
}

const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/;
const IPV6 = /^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*$/;

/** Whether `host` is a host name, an IPv4 address or an IPv6 address (without brackets). */
function isHost(host: string): boolean {
  return HOST_NAME.test(host) || IPV6.test(host);
}

/**
 * A host name or IP address (`-m HOST`); an IPv6 address comes back bracketed (`[::1]`), as it
 * goes in a `tcp://` address.
 */
export function hostValue(text: string): string {
  const host = text.replace(/^\[(.*)\]$/, "$1");
  if (!isHost(host)) throw new InvalidArgumentError("expected a host name or IP address");
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * How a ZeroMQ address is used: `bind` (the master listening: `tcp://*:5555`, port 0 for any),
 * `connect` (a tool reaching the master in another process: a definite host and port, never
 * `inproc://`), or `internal` (the master's tasks, which both bind and connect: any transport,
 * a definite host and port).
 */
export type EndpointRole = "bind" | "connect" | "internal";

const ENDPOINT_FORMS = "expected tcp://HOST:PORT, ipc://PATH or inproc://NAME";

/** A parser for a ZeroMQ address used as `role` says (see {@linkcode EndpointRole}). */
export function endpointValue(role: EndpointRole): (text: string) => string {
  const forms = role === "connect" ? "expected tcp://HOST:PORT or ipc://PATH" : ENDPOINT_FORMS;
  return (text: string) => {
    let endpoint;
    try {
      endpoint = parseEndpoint(text);
    } catch {
      throw new InvalidArgumentError(forms);
    }
    if (endpoint.transport === "inproc" && role === "connect") {
      throw new InvalidArgumentError(`${forms} (inproc:// reaches only within piw-master)`);
    }
    if (endpoint.transport !== "tcp") return text;
    if (endpoint.host === "*" ? role !== "bind" : !isHost(endpoint.host)) {
      throw new InvalidArgumentError(
        role === "bind"
          ? `${forms}, HOST a host name, an IP address or *`
          : `${forms}, HOST a host name or IP address`,
      );
    }
    if (endpoint.port === 0 && role !== "bind") {
      throw new InvalidArgumentError(`${forms}, PORT from 1 to 65535`);
    }
    return text;
  };
}

const DSN_FORMS = "expected postgres://[USER[:PASSWORD]@][HOST][:PORT]/DATABASE " +
  "(no HOST: the local socket; ?host=/DIR: a socket directory) or pglite:///DIRECTORY";

/** A database DSN (`postgres://…` or `pglite://…`), as `parseDsn` reads it. */
export function dsnValue(text: string): string {
  let dsn;
  try {
    dsn = parseDsn(text);
  } catch {
    throw new InvalidArgumentError(DSN_FORMS);
  }
  if (dsn.engine === "postgres" && "host" in dsn.server) {
    const { host, port } = dsn.server;
    if (!isHost(host)) {
      throw new InvalidArgumentError(`${host} is not a host name or IP address; ${DSN_FORMS}`);
    }
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new InvalidArgumentError(`the port must be from 1 to 65535; ${DSN_FORMS}`);
    }
  }
  return text;
}

function httpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError("expected an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError("expected an http:// or https:// URL");
  }
  return url;
}

/** An `http://` or `https://` URL (PyPI's services). */
export function urlValue(text: string): string {
  httpUrl(text);
  return text;
}

/**
 * The web site's public address, as install instructions show it before `/simple/`: an
 * `http://` or `https://` URL without a query or fragment, returned without its trailing `/`.
 * The empty string stands for none.
 */
export function baseUrlValue(text: string): string {
  if (text === "") return "";
  const url = httpUrl(text);
  if (url.search || url.hash || text.includes("#") || text.includes("?")) {
    throw new InvalidArgumentError("expected an http:// or https:// URL without ? or #");
  }
  return url.href.replace(/\/+$/, "");
}

/** An absolute path. */
export function absolutePath(text: string): string {
  if (!text.startsWith("/")) throw new InvalidArgumentError("expected an absolute path");
  return text;
}

/** A value that must not be empty (a name, a label). */
export function nonEmpty(text: string): string {
  if (text.trim() === "") throw new InvalidArgumentError("expected a value that is not empty");
  return text;
}

/** A whole number of MiB, 0 or more (`--min-free 1024`), as bytes. */
export function mebibytes(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text.trim())) {
    throw new InvalidArgumentError("expected a whole number of MiB (e.g. 1024)");
  }
  return Number(text.trim()) * 1024 * 1024;
}

/**
 * A value the master's protocol checks (a project name, a version, an ABI tag), checked as the
 * option is read: the master refused it only once the tool had done its work (hashed every
 * wheel), with its protocol's words, and the tool exited 1.
 */
export function protocolValue<T>(schema: z.ZodType<T>): (text: string) => T {
  return (text) => {
    const r = schema.safeParse(text);
    if (!r.success) throw new InvalidArgumentError(r.error.issues[0]?.message ?? "not valid");
    return r.data;
  };
}
