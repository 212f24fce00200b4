/**
 * The build slave's side of WIRE.md with the Slave Driver: HELLO → ACK, then IDLE → BUILD →
 * BUILT → (SEND → transfer → SENT)… → DONE, or SLEEP (wait, IDLE again), or DIE (BYE, stop).
 *
 * If the master does not answer within the master timeout (the manual's 60 s), or answers with
 * something WIRE.md does not allow, the build in hand is dropped, the connection is remade and
 * the slave starts again with HELLO, so a master restart (or fault) is survived. While no
 * connection to the master can be made, that is said at the default log level after 5 s, and
 * again every minute. Told to stop (SIGTERM, Ctrl+C), the slave stops whatever it waits for
 * (the master, a SLEEP, a build, a transfer) at once, says BYE if it spoke to a master, and
 * returns. It speaks through a DEALER with REQ's empty delimiter (the same bytes to the
 * master's ROUTER), so that BYE can go out while a reply is still awaited.
 *
 * @module
 */

import { decode } from "../shared/cbor.ts";
import { Duration } from "../shared/duration.ts";
import { errorMessage, type Logger } from "../shared/log.ts";
import {
  type DataIn,
  decodeMessage,
  encodeMessage,
  encodeNamedMessage,
  MAX_SLAVE_DRIVER_REPLY,
  type Message,
  ProtocolError,
  reverse,
  slaveDriver,
} from "../shared/protocols.ts";
import type { FileState } from "../shared/states.ts";
import { sleep } from "../shared/sleep.ts";
import { Dealer, isZmqError } from "../shared/zmq/mod.ts";
import { sendFile, TransferError } from "../shared/file_sender.ts";
import { clientOptions, type CurveClient } from "../shared/curve_setup.ts";

const slave = reverse(slaveDriver);
const EMPTY = new Uint8Array(0);
/** How long a wait for the master lasts before it looks whether the slave was told to stop. */
const POLL_MS = 250;
/** How long the master may be out of reach before that is said, and how often again. */
const UNREACHABLE_FIRST_MS = 5_000;
const UNREACHABLE_AGAIN_MS = 60_000;
/** The pause before starting again after a fault, doubled while faults follow, up to the most. */
const RESTART_PAUSE_MS = 1_000;
const RESTART_PAUSE_MAX_MS = 60_000;
/** How long BYE may take to go out when the slave closes its connection. */
const BYE_LINGER_MS = 1_000;

/** What the master asked to build. */
export interface BuildJob {
  /** The project. */
  package: string;
  /** The release. */
  version: string;
  /** The package index to build from (from ACK). */
  indexUrl: string;
}

/** A wheel a build produced. */
export interface BuiltFile {
  /** Where it is. */
  path: string;
  /** What the master is told of it. */
  state: FileState;
}

/** What a build came to. */
export interface BuildOutcome {
  /** Whether it succeeded. */
  status: boolean;
  /** How long it took. */
  duration: Duration;
  /** Its log. */
  output: string;
  /** Its wheels. */
  files: BuiltFile[];
}

/** What does the building. */
export interface Builder {
  /** The interpreter's tags, as HELLO carries them. */
  tags(): Promise<{ pyVersionTag: string; abiTag: string; platformTag: string }>;
  /** Builds a release; an aborted signal kills the build. */
  build(job: BuildJob, signal: AbortSignal): Promise<BuildOutcome>;
  /** Removes what the last build left behind. */
  cleanup(): Promise<void>;
}

/** The session's settings. */
export interface SessionSettings {
  /** The master's slave queue. */
  slaveQueue: string;
  /** The master's file queue. */
  fileQueue: string;
  /** The build timeout, told to the master in HELLO. */
  timeout: Duration;
  /** The label the monitors show. */
  label: string;
  /** How long to wait for a reply before starting again. */
  masterTimeout: Duration;
  /** How long to wait after SLEEP. */
  sleep: Duration;
  /** CURVE settings, for a master started with `--curve-key` (none: NULL, as deployed). */
  curve?: CurveClient | undefined;
}

/** Raised inside the session when it must start again with HELLO (and why). */
class Restart extends Error {
  override name = "Restart";
}

/** Raised inside the session when it was told to stop. */
class Stopping extends Error {
  override name = "Stopping";
}

/**
 * A BUILD of a name or version this slave cannot build (a piwheels 0.16 master sends what PyPI
 * has, such as `1.0 beta`): the build is reported failed, as a 0.16 slave's pip would fail it.
 */
class Unbuildable extends Error {
  override name = "Unbuildable";

  /** The BUILD of `pkg` `version`, refused for `message`. */
  constructor(readonly pkg: string, readonly version: string, message: string) {
    super(message);
  }
}

/** The longest name or version of a BUILD reported failed, rather than a reply that is wrong. */
const MAX_UNBUILDABLE = 1000;

type Reply = Message<typeof slaveDriver.send>;

