/**
 * The Deno permissions the builder needs, from the slave's settings: to be folded into the
 * slave's declared flags (`shared/flags.ts`) and the permissions of the Worker that builds.
 * Every program is named by its absolute path (a bare name resolves through PATH at start-up).
 *
 * @module
 */

import { endpointPermissions, merge, type Permissions } from "../shared/permissions.ts";
import { DPKG } from "./dependencies.ts";
import { BWRAP, CONFIG_DIR, KILL, type SandboxMode, SETSID, SYSTEM_PATHS } from "./sandbox.ts";
import { CHMOD, RM } from "./workspace.ts";

/** The slave's settings the builder's permissions depend on. */
export interface BuilderSettings {
  /** The interpreter builds use (absolute path). */
  interpreter: string;
  /** The slave's build directory. */
  buildDir: string;
  /** The sandbox mode asked for (`auto` may end up as either). */
  sandbox: SandboxMode;
  /** The bubblewrap binary, when not {@linkcode BWRAP}. */
  bwrap?: string;
}

/** Deno permission lists: programs to run, paths to read, paths to write. */
export interface BuilderPermissions {
  run: string[];
  read: string[];
  write: string[];
}

/**
 * What `probeInterpreter`, `Sandbox.create` and `build` need:
 * - run: the interpreter (probed for its tags), dpkg (`dpkg -S` names a library's package), rm
 *   and chmod (a workspace removed, of any depth, see `slave/workspace.ts`), bubblewrap, and
 *   setsid and kill (each command runs in a session of its own, killed by process group:
 *   `Deno.kill` of a group would need every program);
 * - read and write: the build directory (workspaces, wheels to hash and send);
 * - read, with bubblewrap: /etc (what not everyone may read there is masked) and the top-level
 *   system paths (shown as the links or directories they are).
 */
export function builderPermissions(settings: BuilderSettings): BuilderPermissions {
  const bwrap = settings.sandbox !== "none";
  return {
    run: [
      settings.interpreter,
      DPKG,
      RM,
      CHMOD,
      ...(bwrap ? [settings.bwrap ?? BWRAP] : []),
      SETSID,
      KILL,
    ],
    read: [settings.buildDir, ...(bwrap ? [CONFIG_DIR, ...SYSTEM_PATHS] : [])],
    write: [settings.buildDir],
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
