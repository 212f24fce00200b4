/**
 * Large frames handed back with `releaseFrame` are read into again, and only those: a frame
 * still held, handed back twice, or handed back after its memory went to another, never shares
 * memory with a later one. A large frame's memory can be transferred away (`detachFrame`), as to
 * another Worker, and taken back (`adoptFrame`).
 */

import { assert, assertEquals } from "./assert.ts";
import { endpoint } from "./zmq_support.ts";
import { adoptFrame, detachFrame, Pull, Push, releaseFrame } from "../shared/zmq/mod.ts";
import { keptBytes } from "../shared/zmq/frame_pool.ts";

const TIMEOUT = { receiveTimeout: 5000, sendTimeout: 5000 };
const MIB = 1024 * 1024;

function filled(size: number, value: number): Uint8Array {
  return new Uint8Array(size).fill(value);
}

function all(frame: Uint8Array, value: number): boolean {
  return frame.every((b) => b === value);
}

/** Runs `body` with `next`: `frame` sent over tcp from a PUSH and the frame its PULL read. */
async function pair(
  body: (next: (frame: Uint8Array) => Promise<Uint8Array>) => Promise<void>,
): Promise<void> {
  const pull = new Pull(TIMEOUT);
  const push = new Push(TIMEOUT);
  push.connect(await pull.bind(endpoint("tcp")));
  try {
    await body(async (frame) => {
      await push.send(frame);
      return (await pull.receive())[0]!;
    });
  } finally {
    await Promise.all([push.close(), pull.close()]);
  }
}

Deno.test("socket: a large frame handed back is read into again; one held never is", () =>
  pair(async (next) => {
    const a = await next(filled(MIB, 1));
    const b = await next(filled(MIB, 2));
    assert(a.buffer !== b.buffer, "a frame still held is not read into");
    assert(all(a, 1) && all(b, 2));

    releaseFrame(a);
    releaseFrame(a); // twice: kept once
    assertEquals(keptBytes(), MIB);
    const c = await next(filled(MIB, 3));
    assert(c.buffer === a.buffer, "the frame handed back is read into");
    assert(all(c, 3));
    assertEquals(keptBytes(), 0);
    const d = await next(filled(MIB, 4));
    assert(d.buffer !== c.buffer, "a frame handed back twice is handed out once");

    releaseFrame(d);
    const e = await next(filled(600 * 1024, 5)); // a shorter frame of the same size class
    assert(e.buffer === d.buffer);
    assertEquals(e.length, 600 * 1024);
    assert(all(e, 5));
    releaseFrame(d); // stale: its memory is e's now
    assertEquals(keptBytes(), 0);
    releaseFrame(new Uint8Array(e.buffer, 0, 1000)); // another view of e's memory
    assertEquals(keptBytes(), 0);

    const small = await next(filled(1000, 6)); // read out of the connection's own buffer
    releaseFrame(small);
    const sent = filled(MIB, 7);
    releaseFrame(sent); // not one the socket read
    assertEquals(keptBytes(), 0);

    const huge = await next(filled(9 * MIB, 8)); // larger than the pool: exactly its size
    assertEquals(huge.buffer.byteLength, 9 * MIB);
    releaseFrame(huge);
    assertEquals(keptBytes(), 0);
  }));

Deno.test("socket: a large frame's memory is transferred away and taken back, never copied", () =>
  pair(async (next) => {
    const a = await next(filled(MIB, 1));
    const taken = detachFrame(a);
    assert(taken === a.buffer, "a frame of its own gives its buffer");
    assertEquals(detachFrame(a), null, "once only");
    releaseFrame(a); // taken away: not kept
    assertEquals(keptBytes(), 0);
    const small = await next(filled(1000, 2));
    assertEquals(detachFrame(small), null, "a frame sharing memory with others gives none");

    // over a MessageChannel and back, as to and from the File Juggler's writing thread
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = ({ data }) => port2.postMessage(data, [data]);
    const back = new Promise<ArrayBuffer>((resolve) => port1.onmessage = (e) => resolve(e.data));
    port1.postMessage(taken, [taken!]);
    assertEquals(a.byteLength, 0, "transferred: the frame is empty here now");
    const returned = await back;
    port1.close();
    port2.close();
    adoptFrame(returned);
    assertEquals(keptBytes(), MIB);
    const c = await next(filled(MIB, 3));
    assert(c.buffer === returned, "the memory given back is read into again");
    assert(all(c, 3));

    adoptFrame(new ArrayBuffer(1000)); // no size class of the pool's
    adoptFrame(new ArrayBuffer(16 * MIB)); // beyond the pool
    assertEquals(keptBytes(), 0);
  }));
