/**
 * The real piw-slave against a master that is not ours: `tests/fixtures/python_master.py`, the
 * slave-facing queues written in Python from WIRE.md with Debian's python3-zmq (libzmq) and
 * python3-cbor2, as the Python piwheels master is built. It takes the slave through HELLO,
 * SLEEP, BUILD, the file transfer (many chunks), DONE and DIE, and checks what arrives.
 */

import { assertEquals, assertMatch } from "../assert.ts";
import { freePort, type SlaveSetup, startSlave } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { python, reap } from "../process.ts";
import { encodeHex, sha256File } from "../../shared/hash.ts";

/** Where the Python master binds, and how the slave is told where it is. */
interface Placement {
  slaveQueue: string;
  fileQueue: string;
  master: SlaveSetup["master"];
}

Deno.test("slave: builds for a Python master speaking WIRE.md through libzmq and cbor2", async () => {
  const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  await buildForPython({ slaveQueue, fileQueue, master: { slaveQueue, fileQueue } });
});

Deno.test("slave: -m HOST finds the master on the manual's ports, 5555 and 5556", async () => {
  await buildForPython({
    slaveQueue: "tcp://127.0.0.1:5555",
    fileQueue: "tcp://127.0.0.1:5556",
    master: { host: "127.0.0.1" },
  });
});

async function buildForPython(placement: Placement): Promise<void> {
  await using pypi = new FakePyPI();
  // a module of 1.2 MB of hex: a wheel of about 650 KB, so about ten 64 KiB chunks
  const random = crypto.getRandomValues(new Uint8Array(65536));
  const hex = encodeHex(random).repeat(5);
  await pypi.release("py-peer", "1.0", {
    files: { "py_peer.py": `VERSION = "1.0"\nDATA = "${hex}${hex.slice(0, 40_000)}"\n` },
  });
  const dir = await Deno.makeTempDir({ prefix: "piw-python-master-" });
  try {
    const wheel = `${dir}/received.whl`;
    // the peer runs to the end of its script while the slave works for it
    const master = python("python_master.py", [
      placement.slaveQueue,
      placement.fileQueue,
      pypi.simpleUrl,
      "py-peer",
      "1.0",
      wheel,
    ]);
    await using slave = await startSlave({ master: placement.master, label: "for-python" });
    const out = await master;
    const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assertEquals(out.code, 0, `${out.stdout}${out.stderr}\nslave:\n${slave.stderr}`);

    // HELLO: the manual's default build timeout as a duration (tag 2001), the interpreter's tags
    assertEquals(result.hello.timeout, 3 * 3600);
    assertEquals(result.hello.label, "for-python");
    assertMatch(result.hello.py_version, /^3\d+$/);
    assertEquals(result.hello.abi, `cp${result.hello.py_version}`);
    assertMatch(result.hello.platform, /^linux_/);
    // SLEEP: the slave waited (`--sleep 1s` in tests) before its next IDLE
    assertEquals(result.slept >= 0.9, true, `IDLE again after ${result.slept} s`);
    // BUILT, and the wheel as it arrived through FETCH/CHUNK, checked there against BUILT's hash
    assertEquals(result.built.status, true);
    assertEquals(result.built.filename, "py_peer-1.0-py3-none-any.whl");
    assertEquals(result.built.tags, ["py_peer", "1.0", "py3", "none", "any"]);
    assertEquals(result.built.dependencies, {});
    assertMatch(result.built.output, /Successfully built py-peer|Created wheel for py-peer/);
    assertEquals(result.sha256, await sha256File(wheel));
    assertEquals(result.built.filesize, (await Deno.stat(wheel)).size);
    assertEquals(result.fetches, Math.ceil(result.built.filesize / 65536));
    assertEquals(result.fetches > 5, true, `only ${result.fetches} chunks`);

    // told DIE, the slave said BYE (the peer waited for it) and ends by itself, cleanly
    const status = await reap(slave.process, { graceMs: 30_000 });
    assertEquals(status.code, 0, slave.stderr);
    assertMatch(slave.stderr, /the master said DIE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
