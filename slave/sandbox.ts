/**
 * Running a build's commands, which run code from the internet (pip runs a package's
 * `setup.py`). Deno's `--allow-run` does not confine a child, so the build runs under
 * bubblewrap: the system read-only, a private home and `/tmp`, only the build's directory
 * writable, its own user, PID and IPC namespaces with no capabilities, the network shared or
 * cut, and the whole process tree killed at once on timeout. Without bubblewrap (`none`), a
 * build still runs in its own session whose process group is killed whole.
 *
 * @module
 */

import { resolve } from "node:path";
import type { Duration } from "../shared/duration.ts";
import type { Logger } from "../shared/log.ts";
import type { TailBuffer } from "./tail.ts";
import type { Workspace } from "./workspace.ts";

/** How builds are confined: `auto` uses bubblewrap where it works, else none (with a warning). */
export type SandboxMode = "auto" | "bwrap" | "none";

/** Debian's bubblewrap. */
export const BWRAP = "/usr/bin/bwrap";
/** util-linux's setsid: a build without bubblewrap runs in a session of its own. */
export const SETSID = "/usr/bin/setsid";
/**
 * procps' kill (in /bin on systems without merged /usr too): kills a session's process group,
 * which `Deno.kill` could do only with every program allowed to run.
 */
export const KILL = "/bin/kill";
/** The shell that sets the memory limit and joins stderr to stdout before running the build. */
const SHELL = "/bin/sh";

/**
 * The default limit of each build process's address space: 2 GiB. A runaway allocation then
 * fails (MemoryError, "virtual memory exhausted") in the process that makes it, instead of
 * waking the kernel's OOM killer, which may pick the slave. Address space, not resident memory,
 * is what `ulimit -v` can bound, and it overstates use (glibc reserves 64 MiB per thread arena),
 * so the limit sits well above need: pip with gcc builds a C extension here within 64 MiB, and
 * cc1plus on the heaviest C++ units needs 1–2 GiB. It stays below the memory of the 4 and 8 GB
 * Raspberry Pis that build, and applies per process (a parallel make gets it per job); a 32-bit
 * userland cannot exceed it anyway.
 */
export const DEFAULT_MEMORY_LIMIT = 2 * 1024 ** 3;

/**
 * The size of a build's /dev/shm (a tmpfs, in memory): 64 MiB, Docker's default, ample for the
 * semaphores and shared buffers of multiprocessing. /dev itself is read-only (its device nodes
 * still work), and /tmp is on disk in the workspace: a tmpfs without a size let a build fill the
 * slave's memory past its `ulimit -v`.
 */
export const SHM_SIZE = 64 * 1024 * 1024;

/** Top-level system paths shown read-only as they are (a directory, or a merged-/usr link). */
export const SYSTEM_PATHS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** System directories shown read-only in full, but for what not everyone may read in /etc. */
const SYSTEM_DIRS = ["/usr", "/etc"];
/** Where the secrets of a system live, hidden from the build unless everyone may read them. */
export const CONFIG_DIR = "/etc";
/** The user and group a build runs as inside its user namespace: nobody. */
const SANDBOX_ID = "65534";
/** The environment's PATH. */
const PATH = "/usr/local/bin:/usr/bin:/bin";
/** How long the output pipes may stay open once the build's processes are gone. */
const DRAIN_GRACE_MS = 2_000;
/** The longest delay a timer takes (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Raised when the sandbox asked for cannot be made. */
export class SandboxError extends Error {
  override name = "SandboxError";
}

/** How to confine builds. */
export interface SandboxSettings {
  /** Which sandbox to use. */
  mode: SandboxMode;
  /** The bubblewrap binary (default {@linkcode BWRAP}). */
  bwrap?: string;
  /** Each build process's address-space limit in bytes; null for none. */
  memoryLimit?: number | null;
  /** Where to warn that builds run unconfined. */
  logger: Logger;
}