/**
 * Whether the master can be reached: said (as a warning) once it has been out of reach for
 * {@linkcode UNREACHABLE_FIRST_MS}, again every {@linkcode UNREACHABLE_AGAIN_MS}, and once more
 * when it is reached.
 */
class Reach {
  #since: number | null = null;
  #said = 0;

  constructor(readonly address: string, readonly log: Logger) {}

  /** A message could not go out yet: no connection to the master. */
  missing(): void {
    const now = Date.now();
    this.#since ??= now;
    const out = now - this.#since;
    const next = this.#said === 0 ? UNREACHABLE_FIRST_MS : this.#said + UNREACHABLE_AGAIN_MS;
    if (out < next) return;
    this.#said = out;
    this.log.warning(
      `cannot reach the master at ${this.address} (for ${
        Duration.fromSeconds(Math.round(out / 1000))
      }); still trying`,
    );
  }

  /** A message went out: the master is connected. */
  reached(): void {
    if (this.#said > 0) this.log.info(`reached the master at ${this.address}`);
    this.#since = null;
    this.#said = 0;
  }
}

/** One connection to the master's slave queue. */
class Connection {
  readonly socket: Dealer;
  /** Whether the master may know this slave (a message went out): then it is told BYE. */
  #spoke = false;
  #saidBye = false;

  constructor(
    readonly settings: SessionSettings,
    readonly stop: AbortSignal,
    readonly reach: Reach,
  ) {
    this.socket = new Dealer({
      linger: 0,
      maxMessageSize: MAX_SLAVE_DRIVER_REPLY,
      ...clientOptions(settings.curve),
    });
    this.socket.connect(settings.slaveQueue);
  }

  /**
   * Sends a message and returns the master's reply: Restart after the master timeout or for a
   * reply WIRE.md does not allow; Stopping as soon as the slave is told to stop.
   */
  async ask<K extends keyof typeof slave.send & string>(
    msg: K,
    data?: DataIn<typeof slave.send, K>,
  ) {
    await this.#send(encodeNamedMessage(slave, msg, data));
    const deadline = Date.now() + this.settings.masterTimeout.totalMillis();
    for (;;) {
      if (this.stop.aborted) throw new Stopping();
      this.socket.options.receiveTimeout = Math.max(1, Math.min(POLL_MS, deadline - Date.now()));
      let frames: Uint8Array[];
      try {
        frames = await this.socket.receive();
      } catch (e) {
        if (!isZmqError(e, "EAGAIN")) throw e;
        if (Date.now() >= deadline) {
          throw new Restart(`no reply from the master within ${this.settings.masterTimeout}`);
        }
        continue;
      }
      if (frames.length !== 2 || frames[0]!.length !== 0) continue; // not [empty, payload]
      try {
        return decodeMessage(slave, frames[1]!);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        const said = (() => {
          try {
            return decode(frames[1]!);
          } catch {
            return null;
          }
        })();
        const [name, data] = Array.isArray(said) ? said : [];
        const [pkg, version] = Array.isArray(data) ? data : [];
        if (
          msg === "IDLE" && name === "BUILD" && Array.isArray(data) && data.length === 2 &&
          typeof pkg === "string" && typeof version === "string" &&
          pkg.length <= MAX_UNBUILDABLE && version.length <= MAX_UNBUILDABLE
        ) {
          throw new Unbuildable(pkg, version, e.message);
        }
        throw new Restart(`the master's reply to ${msg} breaks WIRE.md (${e.message})`);
      }
    }
  }

  /** Sends once the master is connected, saying when it cannot be reached; Stopping if told. */
  async #send(payload: Uint8Array): Promise<void> {
    this.socket.options.sendTimeout = POLL_MS;
    for (;;) {
      if (this.stop.aborted) throw new Stopping();
      try {
        await this.socket.send([EMPTY, payload]);
        this.#spoke = true;
        return this.reach.reached();
      } catch (e) {
        if (!isZmqError(e, "EAGAIN")) throw e;
        this.reach.missing();
      }
    }
  }

