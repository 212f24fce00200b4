/**
 * The directory of one build, made fresh under the slave's build directory and removed after
 * the build's files are sent. Only its `build/` part is visible (and writable) to the build;
 * beside it lies what the sandbox itself needs and the build must not be able to touch.
 *
 * ```
 * <buildDir>/build-XXXX/
 *   masked-file     an empty file no one may read  } bound over what /etc holds that not
 *   masked-dir/     an empty directory no one may enter } everyone may read
 *   tmp/            the build's /tmp under bubblewrap: on disk, not in memory, and out of the
 *                   build's directory, where its code could swap it for a link to anywhere
 *   build/          the only directory the build may write
 *     home/         its private HOME
 *     tmp/          its TMPDIR (on disk: a compiler's temporary files can be large)
 *     wheels/       where pip writes the wheel
 *     index/        the project page, fetched first when the build has no network
 *     sdist/        the sdist, fetched then, its SHA-256 checked, for pip to build from
 * ```
 *
 * @module
 */

import { TailBuffer } from "./tail.ts";

/**
 * GNU rm (in /bin on systems without merged /usr too), which removes a tree of any depth. A
 * build's tree is never removed by Deno's own recursive remove: see {@linkcode Workspace.remove}.
 */
export const RM = "/bin/rm";
/** GNU chmod: opens up what a build left that its owner may not enter, before removing it. */
export const CHMOD = "/bin/chmod";
/** Forced, recursive, and never into another file system (nothing a build could mount). */
const RM_OPTIONS = ["-rf", "--one-file-system", "--"];
/** How much of what rm or chmod says on failure is kept for the error (its end). */
const TOOL_ERRORS_LIMIT = 4096;

/** The prefix of a workspace's directory name in the build directory. */
const PREFIX = "build-";

/** One build's directory. */
export class Workspace {
  private constructor(readonly root: string) {}

  /** Makes a fresh workspace under `buildDir` (created if missing). */
  static async create(buildDir: string): Promise<Workspace> {
    await Deno.mkdir(buildDir, { recursive: true });
    const ws = new Workspace(await Deno.makeTempDir({ dir: buildDir, prefix: PREFIX }));
    await Deno.writeFile(ws.maskedFile, new Uint8Array());
    await Deno.mkdir(ws.maskedDir);
    for (const path of [ws.maskedFile, ws.maskedDir]) await Deno.chmod(path, 0o000);
    for (const dir of [ws.sandboxTmp, ws.dir, ws.home, ws.tmp]) await Deno.mkdir(dir);
    return ws;
  }

  /** An empty file no one may read: what the sandbox shows in place of a secret file. */
  get maskedFile(): string {
    return `${this.root}/masked-file`;
  }

  /** An empty directory no one may enter: what the sandbox shows in place of a secret one. */
  get maskedDir(): string {
    return `${this.root}/masked-dir`;
  }

  /** What the bubblewrap sandbox shows as /tmp. */
  get sandboxTmp(): string {
    return `${this.root}/tmp`;
  }

  /** The one directory the build may write. */
  get dir(): string {
    return `${this.root}/build`;
  }

  /** The build's private home directory. */
  get home(): string {
    return `${this.dir}/home`;
  }

  /** The build's temporary directory. */
  get tmp(): string {
    return `${this.dir}/tmp`;
  }

  /** A path in the build's directory. */
  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  /** Removes what the build's code may have left besides its outputs: home and temp files. */
  async scrub(): Promise<void> {
    for (const dir of [this.home, this.tmp, this.sandboxTmp]) await removeTree(dir);
  }

  /**
   * Removes the whole workspace (after its files are sent), of any depth, with {@linkcode RM}.
   * Does nothing a second time.
   */
  async remove(): Promise<void> {
    // a user other than root cannot list a directory of mode 0 to remove it
    await Deno.chmod(this.maskedDir, 0o700).catch(ignoreNotFound);
    await removeTree(this.root);
  }

  /**
   * Removes every workspace in `buildDir` (`build-*`), as left by a slave that was killed: only
   * for a slave that holds the build directory's lock. Returns their names.
   */
  static async removeAll(buildDir: string): Promise<string[]> {
    const removed: string[] = [];
    for await (const entry of Deno.readDir(buildDir)) {
      if (!entry.name.startsWith(PREFIX)) continue;
      if (entry.isDirectory) await new Workspace(`${buildDir}/${entry.name}`).remove();
      else await Deno.remove(`${buildDir}/${entry.name}`);
      removed.push(entry.name);
    }
    return removed.sort();
  }
}

/**
 * Removes a path and everything below it (a symbolic link is removed, never followed), with GNU
 * rm: it walks a tree of any depth relative to each directory's descriptor, where Deno's
 * recursive remove recursed on its thread's stack, which a tree 11,000 directories deep (a
 * build makes one in seconds) overflowed, aborting the slave. A build's code can leave
 * directories it may not write or enter (a Go module cache is read-only), which a user other
 * than root cannot empty: then the owner is let into each directory, and the removal tried again.
 */
async function removeTree(path: string): Promise<void> {
  if (await runTool(RM, [...RM_OPTIONS, path]) === null) return;
  // a link is never followed: rm removed it (chmod -R would change what it points to)
  if ((await Deno.lstat(path).catch(() => null))?.isDirectory) {
    await runTool(CHMOD, ["-R", "u+rwx", "--", path]); // not all the slave's: rm says so
  }
  const problem = await runTool(RM, [...RM_OPTIONS, path]);
  if (problem !== null) throw new Error(`cannot remove ${path}: ${problem}`);
}

/** Runs one of the tools above to its end: null if it succeeded, else the end of what it said. */
async function runTool(program: string, args: string[]): Promise<string | null> {
  const child = new Deno.Command(program, {
    args,
    clearEnv: true,
    env: { LANG: "C" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errors = new TailBuffer(TOOL_ERRORS_LIMIT);
  for await (const chunk of child.stderr) errors.append(chunk);
  const status = await child.status;
  if (status.success) return null;
  return errors.text().trim() || `${program} exited with ${status.code}`;
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
