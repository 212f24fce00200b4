/**
 * Taking in a build from a peer, the same for a build slave (the Slave Driver) and piw-import
 * (Mr. Chase): check the files it names against the build, have the File Juggler receive and
 * verify each, then publish them all and log the build, in that order, so that nothing a peer
 * sends is written unless all of it is the build's own, and no build is listed before its files
 * are in place. What the build changes in the queue is the caller's to say.
 *
 * @module
 */

import { errorMessage, type Logger } from "../shared/log.ts";
import { formatSize } from "../shared/size.ts";
import {
  encodeMessage,
  type fileJugglerFs,
  reverse,
  theScribe,
  verifiedFile,
} from "../shared/protocols.ts";
import type { BuildState } from "../shared/states.ts";
import { wheelRefusal } from "../shared/wheel.ts";
import type { Push } from "../shared/zmq/mod.ts";
import type { OracleClient } from "./oracle_client.ts";
import type { RpcClient } from "./rpc.ts";

const toWeb = reverse(theScribe);

/**
 * Raised when a build must be refused: the peer is told so, and nothing of it is written.
 * `ownFault` says the build's own files are at fault (their names, size or contents), so that any
 * peer's build of it would be refused the same; otherwise a transfer or the master is.
 */
export class Refused extends Error {
  override name = "Refused";

  /** Refuses a build for `message`. */
  constructor(message: string, readonly ownFault: boolean) {
    super(message);
  }
}

/**
 * Raised when a build's files, by the sizes it gives, would leave less free under the output path
 * than `--min-free`, with the files of the builds being received: not the build's fault, and
 * nothing of it is received. The Slave Driver puts the build off (it is handed out again later);
 * Mr. Chase refuses the import with why.
 */
export class NoRoom extends Refused {
  override name = "NoRoom";

  /**
   * `size` bytes of files would not fit in `free` bytes, of which `reserved` are the builds'
   * being received, keeping `minFree`.
   */
  constructor(
    readonly size: number,
    readonly free: number,
    readonly minFree: number,
    readonly reserved = 0,
  ) {
    super(
      `its ${formatSize(size)} of files would leave under --min-free ` +
        `${formatSize(minFree)} (${formatSize(free)} free` +
        (reserved > 0 ? `, ${formatSize(reserved)} of it for builds being received)` : ")"),
      false,
    );
  }
}

/**
 * The room the builds being received take, by sender (a slave's id; 0 for piw-import): the whole
 * size each build's files declare, from {@linkcode BuildIntake.begin} until they are published or
 * dropped. One for the Worker, so that the Slave Driver's and Mr. Chase's intakes (in one Worker,
 * `master/workers/slaves.ts`, and with the senders the File Juggler tells apart) count each
 * other's builds as well as their own; held in memory, it costs a build no round trip.
 */
class Reservations {
  readonly #bytes = new Map<number, number>();
  /** The bytes reserved, in all. */
  total = 0;

  /** Reserves `bytes` for `sender`'s build (in place of any it had). */
  reserve(sender: number, bytes: number): void {
    this.release(sender);
    this.#bytes.set(sender, bytes);
    this.total += bytes;
  }

  /** Releases what `sender`'s build reserved, if anything. */
  release(sender: number): void {
    const bytes = this.#bytes.get(sender);
    if (bytes === undefined) return;
    this.#bytes.delete(sender);
    this.total -= bytes;
  }
}

const reservations = new Reservations();

/** The File Juggler's file-system queue, as a client. */
export type FsClient = RpcClient<typeof fileJugglerFs.recv, typeof fileJugglerFs.send>;

/** A build being taken in. */
export interface Intake {
  /** The build. */
  readonly build: BuildState;
  /** The sender's id on the file queue (the slave id; 0 for piw-import). */
  readonly sender: number;
}

