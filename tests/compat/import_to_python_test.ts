/**
 * Our piw-import (subprocess, the flags it ships with) against a master that is not ours:
 * `tests/fixtures/python_mr_chase.py`, Mr. Chase and the File Juggler written in Python from
 * PIWHEELS-0.16.md with Debian's python3-zmq (libzmq) and python3-cbor2. It checks IMPORT as the
 * deployed master would (8 items, their types, the duration as tag 2001, each file's 9), pulls
 * each file over the file queue as slave 0 and checks its SHA-256; and when it never answers,
 * our tool gives up after its --timeout, naming the address.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort } from "../farm.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PythonPeer, runTool } from "../process.ts";

/** What python_mr_chase.py reports of a served import. */
interface Chased {
  import?: {
    slave_id: number;
    package: string;
    version: string;
    abi: string;
    status: boolean;
    duration: number;
    output: string;
    files: unknown[][];
  };
  received?: { filename: string; size: number; sha256: string; fetches: number }[];
  said?: string[];
  error?: string;
}

Deno.test("compat: our piw-import imports into a Python Mr. Chase (libzmq, cbor2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-python-chase-" });
  const importQueue = `ipc://${dir}/import`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  const chase = new PythonPeer("python_mr_chase.py", [importQueue, fileQueue, "serve"]);
  try {
    assertEquals(await chase.line(), { ready: true });
    // about 400 kB: seven 64 KiB chunks; and a pure wheel of one chunk beside it
    const big = makeWheel("Py.Chased", "3.1", {
      py: "cp311",
      abi: "cp311",
      platform: "linux_armv7l",
      padding: 400_000,
    });
    const pure = makeWheel("Py.Chased", "3.1");
    for (const w of [big, pure]) await Deno.writeFile(`${dir}/${w.filename}`, w.bytes);
    await Deno.writeTextFile(`${dir}/build.log`, "built by hand\n");
    const r = await runTool("piw-import", [
      ...["--import-queue", importQueue, "--file-queue", fileQueue, "-y"],
      ...["--duration", "1m30s", "--output", `${dir}/build.log`],
      `${dir}/${big.filename}`,
      `${dir}/${pure.filename}`,
    ]);
    const result = await chase.line<Chased>();
    assertEquals(result.error, undefined, `${JSON.stringify(result)}\n${r.stderr}`);
    assertEquals(r.code, 0, r.stderr);

    assertEquals(result.import, {
      slave_id: 0,
      package: "Py.Chased",
      version: "3.1",
      abi: "cp311",
      status: true,
      duration: 90,
      output: "built by hand\n",
      files: [big, pure].map((w) => [w.filename, w.bytes.length, w.sha256, ...w.tags, {}]),
    });
    // sent in the deployed master's order (by file name), each checked by its SHA-256
    const expected = [big, pure].sort((a, b) => a.filename < b.filename ? -1 : 1);
    assertEquals(result.said, ["SEND", "SEND", "DONE"]);
    assertEquals(
      result.received!.map(({ filename, size, sha256 }) => ({ filename, size, sha256 })),
      expected.map((w) => ({ filename: w.filename, size: w.bytes.length, sha256: w.sha256 })),
    );
    assertEquals(result.received!.find((f) => f.filename === big.filename)!.fetches, 7);
    assertStringIncludes(r.stderr, "imported Py.Chased 3.1: 2 file(s)");
  } finally {
    await chase.finish();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compat: our piw-import gives up on a Python Mr. Chase that never answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-python-chase-" });
  const importQueue = `ipc://${dir}/import`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  const chase = new PythonPeer("python_mr_chase.py", [importQueue, fileQueue, "silent"]);
  try {
    assertEquals(await chase.line(), { ready: true });
    const wheel = makeWheel("py-unheard", "1.0", { py: "cp311", abi: "cp311" });
    await Deno.writeFile(`${dir}/${wheel.filename}`, wheel.bytes);
    const r = await runTool("piw-import", [
      ...["--import-queue", importQueue, "--file-queue", fileQueue, "-y", "--timeout", "2s"],
      `${dir}/${wheel.filename}`,
    ]);
    // the request arrived: the silence is the master's, not a queue nobody listens on
    assertEquals(await chase.line(), { received: "IMPORT" });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `no answer to IMPORT from ${importQueue} within 2s`);
  } finally {
    await chase.finish();
    await Deno.remove(dir, { recursive: true });
  }
});