/** One command to run in the sandbox. */
export interface RunOptions {
  /** The program (an absolute path) and its arguments. */
  command: readonly string[];
  /** The build's workspace: its `build/` directory is the only one writable. */
  workspace: Workspace;
  /** Whether the command may reach the network (bubblewrap only can cut it). */
  network: boolean;
  /** More paths to show read-only (an interpreter's prefix outside the system directories). */
  readOnly?: readonly string[];
  /** More environment variables, over the minimal set. */
  env?: Readonly<Record<string, string>>;
  /** When to kill it. */
  timeout: Duration;
  /** Kills it when aborted. */
  signal?: AbortSignal;
  /** Receives its stdout and stderr, interleaved as written. */
  output: TailBuffer;
}

/** How a command ended: by itself, or killed at its timeout or on abort. */
export type Ending = "exited" | "timed out" | "aborted";

/** A command's end. */
export interface Finished {
  /** Why it ended. */
  ended: Ending;
  /** Its exit code (128 + the signal's number when a signal ended it). */
  code: number;
}

/** A resolved sandbox: the mode in force and its limits. */
export class Sandbox {
  private constructor(
    /** The sandbox in force (`auto` resolved). */
    readonly mode: "bwrap" | "none",
    /** The bubblewrap binary. */
    readonly bwrap: string,
    /** Each process's address-space limit in bytes, or null. */
    readonly memoryLimit: number | null,
    /**
     * Whether bubblewrap is 0.8 or later: a build is kept from making user namespaces
     * (`--disable-userns`), and its /dev/shm is {@linkcode SHM_SIZE} (`--size`, 0.7).
     */
    readonly noUserNamespaces = false,
  ) {}

  /**
   * Resolves the settings: `bwrap` and `auto` try bubblewrap once; `bwrap` throws
   * {@linkcode SandboxError} when it does not work, `auto` falls back to none with a warning.
   */
  static async create(settings: SandboxSettings): Promise<Sandbox> {
    const bwrap = settings.bwrap ?? BWRAP;
    const limit = settings.memoryLimit === undefined ? DEFAULT_MEMORY_LIMIT : settings.memoryLimit;
    if (limit !== null && (!Number.isSafeInteger(limit) || limit < 1024 * 1024)) {
      throw new SandboxError(`a memory limit is a whole number of bytes, at least 1 MiB: ${limit}`);
    }
    if (settings.mode === "none") return new Sandbox("none", bwrap, limit);
    if (await bwrapProblem(bwrap, true) === null) return new Sandbox("bwrap", bwrap, limit, true);
    const problem = await bwrapProblem(bwrap, false);
    if (problem === null) {
      settings.logger.warning(
        `bubblewrap (${bwrap}) cannot keep builds from making user namespaces of their own ` +
          "(--disable-userns, bubblewrap 0.8 or later), where they have every capability, " +
          "nor bound the memory of their /dev/shm (--size)",
      );
      return new Sandbox("bwrap", bwrap, limit);
    }
    if (settings.mode === "bwrap") {
      throw new SandboxError(`bubblewrap (${bwrap}) cannot make a sandbox here: ${problem}`);
    }
    settings.logger.warning(
      `builds run WITHOUT a sandbox (as this user, with its files and network): bubblewrap ` +
        `(${bwrap}) cannot make one here: ${problem}`,
    );
    return new Sandbox("none", bwrap, limit);
  }

  /** Whether a command's network can be cut (bubblewrap only). */
  get canCutNetwork(): boolean {
    return this.mode === "bwrap";
  }

