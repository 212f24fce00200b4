/**
 * piw-master end to end: the real master (subprocess, shipped flags) on real PostgreSQL, a fake
 * PyPI publishing a release, a test slave speaking WIRE.md over our ZeroMQ, and the real pip
 * fetching the wheel from the index the master wrote.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { Duration } from "../../shared/duration.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PYTHON, run } from "../process.ts";

Deno.test("master: a release on PyPI is built by a slave and published for pip", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  const ack = await slave.hello();
  assertEquals(ack.msg, "ACK");
  assertEquals(ack.msg === "ACK" && ack.data[1], pypi.simpleUrl);

  await pypi.release("Tiny.Pkg", "1.0", { requiresPython: ">=3.7" });
  const reply = await slave.request("IDLE");
  const handedOut = performance.now();
  // the project is known by its normal form (PEP 503), as piwheels does
  assertEquals(reply, { msg: "BUILD", data: ["tiny-pkg", "1.0"] });
  const wheel = makeWheel("Tiny.Pkg", "1.0", { requiresPython: ">=3.7" });
  // what the build took, as a slave says it: no longer than since the master handed it out
  const took = Duration.fromMillis(Math.floor(performance.now() - handedOut));
  assertEquals(await slave.deliver([wheel], took), { msg: "DONE" });

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
  const project = await master.waitForFile("project/tiny-pkg/index.html", `built in ${took}`);
  assertStringIncludes(project, "Tiny.Pkg");

  // the real pip, against the index as a web server serves it, checks the hash
  await using web = serveDirectory(master.output);
  const into = `${master.dir}/downloads`;
  const pip = await run(PYTHON, [
    "-m",
    "pip",
    "download",
    "--no-deps",
    "--no-cache-dir",
    "--index-url",
    `http://127.0.0.1:${web.addr.port}/simple/`,
    "--dest",
    into,
    "tiny-pkg==1.0",
  ], { env: { PIP_DISABLE_PIP_VERSION_CHECK: "1", HOME: master.dir } });
  assertEquals(pip.code, 0, pip.stdout + pip.stderr);
  assertEquals(await Deno.readFile(`${into}/${wheel.filename}`), wheel.bytes);

  assertEquals((await master.stop()).code, 0);
  assert(!master.stderr.includes("error:"), master.stderr);
});
