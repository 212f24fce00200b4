/**
 * The two ways piw-logger hands records to the master, over a real ipc:// queue with a PULL
 * socket standing in for the Lumberjack.
 */

import { assertEquals } from "../tests/assert.ts";
import { endpoint } from "../tests/zmq_support.ts";
import { Logger } from "../shared/log.ts";
import { Pull } from "../shared/zmq/mod.ts";
import { BlockingSender, DROP_REPORT_MS, DroppingSender, MAX_BACKLOG } from "./log_sender.ts";

const log = new Logger("log-sender-test");
const record = (n: number) => new TextEncoder().encode(`record ${n}`);
const text = (frames: Uint8Array[]) => new TextDecoder().decode(frames[0]);

Deno.test("dropping sender: with nobody to take them, records are dropped, reading goes on", async () => {
  const sender = new DroppingSender(endpoint("ipc"), log);
  // one record is being sent, MAX_BACKLOG wait behind it: those are taken at once; the next
  // ones wait for room, which the records dropped after a second make
  const total = 1 + MAX_BACKLOG + 5;
  for (let n = 0; n < total; n++) {
    const sending = sender.send(record(n));
    if (n <= MAX_BACKLOG) assertEquals(sending, undefined, "send returns at once");
    await sending;
  }
  await sender.close();
  assertEquals([sender.sent, sender.dropped], [0, total]);
});

Deno.test("dropping sender: a master that keeps up loses nothing, however fast records come", async () => {
  // every record that found the backlog full used to be dropped at once
  const address = endpoint("ipc");
  const pull = new Pull({ receiveTimeout: 30_000 });
  await pull.bind(address);
  const total = 3 * MAX_BACKLOG;
  const received: string[] = [];
  const receiving = (async () => {
    while (received.length < total) received.push(text(await pull.receive()));
  })();
  const sender = new DroppingSender(address, log);
  for (let n = 0; n < total; n++) await sender.send(record(n));
  await sender.close();
  await receiving;
  assertEquals([sender.sent, sender.dropped], [total, 0]);
  assertEquals(received[total - 1], `record ${total - 1}`);
  await pull.close();
});

Deno.test("dropping sender: a master that arrives in time gets the records, in order", async () => {
  const address = endpoint("ipc");
  const sender = new DroppingSender(address, log);
  sender.send(record(1));
  sender.send(record(2));
  const pull = new Pull({ receiveTimeout: 5000 });
  await pull.bind(address);
  assertEquals(text(await pull.receive()), "record 1");
  assertEquals(text(await pull.receive()), "record 2");
  sender.send(record(3));
  assertEquals(text(await pull.receive()), "record 3");
  await sender.close();
  assertEquals([sender.sent, sender.dropped], [3, 0]);
  await pull.close();
});

Deno.test("dropping sender: a master that comes and goes is not a warning per record", async () => {
  // a master that barely keeps up flips between dropping and not with every record: each flip
  // was a warning in the web server's error log (70 in 10 s)
  const address = endpoint("ipc");
  const said: string[] = [];
  const heard = new class extends Logger {
    override warning(message: string) {
      said.push(message);
    }
  }("log-sender-test");
  const until = async (what: () => boolean) => {
    while (!what()) await new Promise((r) => setTimeout(r, 20));
  };
  const flip = async (sender: DroppingSender) => {
    // nobody takes records: one is dropped
    const dropped = sender.dropped;
    while (sender.dropped === dropped) {
      sender.send(record(0));
      await new Promise((r) => setTimeout(r, 100));
    }
    // a master comes and takes one
    const pull = new Pull({ receiveTimeout: 30_000 });
    await pull.bind(address);
    const sent = sender.sent;
    sender.send(record(1));
    await pull.receive();
    await until(() => sender.sent > sent);
    await pull.close();
  };
  const started = Date.now();
  const sender = new DroppingSender(address, heard);
  for (let i = 0; i < 3; i++) await flip(sender);
  await sender.close();
  const minutes = Math.floor((Date.now() - started) / DROP_REPORT_MS);
  assertEquals(said.length <= 1 + 2 * minutes, true, said.join("\n"));
  assertEquals(said[0]!.startsWith("dropping records"), true, said[0]);

  // a change that came too soon is said when the time is up, if it still holds
  said.length = 0;
  const quick = new DroppingSender(address, heard, 500);
  await flip(quick);
  await until(() => said.length === 2);
  assertEquals(said[1]!.startsWith("the master takes records again ("), true, said[1]);
  await quick.close();
});

Deno.test("blocking sender: waits for the master rather than drop anything", async () => {
  const address = endpoint("ipc");
  const sender = new BlockingSender(address, log);
  const sending = sender.send(record(1));
  const pull = new Pull({ receiveTimeout: 5000 });
  await pull.bind(address);
  await sending;
  assertEquals(text(await pull.receive()), "record 1");
  await sender.close();
  assertEquals([sender.sent, sender.dropped], [1, 0]);
  await pull.close();
});
