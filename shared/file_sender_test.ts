/**
 * The file sender against a master stand-in (our ROUTER): it says HELLO again after 5 s of
 * silence, sends exactly the bytes asked for with the offset frame echoed, and gives up on a
 * FETCH it cannot trust (not decimal, beyond the file, too large) instead of reading anything.
 */

import { assertEquals, assertRejects } from "../tests/assert.ts";
import { sendFile, TransferError } from "./file_sender.ts";
import { Router } from "./zmq/mod.ts";

const text = (frame: Uint8Array) => new TextDecoder().decode(frame);

async function withFile<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, new Uint8Array(100_000).map((_, i) => i % 251));
  try {
    return await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("file sender: HELLO again after 5 s of silence, then the chunks asked for", async () => {
  await withFile(async (path) => {
    const router = new Router({ receiveTimeout: 10_000 });
    const address = await router.bind("tcp://127.0.0.1:0");
    const sending = sendFile(address, 7, path);
    try {
      const [peer, hello, id] = await router.receive();
      assertEquals([text(hello!), text(id!)], ["HELLO", "7"]);
      const started = Date.now();
      const [, again] = await router.receive();
      assertEquals(text(again!), "HELLO");
      assertEquals(Date.now() - started >= 4_500, true, "HELLO again only after the silence");
      await router.send([peer!, "FETCH", "0099990", "10"]);
      const [, chunk, offset, bytes] = await router.receive();
      assertEquals([text(chunk!), text(offset!)], ["CHUNK", "0099990"]);
      assertEquals([...bytes!], Array.from({ length: 10 }, (_, i) => (99_990 + i) % 251));
      await router.send([peer!, "DONE"]);
      await sending;
    } finally {
      await router.close();
    }
  });
});

Deno.test("file sender: a FETCH it cannot trust ends the transfer, reading nothing", async () => {
  await withFile(async (path) => {
    for (const [offset, length] of [["0x10", "10"], ["0", "1e3"], ["99995", "10"], ["-1", "5"]]) {
      const router = new Router({ receiveTimeout: 10_000 });
      try {
        const address = await router.bind("tcp://127.0.0.1:0");
        const sending = sendFile(address, 1, path);
        const [peer] = await router.receive();
        await router.send([peer!, "FETCH", offset!, length!]);
        await assertRejects(() => sending, TransferError, "the master asked for bytes");
      } finally {
        await router.close();
      }
    }
  });
});

Deno.test("file sender: a stop ends a transfer waiting for the master, with the stop's reason", async () => {
  await withFile(async (path) => {
    const router = new Router({ receiveTimeout: 10_000 });
    try {
      const address = await router.bind("tcp://127.0.0.1:0");
      const stop = new AbortController();
      const sending = sendFile(address, 3, path, { signal: stop.signal });
      const [, hello] = await router.receive(); // then no FETCH: the sender waits
      assertEquals(text(hello!), "HELLO");
      stop.abort(new Error("told to stop"));
      await assertRejects(() => sending, Error, "told to stop");
      // it did not wait for its 5 s of silence to end: no HELLO again came first
      router.options.receiveTimeout = 0;
      await assertRejects(() => router.receive(), Error, "would have to wait");
      // stopped before it starts, it sends nothing
      await assertRejects(
        () => sendFile(address, 3, path, { signal: stop.signal }),
        Error,
        "told to stop",
      );
      await assertRejects(() => router.receive(), Error, "would have to wait");
    } finally {
      await router.close();
    }
  });
});

Deno.test("file sender: a master gone mid-transfer fails the transfer, not the sender", async () => {
  // a master restarted while it asks: the chunks wait to be sent, in vain; the sender used to
  // throw the socket's own error, which stopped piw-slave rather than starting its session again
  await withFile(async (path) => {
    const router = new Router({ receiveTimeout: 10_000 });
    const address = await router.bind("tcp://127.0.0.1:0");
    const sending = sendFile(address, 5, path);
    const [peer] = await router.receive();
    for (let i = 0; i < 32; i++) await router.send([peer!, "FETCH", String(i * 1000), "1000"]);
    await router.close();
    await assertRejects(() => sending, TransferError, `cannot send ${path}`);
  });
});
