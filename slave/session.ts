/**
 * The build slave's side of WIRE.md with the Slave Driver: HELLO → ACK, then IDLE → BUILD →
 * BUILT → (SEND → transfer → SENT)… → DONE, or SLEEP (wait, IDLE again), or DIE (BYE, stop).
 *
 * If the master does not answer within the master timeout (the manual's 60 s), the build in
 * hand is dropped, the connection is remade and the slave starts again with HELLO, so a master
 * restart is survived. Told to stop (SIGTERM, Ctrl+C), the slave kills its build, says BYE and
 * returns. It speaks through a DEALER with REQ's empty delimiter (the same bytes to the
 * master's ROUTER), so that BYE can go out while a reply is still awaited.
 *
 * @module
 */

import type { Duration } from "../shared/duration.ts";
import { errorMessage, type Logger } from "../shared/log.ts";
import {
  type DataIn,
  decodeMessage,
  encodeMessage,
  encodeNamedMessage,
  type Message,
  reverse,
  slaveDriver,
} from "../shared/protocols.ts";
import type { FileState } from "../shared/states.ts";
import { sleep } from "../shared/sleep.ts";
import { Dealer, isZmqError } from "../shared/zmq/mod.ts";
import { sendFile, TransferError } from "../shared/file_sender.ts";

const slave = reverse(slaveDriver);
const EMPTY = new Uint8Array(0);

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
}

/** Raised inside the session when it must start again with HELLO (and why). */
class Restart extends Error {
  override name = "Restart";
}

/** Raised inside the session when it was told to stop. */
class Stopping extends Error {
  override name = "Stopping";
}

type Reply = Message<typeof slaveDriver.send>;

/** One connection to the master's slave queue. */
class Connection {
  readonly socket: Dealer;

  constructor(readonly settings: SessionSettings, readonly stop: AbortSignal) {
    this.socket = new Dealer({ linger: 1000 });
    this.socket.connect(settings.slaveQueue);
  }

  /** Sends a message and returns the master's reply (Restart after the master timeout). */
  async ask<K extends keyof typeof slave.send & string>(
    msg: K,
    data?: DataIn<typeof slave.send, K>,
  ) {
    await this.socket.send([
      EMPTY,
      encodeNamedMessage(slave, msg, data),
    ]);
    const deadline = Date.now() + this.settings.masterTimeout.totalMillis();
    for (;;) {
      if (this.stop.aborted) throw new Stopping();
      this.socket.options.receiveTimeout = Math.max(1, Math.min(250, deadline - Date.now()));
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
      return decodeMessage(slave, frames[1]!);
    }
  }

  /** Says BYE (no reply comes). */
  async bye(): Promise<void> {
    await this.socket.send([EMPTY, encodeMessage(slave, "BYE")]).catch(() => {});
  }

  async close(): Promise<void> {
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
  while (!stop.aborted) {
    const conn = new Connection(settings, stop);
    try {
      const ack = await conn.ask("HELLO", hello);
      if (ack.msg !== "ACK") throw new Restart(`HELLO was answered ${ack.msg}`);
      const [slaveId, indexUrl] = ack.data;
      log.info(
        `connected to the master as slave ${slaveId}; building ${tags.abiTag} from ${indexUrl}`,
      );
      if (await serve(conn, slaveId, indexUrl, builder) === "DIE") {
        await conn.bye();
        return "DIE";
      }
    } catch (e) {
      if (e instanceof Stopping || stop.aborted) break;
      if (!(e instanceof Restart || e instanceof TransferError)) throw e;
      log.warning(`${e.message}; starting again`);
    } finally {
      await builder.cleanup().catch((e) => log.warning(`cannot clean up: ${errorMessage(e)}`));
      if (stop.aborted) await conn.bye();
      await conn.close();
    }
  }
  return "stopped";
}

/** IDLE, BUILD, BUILT, transfers, DONE, … until DIE. */
async function serve(
  conn: Connection,
  slaveId: number,
  indexUrl: string,
  builder: Builder,
): Promise<"DIE"> {
  for (;;) {
    let reply: Reply = await conn.ask("IDLE");
    if (reply.msg === "SLEEP") {
      await sleep(conn.settings.sleep.totalMillis(), conn.stop);
      continue;
    }
    if (reply.msg === "DIE") return "DIE";
    if (reply.msg !== "BUILD") throw new Restart(`IDLE was answered ${reply.msg}`);
    const [pkg, version] = reply.data;
    const outcome = await builder.build({ package: pkg, version, indexUrl }, conn.stop);
    if (conn.stop.aborted) throw new Stopping();
    reply = await conn.ask("BUILT", [
      outcome.status,
      outcome.duration,
      outcome.output,
      outcome.files.map((f) => f.state.asMessage()),
    ]);
    while (reply.msg === "SEND") {
      const name = reply.data;
      const file = outcome.files.find((f) => f.state.filename === name);
      if (!file) throw new Restart(`the master asked for ${name}, which this build did not make`);
      await sendFile(conn.settings.fileQueue, slaveId, file.path, {
        signal: conn.stop,
        giveUpMs: conn.settings.masterTimeout.totalMillis(),
      });
      reply = await conn.ask("SENT");
    }
    if (reply.msg === "DIE") return "DIE";
    if (reply.msg !== "DONE") throw new Restart(`BUILT was answered ${reply.msg}`);
    await builder.cleanup();
  }
}
