import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { stageDurable } from "./atomic_write.ts";
import { awaitFileWriterPort, FileWriter, type FileWriterPort } from "./file_writer.ts";

/**
 * The writing thread as the master starts it (its own Worker, a port of one channel each), with
 * this thread in the File Juggler's place.
 */
function startWriter(): { writer: FileWriter; thread: Worker } {
  const thread = new Worker(new URL("./workers/file_writer.ts", import.meta.url), {
    type: "module",
  });
  const { port1, port2 } = new MessageChannel();
  thread.postMessage({ type: "piwheels.file_writer", port: port1 } satisfies FileWriterPort, [
    port1,
  ]);
  awaitFileWriterPort();
  const handOver: FileWriterPort = { type: "piwheels.file_writer", port: port2 };
  globalThis.dispatchEvent(new MessageEvent("message", { data: handOver }));
  return { writer: new FileWriter(() => {}), thread };
}

Deno.test("the writing thread writes a new file whole and syncs paths; what fails rejects", async () => {
  const dir = await Deno.makeTempDir();
  const { writer, thread } = startWriter();
  try {
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    await writer.write(`${dir}/wheel`, data);
    assertEquals(await Deno.readFile(`${dir}/wheel`), data);
    assertEquals(Deno.statSync(`${dir}/wheel`).mode! & 0o777, 0o644 & ~Deno.umask());
    // a name taken is not written over
    const error = await assertRejects(() => writer.write(`${dir}/wheel`, new Uint8Array(3)));
    assert(String(error).includes("EEXIST"), String(error));
    assertEquals(await Deno.readFile(`${dir}/wheel`), data);
    await writer.sync(dir);
    await writer.sync(`${dir}/wheel`);
    await assertRejects(() => writer.sync(`${dir}/missing`), Error, "ENOENT");
    // staged through it: left under a temporary name, or nothing left when the write fails
    const temp = await stageDurable(`${dir}/wheel.metadata`, data, (p, d) => writer.write(p, d));
    assertEquals(await Deno.readFile(temp), data);
    await assertRejects(() =>
      stageDurable(`${dir}/no-such-dir/x.metadata`, data, (p, d) => writer.write(p, d))
    );
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["wheel", temp.slice(dir.length + 1)].sort(),
    );
  } finally {
    writer.close();
    thread.terminate();
    await Deno.remove(dir, { recursive: true });
  }
});
