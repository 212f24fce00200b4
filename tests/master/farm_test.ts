/**
 * piw-master end to end: the real master (subprocess, shipped flags) on real PostgreSQL, a fake
 * PyPI publishing a release, a test slave speaking WIRE.md over our ZeroMQ, and the real pip
 * fetching the wheel from the index the master wrote.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { piwheelsDatabase, startMaster } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";

Deno.test("master: a release on PyPI is built by a slave and published for pip", async () => {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  await using master = await startMaster({
    pypiXmlrpc: pypi.xmlrpcUrl,
    pypiSimple: pypi.simpleUrl,
    dsn: db.userDsn,
  });
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  const ack = await slave.hello();
  assertEquals(ack.msg, "ACK");
  assertEquals(ack.msg === "ACK" && ack.data[1], pypi.simpleUrl);

  await pypi.release("Tiny.Pkg", "1.0", { requiresPython: ">=3.7" });
  const reply = await slave.request("IDLE");
  assertEquals(reply, { msg: "BUILD", data: ["Tiny.Pkg", "1.0"] });
  const wheel = makeWheel("Tiny.Pkg", "1.0", { requiresPython: ">=3.7" });
  assertEquals(await slave.deliver([wheel]), { msg: "DONE" });

  const page = await master.waitForFile("simple/tiny-pkg/index.html", wheel.filename);
  assertStringIncludes(page, `${wheel.filename}#sha256=${wheel.sha256}`);
  assertStringIncludes(page, 'data-requires-python="&gt;=3.7"');
  assertStringIncludes(page, "data-core-metadata=");
  const metadata = await Deno.readTextFile(
    `${master.output}/simple/tiny-pkg/${wheel.filename}.metadata`,
  );
  assertStringIncludes(metadata, "Requires-Python: >=3.7");
  assertEquals(
    await Deno.readFile(`${master.output}/simple/tiny-pkg/${wheel.filename}`),
    wheel.bytes,
  );
  await master.waitForFile("simple/Tiny.Pkg/index.html", `../tiny-pkg/${wheel.filename}`);
  const project = await master.waitForFile("project/tiny-pkg/index.html", "built in 1s");
  assertStringIncludes(project, "Tiny.Pkg");

  assertEquals((await master.stop()).code, 0);
  assert(!master.stderr.includes("error:"), master.stderr);
});
