/**
 * The Slave Driver takes each slave's messages in order and different slaves' side by side: a
 * build whose logging waits on the database holds up no other slave, and a peer that sends
 * without waiting for replies gets only a few of its messages held.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import { eventually, startFarm } from "../farm.ts";
import { lockTable, queryDb } from "../db.ts";
import { type MasterReply, TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { Duration } from "../../shared/duration.ts";
import { decodeMessage, encodeNamedMessage, reverse, slaveDriver } from "../../shared/protocols.ts";
import { Dealer } from "../../shared/zmq/mod.ts";

const toMaster = reverse(slaveDriver);

/** A slave on a DEALER, so that it can send without waiting for replies, as a hostile one may. */
class RawSlave implements AsyncDisposable {
  readonly dealer = new Dealer({ linger: 0, receiveTimeout: 60_000 });
  constructor(slaveQueue: string) {
    this.dealer.connect(slaveQueue);
  }
  async send(msg: string, data?: unknown): Promise<void> {
    await this.dealer.send([new Uint8Array(0), encodeNamedMessage(toMaster, msg, data)]);
  }
  async receive(): Promise<MasterReply> {
    const [, reply] = await this.dealer.receive();
    return decodeMessage(toMaster, reply!);
  }
  async request(msg: string, data?: unknown): Promise<MasterReply> {
    await this.send(msg, data);
    return await this.receive();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dealer.close();
  }
}

Deno.test("master: a build waiting on the database holds up no other slave", async (t) => {
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  await pypi.release("one-project", "1.0");
  await pypi.release("another-project", "1.0");

  await using slow = new RawSlave(master.slaveQueue);
  const ack = await slow.request("HELLO", [
    Duration.of({ hours: 3 }),
    "311",
    "cp311",
    "linux_x86_64",
    "slow",
  ]);
  assertEquals(ack.msg, "ACK");
  const task = await slow.request("IDLE");
  assertEquals(task.msg, "BUILD");
  const [pkg, version] = task.data as [string, string];
  const other = pkg === "one-project" ? "another-project" : "one-project";
  // the other release is in the queue too, so that the next IDLE finds work (rather than waits)
  await master.waitForFile("simple/index.html", other);
  const wheel = makeWheel(pkg, version);

  // the builds table is locked against writes: logging the build must wait for it
  const lock = await lockTable(db.superDsn, "builds", "EXCLUSIVE");
  try {
    const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, { apt: [] }]];
    const send = await slow.request("BUILT", [true, Duration.of({ seconds: 1 }), "built", files]);
    assertEquals(send, { msg: "SEND", data: wheel.filename });
    const sender = new TestSlave(master.slaveQueue, master.fileQueue);
    sender.slaveId = (ack.data as [number, string])[0];
    try {
      await sender.transfer(wheel.bytes);
    } finally {
      await sender.close();
    }
    await slow.send("SENT");
    await eventually("the build's logging waits on the lock", async () => {
      const [row] = await queryDb<{ n: number }>(
        db.superDsn,
        "SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'builds'::regclass AND NOT granted",
      );
      return row!.n > 0;
    });

    await t.step("another slave joins and is given work meanwhile", async () => {
      await using fast = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "fast");
      assertEquals((await fast.hello()).msg, "ACK");
      assertEquals(await fast.request("IDLE"), { msg: "BUILD", data: [other, "1.0"] });
    });

    await t.step("a slave sending without waiting has only a few messages held", async () => {
      for (let i = 0; i < 20; i++) await slow.send("IDLE");
      await master.waitForLog(/dropped a message of a peer that sends without waiting/);
    });

    // the lock goes: the build is logged and its slave told DONE, first
    await lock.release();
    assertEquals(await slow.receive(), { msg: "DONE" });
    const rows = await queryDb<{ n: number }>(
      db.superDsn,
      "SELECT count(*)::int AS n FROM builds WHERE status AND package = $1 AND version = $2",
      [pkg, version],
    );
    assertEquals(rows[0]!.n, 1);
    await master.waitForFile(`simple/${pkg}/index.html`, wheel.sha256);
  } finally {
    await lock.release().catch(() => {});
  }
});