/** What the Slave Driver and Mr. Chase share to take builds in. */
export class BuildIntake {
  /** Takes builds in through these queues. */
  constructor(
    readonly oracle: OracleClient,
    readonly fs: FsClient,
    readonly web: Push,
    readonly log: Logger,
    readonly minFree: number,
    /**
     * Bytes free under the output path now, or null when not known (then each transfer finds
     * out for itself): by default the File Juggler is asked; the Slave Driver gives the figure
     * it keeps, rather than a round trip to the Juggler for every build.
     */
    readonly free: () => Promise<number | null> | number | null = async () => {
      const reply = await fs.call("STATFS").catch(() => null);
      return reply?.msg === "OK" ? (reply.data as [number, number])[1] : null;
    },
  ) {}

  /**
   * Starts taking in a successful build from `sender`: each file must be a wheel of the build's
   * project, version and ABI by its name (raises {@linkcode Refused} otherwise), and the sizes it
   * gives must fit under the output path with those of the builds being received, keeping
   * `--min-free` (raises {@linkcode NoRoom} otherwise: a slave and piw-import alike, and before
   * any byte comes). Its size is reserved until it is published or {@linkcode abort}ed. That none
   * is a file another version published is {@linkcode publish}'s to check, when one's name is
   * taken.
   */
  async begin(sender: number, build: BuildState): Promise<Intake> {
    let size = 0;
    for (const file of build.files.values()) {
      const why = wheelRefusal(file, build.package_, build.version, build.abiTag);
      if (why) throw new Refused(why, true);
      size += file.filesize;
    }
    const free = await this.free();
    // a build of this sender's own before (ended, or it would not begin another) is over
    reservations.release(sender);
    const reserved = reservations.total;
    if (free !== null && free - reserved - size < this.minFree) {
      throw new NoRoom(size, free, this.minFree, reserved);
    }
    reservations.reserve(sender, size);
    return { build, sender };
  }

