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
import { LibzmqSlave } from "../fixtures/libzmq_slave.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { Duration } from "../../shared/duration.ts";

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
