/**
 * piw-master and a slave that is gone without a word (it lost power or its network): the slave
 * queue's heartbeat finds it out and its build goes back to the queue at once, where it used to
 * wait out the slave's build timeout (3 hours by default), while a slave that says nothing as
 * long because it is building stays known: its libzmq answers the PINGs. Both slaves are
 * Debian's libzmq (python3-zmq), as deployed slaves are; one is frozen with SIGSTOP, which
 * keeps its TCP connection open and unanswered. In `--dev-mode` the master drops a connection
 * silent for 10 s.
 */

import { assertEquals } from "../assert.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { LibzmqPeer } from "../zmq_support.ts";
import { Duration } from "../../shared/duration.ts";
import {
  decodeMessage,
  encodeNamedMessage,
  type Message,
  reverse,
  slaveDriver,
} from "../../shared/protocols.ts";

const slave = reverse(slaveDriver);

/** A slave's REQ socket in libzmq. */
class LibzmqSlave {
  private constructor(readonly peer: LibzmqPeer) {}

  static async start(slaveQueue: string, label: string): Promise<LibzmqSlave> {
    const s = new LibzmqSlave(await LibzmqPeer.start("REQ", "connect", slaveQueue));
    const ack = await s.request("HELLO", [
      Duration.of({ hours: 3 }),
      "311",
      "cp311",
      "linux_x86_64",
      label,
    ]);
    assertEquals(ack.msg, "ACK");
    return s;
  }

  async request(msg: string, data?: unknown): Promise<Message<typeof slaveDriver.send>> {
    await this.peer.send([encodeNamedMessage(slave, msg, data)]);
    const [reply] = await this.peer.receive(30_000);
    return decodeMessage(slave, reply!);
  }
}

Deno.test("master: a slave gone silent is dropped by the heartbeat, a busy one is kept", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("lost", "1.0");
  await pypi.release("kept", "1.0");
  await master.waitForFile("project/kept/index.html", "1.0");
  const gone = await LibzmqSlave.start(master.slaveQueue, "gone");
  const busy = await LibzmqSlave.start(master.slaveQueue, "busy");
  const first = await gone.request("IDLE");
  const second = await busy.request("IDLE");
  assertEquals(
    [first.msg, second.msg, first.data, second.data].map(String).sort(),
    ["BUILD", "BUILD", "kept,1.0", "lost,1.0"],
  );
  const lost = (first.data as string[])[0]!;
  gone.peer.freeze();
  try {
    await master.waitForLog(/no heartbeat from the peer/);
    await master.waitForLog(/slave \d+ \(gone\) went away/);
    // its build is handed out again at once
    await using other = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "other");
    assertEquals((await other.hello()).msg, "ACK");
    assertEquals(await other.request("IDLE"), { msg: "BUILD", data: [lost, "1.0"] });
  } finally {
    gone.peer.freeze(false);
    await gone.peer.kill();
  }
  // the busy slave said nothing as long, and is still known: its build is still its own
  assertEquals(master.stderr.includes("(busy) went away"), false);
  const reply = await busy.request("BUILT", [false, Duration.of({ seconds: 1 }), "failed", []]);
  assertEquals(reply.msg, "DONE");
  await busy.peer.close();
});