  /**
   * Whether the build's file names that are taken may be replaced: those the version published
   * already (a rebuild) and those no build holds (a master killed after it put a build's files
   * in place and before it logged the build left them: refusing them would refuse every build
   * of the version); resolves to the latter. A name another version published raises
   * {@linkcode Refused}.
   */
  async #unheld(build: BuildState, taken: readonly string[]): Promise<string[]> {
    const held = await this.oracle.fileVersions([...taken]);
    for (const [name, [pkg, version]] of held) {
      if (pkg !== build.package_ || version !== build.version) {
        throw new Refused(`${name} is a file of ${pkg} ${version}, published already`, true);
      }
    }
    return taken.filter((name) => !held.has(name));
  }

  /** Has the File Juggler expect the build's next file; resolves to its name. */
  async expect(intake: Intake): Promise<string> {
    const { build } = intake;
    const next = build.files.get(build.nextFile!)!;
    const reply = await this.fs.call("EXPECT", [
      intake.sender,
      build.package_,
      build.version,
      next.asMessage(),
    ]);
    if (reply.msg !== "OK") {
      throw new Refused(`cannot receive ${next.filename}: ${reply.data}`, reply.msg === "REFUSED");
    }
    return next.filename;
  }

  /**
   * Has the File Juggler verify the file just sent: resolves to null when it did (it is marked
   * transferred), or to why it must be sent again; raises {@linkcode Refused} when it is not a
   * file of the build at all.
   */
  async verify(intake: Intake): Promise<string | null> {
    const { build } = intake;
    const file = build.files.get(build.nextFile!)!;
    const reply = await this.fs.call("VERIFY", intake.sender);
    if (reply.msg === "REFUSED") throw new Refused(reply.data, true);
    if (reply.msg === "ERROR") return reply.data;
    file.verified(verifiedFile.parse(reply.data));
    return null;
  }

  /**
   * Drops whatever the sender sent of a build that will not be published, and the room it
   * reserved (at once, before the File Juggler hears).
   */
  async abort(sender: number): Promise<void> {
    reservations.release(sender);
    await this.fs.call("ABORT", sender).catch(() => {});
  }

  /**
   * Publishes a build: its verified files put in place (a successful build), then the build
   * logged, the files of builds it replaced removed, and its log and pages written. Resolves to
   * the build's id. The files go where nothing is; only when a name is taken is the database
   * asked whose it is, and the version's own published files (or files no build holds) replaced:
   * most builds' names are new, and cost no such round trip. A name free on disk is no build's,
   * since the master puts a file in place before it logs it and deletes one only once it is
   * unlisted; a file lost from the disk from outside is caught by logging the build, which
   * refuses another version's name, and what was placed goes again before the peer hears.
   * Raises {@linkcode Refused} when a name is another version's file or the files cannot be put
   * in place, and the database's error when the build cannot be logged (its new files are taken
   * away again where they are still its own, and the files it replaced put back). Either way
   * the room its files reserved is released.
   */
  async publish(intake: Intake | null, build: BuildState): Promise<number> {
    try {
      return await this.#publish(intake, build);
    } finally {
      if (intake) reservations.release(intake.sender);
    }
  }

  async #publish(intake: Intake | null, build: BuildState): Promise<number> {
    let replaceable: readonly string[] = [];
    if (intake) {
      try {
        let placed = await this.fs.call("COMMIT", [intake.sender, []]);
        let unheld: string[] = [];
        if (placed.msg === "EXISTS") {
          replaceable = placed.data;
          unheld = await this.#unheld(build, replaceable);
          placed = await this.fs.call("COMMIT", [intake.sender, [...replaceable]]);
        }
        if (placed.msg === "EXISTS") { // a name taken meanwhile
          throw new Refused(
            `cannot publish its files: ${placed.data.join(", ")} taken already`,
            false,
          );
        }
        if (placed.msg !== "OK") {
          throw new Refused(`cannot publish its files: ${placed.data}`, false);
        }
        if (unheld.length > 0) {
          this.log.warning(
            `replaced ${unheld.join(", ")}, which no build held (left by a master stopped ` +
              "before it logged their build)",
          );
        }
      } catch (e) {
        // what was sent goes now, whoever called (Mr. Chase has let go of the import already)
        await this.abort(intake.sender);
        throw e;
      }
    }
    let logged;
    try {
      logged = await this.oracle.logBuild(build);
    } catch (e) {
      // what COMMIT placed goes, where it is still its own, and what it replaced comes back
      if (intake) await this.#replaced(intake.sender, null);
      throw e;
    }
    if (intake && replaceable.length > 0) {
      await this.#replaced(intake.sender, logged.buildId);
    }
    build.logged(logged.buildId);
    await this.removeFiles(build.package_, logged.removed, logged.buildId);
    await this.web.send(encodeMessage(toWeb, "LOG", [logged.buildId, build.output]))
      .catch(() => {});
    await this.web.send(encodeMessage(toWeb, build.status ? "PKGBOTH" : "PKGPROJ", build.package_))
      .catch(() => {});
    return logged.buildId;
  }

  /**
   * SETTLE what `sender`'s COMMIT placed and replaced (its build was logged as `buildId`), or
   * RESTORE it (null: it could not be); a failure is logged: the build is decided.
   */
  async #replaced(sender: number, buildId: number | null): Promise<void> {
    const msg = buildId === null ? "RESTORE" : "SETTLE";
    const reply =
      await (buildId === null
        ? this.fs.call("RESTORE", sender)
        : this.fs.call("SETTLE", [sender, buildId])).catch((e) => ({ msg: "ERROR", data: e }));
    if (reply.msg !== "OK") {
      this.log.warning(
        `${msg} of what slave ${sender}'s files replaced: ${errorMessage(reply.data)}`,
      );
    }
  }

  /** Deletes published files no build holds any more since build `by` was logged. */
  async removeFiles(pkg: string, names: readonly string[], by: number): Promise<void> {
    for (const name of names) {
      const reply = await this.fs.call("REMOVE", [pkg, name, by]);
      if (reply.msg !== "OK") this.log.warning(`cannot remove ${name}: ${reply.data}`);
    }
  }
}
