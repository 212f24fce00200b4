/**
 * The real piw-slave against a master that is not ours: `tests/fixtures/python_master.py`, the
 * slave-facing queues written in Python from WIRE.md with Debian's python3-zmq (libzmq) and
 * python3-cbor2, as the Python piwheels master is built. It takes the slave through HELLO,
 * SLEEP, BUILD, the file transfer (many chunks), DONE and DIE, and checks what arrives; and
 * through a reply WIRE.md does not allow, after which the slave must start again with HELLO.
 */

import { assertEquals, assertMatch } from "../assert.ts";
import { freePort, type SlaveSetup, startSlave } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { python, reap } from "../process.ts";
import { encodeHex, sha256File } from "../../shared/hash.ts";
import { writeCertificates } from "../../shared/curve_keys.ts";

/** Where the Python master binds, and how the slave is told where it is. */
interface Placement {
  slaveQueue: string;
  fileQueue: string;
  master: SlaveSetup["master"];
  /** CURVE: the Python master's secret certificate, and the slave's options for it. */
  curve?: { masterSecret: string; slaveArgs: string[] };
}

/**
 * A loopback address of this test's own, for the manual's fixed ports: all of 127.0.0.0/8 is
 * loopback, so no other master or slave on the machine (another checkout's run of this test, a
 * stray `piw-slave -m 127.0.0.1`) binds or connects to this one's 5555 and 5556.
 */
function ownLoopback(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `127.${1 + (a! % 254)}.${b}.${1 + (c! % 254)}`;
}

Deno.test("slave: builds for a Python master speaking WIRE.md through libzmq and cbor2", async () => {
  const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  await buildForPython({ slaveQueue, fileQueue, master: { slaveQueue, fileQueue } });
});

Deno.test("slave: builds for a Python master whose queues are libzmq CURVE servers", async () => {
  const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  const keys = await Deno.makeTempDir({ prefix: "piw-python-curve-" });
  try {
    const master = await writeCertificates(keys, "master");
    const slave = await writeCertificates(keys, "slave");
    const slaveArgs = ["--curve-key", slave.secretFile, "--curve-master-key", master.publicFile];
    const log = await buildForPython({
      slaveQueue,
      fileQueue,
      master: { slaveQueue, fileQueue },
      curve: { masterSecret: master.secretFile, slaveArgs },
    });
    assertMatch(log, /connected to the master as slave 7;/);
  } finally {
    await Deno.remove(keys, { recursive: true });
  }
});

Deno.test("slave: -m HOST finds the master on the manual's ports, 5555 and 5556", async () => {
  const host = ownLoopback();
  await buildForPython({
    slaveQueue: `tcp://${host}:5555`,
    fileQueue: `tcp://${host}:5556`,
    master: { host },
  });
});

Deno.test("slave: a reply breaking WIRE.md is logged; the slave says HELLO again and builds", async () => {
  const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  const slave = await buildForPython(
    { slaveQueue, fileQueue, master: { slaveQueue, fileQueue } },
    "bad-reply",
  );
  assertMatch(
    slave,
    /warning: the master's reply to IDLE breaks WIRE\.md \(slave driver: .*BUILD.*\); starting again/,
  );
  assertEquals(slave.match(/connected to the master as slave 7;/g)?.length, 2, slave);
});

/**
 * One build for the Python master, in its `build` scenario or another that ends as it does;
 * returns what the slave logged.
 */
async function buildForPython(placement: Placement, scenario = "build"): Promise<string> {
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
      "for-python",
      scenario,
      ...(placement.curve ? [placement.curve.masterSecret] : []),
    ]);
    await using slave = await startSlave({
      master: placement.master,
      label: "for-python",
      args: placement.curve?.slaveArgs,
    });
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
    // a new connection said HELLO after a bad reply, and only then
    assertEquals(result.rehello, scenario === "bad-reply");
    return slave.stderr;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