  /**
   * Runs a command to its end, its timeout or the abort of its signal, whichever comes first;
   * at the timeout or abort its whole process tree is killed at once (SIGKILL). Processes it
   * leaves behind are killed when it exits. Its output goes to `options.output`.
   */
  async run(options: RunOptions): Promise<Finished> {
    if (!options.network && !this.canCutNetwork) {
      throw new SandboxError("only the bubblewrap sandbox can cut a build's network");
    }
    if (options.signal?.aborted) return { ended: "aborted", code: 128 + 9 };
    const inner = [SHELL, "-c", this.#script(), "sh", ...options.command];
    // a session of its own either way, killed by process group: bubblewrap's --die-with-parent
    // misses a kill that comes before its child has asked for it (the build then lived on)
    const args = this.mode === "bwrap"
      ? [this.bwrap, ...await bwrapArgs(options, this.noUserNamespaces), "--", ...inner]
      : inner;
    const ws = options.workspace;
    const child = new Deno.Command(SETSID, {
      args,
      cwd: ws.dir,
      clearEnv: true,
      env: {
        PATH,
        HOME: ws.home,
        TMPDIR: ws.tmp,
        LANG: "C.UTF-8",
        GIT_ALLOW_PROTOCOL: "none", // no protocol is called that: git fetches nothing
        ...options.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const readers = [child.stdout.getReader(), child.stderr.getReader()];
    const reading = Promise.all(readers.map((r) => pump(r, options.output)));

    let ended: Ending = "exited";
    let killing = Promise.resolve();
    const stop = (why: Ending) => {
      if (ended !== "exited") return;
      ended = why;
      killing = this.#kill(child);
    };
    const onAbort = () => stop("aborted");
    const timer = setTimeout(
      () => stop("timed out"),
      Math.min(Math.max(options.timeout.totalMillis(), 0), MAX_TIMER_MS),
    );
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
    await killing;
    // bubblewrap's PID namespace died with its first process; a session may have stragglers
    if (this.mode === "none") await killGroup(child.pid);
    await drain(readers, reading, options.output);
    return { ended, code: status.code };
  }

  /** The shell script that limits memory, joins stderr to stdout and runs `"$@"`. */
  #script(): string {
    const limit = this.memoryLimit === null
      ? ""
      : `ulimit -v ${Math.floor(this.memoryLimit / 1024)} && `;
    return `${limit}exec "$@" 2>&1`;
  }

  /**
   * Kills the whole process tree of a running command: the command itself first (before
   * `setsid` has made its session there is no group, and it must not go on to make one), then
   * its process group, where bubblewrap's PID namespace's first process is too (every other
   * process in the namespace dies with it).
   */
  async #kill(child: Deno.ChildProcess): Promise<void> {
    try {
      child.kill("SIGKILL");
    } catch {
      // it has just exited
    }
    await killGroup(child.pid);
  }
}

/** Why bubblewrap cannot make a sandbox here (tried with every namespace), or null. */
async function bwrapProblem(bwrap: string, noUserNamespaces: boolean): Promise<string | null> {
  try {
    const out = await new Deno.Command(bwrap, {
      args: [
        ...namespaceArgs(false, noUserNamespaces),
        ...await systemArgs(null, noUserNamespaces),
        ...["--", SHELL, "-c", ":"],
      ],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    return `it exited with ${out.code}: ${new TextDecoder().decode(out.stderr).trim()}`;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "no such program" : (e as Error).message;
  }
}

/** bubblewrap's arguments for a command (all but the command itself). */
async function bwrapArgs(options: RunOptions, noUserNamespaces: boolean): Promise<string[]> {
  const ws = options.workspace;
  const system = [...SYSTEM_DIRS, ...SYSTEM_PATHS];
  const extra = (options.readOnly ?? []).filter((p) =>
    !system.some((s) => p === s || p.startsWith(`${s}/`))
  );
  return [
    ...namespaceArgs(options.network, noUserNamespaces),
    ...await systemArgs(ws, noUserNamespaces),
    ...extra.flatMap((p) => ["--ro-bind", p, p]),
    ...["--bind", ws.dir, ws.dir],
    ...["--chdir", ws.dir],
  ];
}

/**
 * The namespaces: its own user (nobody, with no capabilities even when the slave is root, and,
 * where bubblewrap can, no user namespace of its own to make: in one, a build was root with
 * every capability over the kernel's network and mount interfaces), PID (its first process's
 * death kills every other) and IPC namespaces, the network's unless shared; it dies with the
 * slave. No `--new-session`: `run` starts bubblewrap in a session of its own already (setsid:
 * no controlling terminal, so none to push input into), and bubblewrap's own would put the
 * namespace's first process out of the process group the kill reaches (where its
 * `--die-with-parent` came too late, the build lived on).
 */
function namespaceArgs(network: boolean, noUserNamespaces: boolean): string[] {
  return [
    ...["--unshare-user", ...(noUserNamespaces ? ["--disable-userns"] : [])],
    ...["--uid", SANDBOX_ID, "--gid", SANDBOX_ID],
    ...["--unshare-pid", "--unshare-ipc", ...(network ? [] : ["--unshare-net"])],
    ...["--die-with-parent", "--cap-drop", "ALL"],
  ];
}

/** What {@linkcode unreadable} found in /etc, per build's workspace. */
const MASKS = new WeakMap<Workspace, Promise<{ files: string[]; dirs: string[] }>>();

/**
 * The file system: the system read-only (with what not everyone may read in /etc masked when
 * a workspace holds the masks), the resolver's file where /etc/resolv.conf points outside, a
 * new /proc for the PID namespace, a minimal /dev read-only with a /dev/shm of
 * {@linkcode SHM_SIZE} where bubblewrap can size it (`sized`), and the workspace's own /tmp
 * (without one, as bubblewrap is tried, an empty tmpfs).
 */
async function systemArgs(ws: Workspace | null, sized: boolean): Promise<string[]> {
  const args = SYSTEM_DIRS.flatMap((d) => ["--ro-bind", d, d]);
  for (const path of SYSTEM_PATHS) {
    const info = await Deno.lstat(path).catch(() => null);
    if (info?.isSymlink) args.push("--symlink", await Deno.readLink(path), path);
    else if (info?.isDirectory) args.push("--ro-bind", path, path);
  }
  const resolver = await resolverOutside();
  if (resolver) args.push("--ro-bind", resolver, resolver);
  if (ws) {
    // found once per build (its pip run and each wheel's ldd share it): a walk of /etc is
    // a thousand lstat calls
    let secrets = MASKS.get(ws);
    if (!secrets) MASKS.set(ws, secrets = unreadable(CONFIG_DIR));
    const { files, dirs } = await secrets;
    for (const file of files) args.push("--ro-bind", ws.maskedFile, file);
    for (const dir of dirs) args.push("--ro-bind", ws.maskedDir, dir);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev");
  if (sized) args.push("--size", String(SHM_SIZE));
  args.push("--tmpfs", "/dev/shm");
  args.push(...ws ? ["--bind", ws.sandboxTmp, "/tmp"] : ["--tmpfs", "/tmp"]);
  return args;
}

/** Where /etc/resolv.conf points when that is outside the system directories (systemd's). */
async function resolverOutside(): Promise<string | null> {
  const link = await Deno.readLink(`${CONFIG_DIR}/resolv.conf`).catch(() => null);
  if (link === null) return null;
  const target = resolve(CONFIG_DIR, link);
  return SYSTEM_DIRS.some((d) => target.startsWith(`${d}/`)) ? null : target;
}

/**
 * What under `dir` not everyone may read: files without the others' read bit, directories
 * without the others' read and search bits (not descended into). Symbolic links are left: what
 * they point to is either under a system directory (and checked there) or not shown at all.
 */
async function unreadable(
  dir: string,
  found: { files: string[]; dirs: string[] } = { files: [], dirs: [] },
): Promise<{ files: string[]; dirs: string[] }> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isSymlink) continue;
    const path = `${dir}/${entry.name}`;
    const mode = (await Deno.lstat(path).catch(() => null))?.mode;
    if (mode === undefined || mode === null) continue;
    if (entry.isDirectory) {
      if ((mode & 0o005) !== 0o005) found.dirs.push(path);
      else await unreadable(path, found);
    } else if ((mode & 0o004) === 0) {
      found.files.push(path);
    }
  }
  return found;
}

/** Kills a process group (`kill -KILL -PGID`); a group already gone is no error. */
async function killGroup(pgid: number): Promise<void> {
  await new Deno.Command(KILL, {
    args: ["-s", "KILL", "--", `-${pgid}`],
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
}

/** Copies a stream into the output until it ends or is cancelled. */
async function pump(reader: ReadableStreamDefaultReader<Uint8Array>, out: TailBuffer) {
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.append(r.value);
}

/**
 * Waits for the output to end. A process that escaped the process group (possible without
 * bubblewrap) may hold the pipes open for ever: after a grace period they are closed on it.
 */
async function drain(
  readers: ReadableStreamDefaultReader<Uint8Array>[],
  reading: Promise<unknown>,
  out: TailBuffer,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = await Promise.race([
    reading.then(() => false),
    new Promise<boolean>((r) => timer = setTimeout(() => r(true), DRAIN_GRACE_MS)),
  ]);
  clearTimeout(timer);
  if (!late) return;
  await Promise.all(readers.map((r) => r.cancel()));
  await reading;
  out.append("\n[a process that left the build's process group kept its output open]\n");
}
