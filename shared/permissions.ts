/**
 * The Deno permissions of the Workers that do the tools' work, derived from their options at
 * start (`master/permissions.ts` for each task, `slave/permissions.ts` for the build slave): the
 * pieces they are made of (a queue's endpoint, a database, a URL's host) and how they merge.
 * A fault in one Worker cannot be turned against the rest of the machine. inproc:// needs no
 * permission at all.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseDsn } from "./db/driver.ts";
import { parseEndpoint } from "./zmq/endpoint.ts";

/** A Worker's permissions, every kind stated. */
export type Permissions = {
  env: string[] | false;
  ffi: false;
  import: false;
  net: string[] | false;
  read: string[] | false;
  run: string[] | false;
  sys: string[] | false;
  write: string[] | false;
};

const NONE: Permissions = {
  env: false,
  ffi: false,
  import: false,
  net: false,
  read: false,
  run: false,
  sys: false,
  write: false,
};

/** The permissions a ZeroMQ endpoint needs, bound or connected. */
export function endpointPermissions(address: string): Partial<Permissions> {
  const e = parseEndpoint(address);
  if (e.transport === "tcp") {
    const hosts = e.host === "*"
      ? ["0.0.0.0", "[::]"]
      : [e.host.includes(":") ? `[${e.host}]` : e.host];
    return { net: hosts.map((h) => (e.port === 0 ? h : `${h}:${e.port}`)) };
  }
  if (e.transport === "ipc") return { net: [`unix:${e.path}`], read: [e.path], write: [e.path] };
  return {};
}

/** The permissions a database DSN needs (the PostgreSQL server, or the PGlite directory). */
export function databasePermissions(dsn: string): Partial<Permissions> {
  const where = parseDsn(dsn);
  if (where.engine === "pglite") {
    // PGlite reads its WebAssembly beside its module: in node_modules from a checkout, beside
    // the bundle's root (where this module's chunk is too) in a built executable
    const wasm = import.meta.url.endsWith(".ts")
      ? fileURLToPath(new URL("../node_modules/@electric-sql/pglite", import.meta.url))
      : fileURLToPath(new URL(".", import.meta.url));
    return { read: [where.path, wasm], write: [where.path] };
  }
  const env = ["PG*"];
  // with no user named, the driver asks the system who this is
  const sys: Permissions["sys"] = /^postgres(ql)?:\/\/[^@/?]*@/.test(dsn)
    ? false
    : ["uid", "gid", "userInfo"];
  const { server } = where;
  if ("socket" in server) {
    return {
      net: [`unix:${server.socket}`],
      read: [server.socket],
      write: [server.socket],
      env,
      sys,
    };
  }
  const host = server.host.includes(":") ? `[${server.host}]` : server.host;
  return { net: [`${host}:${server.port}`], env, sys };
}

/** The permission to fetch from a URL's host. */
export function urlPermissions(url: string): Partial<Permissions> {
  const u = new URL(url);
  return { net: [u.port ? `${u.hostname}:${u.port}` : u.hostname] };
}

/** Merges permission sets (lists are joined; `false` is the empty list). */
export function merge(...sets: Partial<Permissions>[]): Permissions {
  const out: Permissions = { ...NONE };
  for (const set of sets) {
    for (const [kind, value] of Object.entries(set) as [keyof Permissions, string[] | false][]) {
      if (!value) continue;
      const current = out[kind];
      (out as Record<string, unknown>)[kind] = [...new Set([...(current || []), ...value])];
    }
  }
  return out;
}

/**
 * Whether this Worker really has narrowed permissions, not its parent's: reading or writing
 * `/`, any host, any program or the environment granted means it does not. The Workers that
 * handle what others wrote (the slave's builds, piw-logger's lines) refuse to run unconfined.
 */
export function isConfined(): boolean {
  const all: Deno.PermissionDescriptor[] = [
    { name: "read", path: "/" },
    { name: "write", path: "/" },
    { name: "net" },
    { name: "run" },
    { name: "env" },
  ];
  return all.every((d) => Deno.permissions.querySync(d).state !== "granted");
}