  /** Says BYE to a master that may know this slave, if it is connected (no reply comes). */
  async bye(): Promise<void> {
    if (!this.#spoke || this.#saidBye) return;
    this.socket.options.sendTimeout = 0;
    try {
      await this.socket.send([EMPTY, encodeMessage(slave, "BYE")]);
      this.#saidBye = true;
    } catch (e) {
      if (!isZmqError(e, "EAGAIN")) throw e; // no connection: no one to tell
    }
  }

  /** Closes the connection: a BYE said is given a moment to go out, nothing else is. */
  async close(): Promise<void> {
    this.socket.options.linger = this.#saidBye ? BYE_LINGER_MS : 0;
    await this.socket.close();
  }
}

/**
 * Runs the slave until the master says DIE or `stop` is aborted. Returns why it stopped.
 */
export async function runSession(
  settings: SessionSettings,
  builder: Builder,
  stop: AbortSignal,
  log: Logger,
): Promise<"DIE" | "stopped"> {
  const tags = await builder.tags();
  const hello: DataIn<typeof slave.send, "HELLO"> = [
    settings.timeout,
    tags.pyVersionTag,
    tags.abiTag,
    tags.platformTag,
    settings.label,
  ];
  const reach = new Reach(settings.slaveQueue, log);
  const pause = new Backoff();
  while (!stop.aborted) {
    const conn = new Connection(settings, stop, reach);
    let fault = false;
    try {
      const ack = await conn.ask("HELLO", hello);
      if (ack.msg !== "ACK") throw new Restart(`HELLO was answered ${ack.msg}`);
      const [slaveId, indexUrl] = ack.data;
      log.info(
        `connected to the master as slave ${slaveId}; building ${tags.abiTag} from ${indexUrl}`,
      );
      await serve(conn, slaveId, indexUrl, builder, pause, log);
      await conn.bye();
      return "DIE";
    } catch (e) {
      if (!(e instanceof Stopping || stop.aborted)) {
        // a long-running slave does not stop for what went wrong in one session: it logs it and
        // starts again (after a pause that grows while faults follow)
        if (e instanceof Restart || e instanceof TransferError) {
          log.warning(`${e.message}; starting again`);
        } else {
          log.error(`${errorMessage(e)}; starting again`);
        }
        fault = true;
      }
    } finally {
      await builder.cleanup().catch((e) => log.warning(`cannot clean up: ${errorMessage(e)}`));
      if (stop.aborted) await conn.bye();
      await conn.close();
    }
    if (fault) await sleep(pause.next(), stop);
  }
  return "stopped";
}

/** The pause before starting again: 1 s after a fault, doubling while faults follow. */
class Backoff {
  #ms = 0;

  /** The pause to make now. */
  next(): number {
    this.#ms = Math.min(Math.max(this.#ms * 2, RESTART_PAUSE_MS), RESTART_PAUSE_MAX_MS);
    return this.#ms;
  }

  /** The master answered as it should: the next fault pauses 1 s again. */
  reset(): void {
    this.#ms = 0;
  }
}

/** IDLE, BUILD, BUILT, transfers, DONE, … until DIE. */
async function serve(
  conn: Connection,
  slaveId: number,
  indexUrl: string,
  builder: Builder,
  pause: Backoff,
  log: Logger,
): Promise<"DIE"> {
  for (;;) {
    let outcome: BuildOutcome;
    try {
      const idle = await conn.ask("IDLE");
      if (idle.msg === "SLEEP") {
        pause.reset();
        log.debug(`the master said SLEEP: asking again in ${conn.settings.sleep}`);
        await sleep(conn.settings.sleep.totalMillis(), conn.stop);
        continue;
      }
      if (idle.msg === "DIE") return "DIE";
      if (idle.msg !== "BUILD") throw new Restart(`IDLE was answered ${idle.msg}`);
      pause.reset();
      const [pkg, version] = idle.data;
      outcome = await builder.build({ package: pkg, version, indexUrl }, conn.stop);
    } catch (e) {
      if (!(e instanceof Unbuildable)) throw e;
      log.warning(`cannot build ${e.pkg} ${e.version}: ${e.message}; reporting it failed`);
      const output = `piwheels: this slave cannot build ${e.pkg} ${e.version}: ${e.message}\n`;
      outcome = { status: false, duration: Duration.ZERO, output, files: [] };
    }
    if (conn.stop.aborted) throw new Stopping();
    let reply: Reply = await conn.ask("BUILT", [
      outcome.status,
      outcome.duration,
      outcome.output,
      outcome.files.map((f) => f.state.asMessage()),
    ]).catch(async (e) => {
      if (!(e instanceof ProtocolError)) throw e;
      // the build left files no BUILT can name (a build's own code can write any): it failed
      log.warning(`the build's files cannot be reported: ${e.message}`);
      const why = `\n\npiwheels: the build's files cannot be reported: ${e.message}\n`;
      return await conn.ask("BUILT", [false, outcome.duration, outcome.output + why, []]);
    });
    while (reply.msg === "SEND") {
      const name = reply.data;
      const file = outcome.files.find((f) => f.state.filename === name);
      if (!file) throw new Restart(`the master asked for ${name}, which this build did not make`);
      log.debug(`sending ${name} to ${conn.settings.fileQueue}`);
      await sendFile(conn.settings.fileQueue, slaveId, file.path, {
        signal: conn.stop,
        giveUpMs: conn.settings.masterTimeout.totalMillis(),
        curve: conn.settings.curve,
      });
      reply = await conn.ask("SENT");
    }
    if (reply.msg === "DIE") return "DIE";
    if (reply.msg !== "DONE") throw new Restart(`BUILT was answered ${reply.msg}`);
    await builder.cleanup();
  }
}
