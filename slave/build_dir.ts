/**
 * The slave's build directory, held for as long as the slave runs: an exclusive lock on its
 * `.piw-slave.lock` file keeps a second slave out (two slaves would remove each other's builds),
 * and once it is held, every workspace found there is a killed slave's, and is removed.
 *
 * @module
 */

import { Workspace } from "./workspace.ts";

/** The lock file in the build directory. */
export const LOCK_FILE = ".piw-slave.lock";

/** Raised when another slave holds the build directory. */
export class BuildDirBusy extends Error {
  override name = "BuildDirBusy";
}

/** A build directory this process holds (until {@linkcode BuildDir.release} or its exit). */
export class BuildDir implements Disposable {
  private constructor(
    /** The directory. */
    readonly path: string,
    /** The workspaces found there and removed (the names of killed slaves' builds). */
    readonly removed: readonly string[],
    readonly lock: Deno.FsFile,
  ) {}

  /**
   * Takes the build directory (made if missing, mode 0700): locks it, or throws
   * {@linkcode BuildDirBusy} naming the process that holds it; then removes what killed slaves
   * left there.
   */
  static async claim(path: string): Promise<BuildDir> {
    await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    const lock = await Deno.open(`${path}/${LOCK_FILE}`, { read: true, write: true, create: true });
    try {
      if (!await lock.tryLock(true)) {
        const holder = (await Deno.readTextFile(`${path}/${LOCK_FILE}`)).trim();
        throw new BuildDirBusy(
          `another piw-slave${/^\d+$/.test(holder) ? ` (pid ${holder})` : ""} builds in ${path}`,
        );
      }
      await lock.truncate();
      await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
      return new BuildDir(path, await Workspace.removeAll(path), lock);
    } catch (e) {
      lock.close();
      throw e;
    }
  }

  /** Lets the build directory go. */
  release(): void {
    this.lock.close();
  }

  /** Lets the build directory go (for `using`). */
  [Symbol.dispose](): void {
    this.release();
  }
}
