/**
 * The Deno permissions of the Workers that do the tools' work, derived from their options at
 * start: each master task gets exactly the sockets, paths and hosts its job needs (the Scribe
 * writes the output path and reaches nothing else; the Oracle reaches the database; Cloud Gazer
 * reaches PyPI), and the build slave's Worker reaches the master's two queues, its build
 * directory and the programs it runs by absolute path. A fault in one cannot be turned against
 * the rest of the machine. inproc:// needs no permission at all.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { MasterOptions } from "../master/options.ts";
import { builderPermissions } from "../slave/permissions.ts";
import type { SandboxMode } from "../slave/sandbox.ts";

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

/** The socket path of a local PostgreSQL server when a DSN names no host. */
const PG_SOCKET = "/var/run/postgresql/.s.PGSQL";

/** The permissions a ZeroMQ endpoint needs, bound or connected. */
export function endpointPermissions(address: string): Partial<Permissions> {
  const tcp = /^tcp:\/\/(.+):(\d+)$/.exec(address);
  if (tcp) {
    const host = tcp[1] === "*" ? "0.0.0.0" : tcp[1]!.replace(/^\[(.*)\]$/, "$1");
    const hosts = tcp[1] === "*" ? ["0.0.0.0", "[::]"] : [host.includes(":") ? `[${host}]` : host];
    return { net: hosts.map((h) => (tcp[2] === "0" ? h : `${h}:${tcp[2]}`)) };
  }
  const ipc = /^ipc:\/\/(.+)$/.exec(address);
  if (ipc) return { net: [`unix:${ipc[1]}`], read: [ipc[1]!], write: [ipc[1]!] };
  return {};
}

/** The permissions a database DSN needs (the PostgreSQL server, or the PGlite directory). */
export function databasePermissions(dsn: string): Partial<Permissions> {
  if (dsn.startsWith("pglite://")) {
    const dir = dsn.slice("pglite://".length);
    // PGlite reads its WebAssembly beside its module: in node_modules from a checkout, beside
    // the bundle's root (where this module's chunk is too) in a built executable
    const wasm = import.meta.url.endsWith(".ts")
      ? fileURLToPath(new URL("../node_modules/@electric-sql/pglite", import.meta.url))
      : fileURLToPath(new URL(".", import.meta.url));
    return { read: [dir, wasm], write: [dir] };
  }
  const url = new URL(dsn);
  const env = ["PG*"];
  const sys: Permissions["sys"] = url.username ? false : ["uid", "gid", "userInfo"];
  if (!url.hostname || url.hostname.startsWith("%2F") || url.searchParams.has("host")) {
    const dirParam = url.searchParams.get("host") ??
      (url.hostname ? decodeURIComponent(url.hostname) : null);
    const socket = `${dirParam ?? dirname(PG_SOCKET)}/.s.PGSQL.${url.port || 5432}`;
    return { net: [`unix:${socket}`], read: [socket], write: [socket], env, sys };
  }
  return { net: [`${url.hostname}:${url.port || 5432}`], env, sys };
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
    cloud_gazer: merge(logFile, urlPermissions(options.pypiXmlrpc)),
    lumberjack: merge(logFile, endpointPermissions(options.logQueue)),
  };
}

/** What the build slave's Worker is given. */
export interface SlaveSettings {
  /** The master's slave queue. */
  slaveQueue: string;
  /** The master's file queue. */
  fileQueue: string;
  /** The interpreter builds run with (absolute path). */
  python: string;
  /** The build directory. */
  buildDir: string;
  /** The sandbox mode. */
  sandbox: SandboxMode;
  /** The log file, if any. */
  logFile?: string | undefined;
}

/**
 * The build slave Worker's permissions: the master's two queues (the package index is reached
 * by pip, inside the sandbox, not by Deno), and what the builder needs
 * (`slave/permissions.ts`: its build directory, the interpreter and the sandbox's tools by
 * absolute path, and reading the system directories the sandbox mirrors read-only).
 */
export function slavePermissions(s: SlaveSettings): Permissions {
  return merge(
    s.logFile ? { read: [s.logFile], write: [s.logFile] } : {},
    endpointPermissions(s.slaveQueue),
    endpointPermissions(s.fileQueue),
    builderPermissions({ interpreter: s.python, buildDir: s.buildDir, sandbox: s.sandbox }),
  );
}
