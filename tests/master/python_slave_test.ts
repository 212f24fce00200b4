/**
 * The real piw-master with a slave that is not ours: `tests/fixtures/python_slave.py`, a build
 * slave written in Python from WIRE.md with Debian's python3-zmq (libzmq) and python3-cbor2, as
 * the Python piw-slave is built. It is given the build, sends its wheel in the chunks the master
 * asks for, and the master publishes it.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm } from "../farm.ts";
import { python } from "../process.ts";
import { TransferState } from "../../shared/states.ts";

Deno.test("master: a Python slave speaking WIRE.md through libzmq and cbor2 builds for it", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("Py.Slave-Pkg", "2.0");
  const wheel = `${master.dir}/sent.whl`;
  // PyPI spells it Py.Slave-Pkg; the master asks for the project by its normal form
  const out = await python("python_slave.py", [
    master.slaveQueue,
    master.fileQueue,
    "py-slave-pkg",
    "2.0",
    wheel,
  ]);
  const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  assertEquals(out.code, 0, `${out.stdout}${out.stderr}\nmaster:\n${master.stderr}`);

  assertEquals(result.index_url, pypi.simpleUrl);
  assertEquals(result.said.slice(0, 1), ["ACK"]);
  assertEquals(result.said.slice(-3), ["BUILD", "SEND", "DONE"]);
  // every chunk of the master's size asked for (a chunk asked twice is allowed, none left out):
  // deployed slaves serve any length, so the master asks for as much as it likes
  const chunks = Math.ceil(result.filesize / TransferState.CHUNK_SIZE);
  assertEquals(result.fetches >= chunks, true, `${result.fetches} of ${chunks}`);
  const page = await master.waitForFile("simple/py-slave-pkg/index.html", result.filename);
  assertStringIncludes(page, `${result.filename}#sha256=${result.sha256}`);
  assertEquals(
    await Deno.readFile(`${master.output}/simple/py-slave-pkg/${result.filename}`),
    await Deno.readFile(wheel),
  );
  // the core metadata was read from the wheel and published beside it (PEP 658)
  const metadata = await Deno.readTextFile(
    `${master.output}/simple/py-slave-pkg/${result.filename}.metadata`,
  );
  assertStringIncludes(metadata, "Name: py-slave-pkg");
  // its dependencies as it said them, the libraries no package owns too
  const json = JSON.parse(
    await master.waitForFile("project/py-slave-pkg/json/index.json", result.filename),
  );
  const file = json.releases["2.0"].files.find((f: { filename: string }) =>
    f.filename === result.filename
  );
  assertEquals(file.dependencies, {
    apt: ["libc6"],
    "": ["/usr/lib/arm-linux-gnueabihf/libfoo.so.1"],
  });
  await master.waitForFile(
    "project/py-slave-pkg/index.html",
    "apt: libc6; no package: /usr/lib/arm-linux-gnueabihf/libfoo.so.1",
  );
  // and its BYE was understood
  await master.waitForLog(new RegExp(`slave ${result.slave_id} \\(python-slave\\) said goodbye`));
});
