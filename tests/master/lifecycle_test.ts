/**
 * piw-master's lifecycle through its command line: --help lists every option of the manual's
 * chapter 2.1, SIGTERM stops it cleanly, and a task that fails (here the Oracle, refusing a
 * superuser connection) brings the whole master down with a clear message and exit code 1; and
 * with its internal queues moved from inproc:// to ipc://, it builds as before.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { TOOLS } from "../../shared/flags.ts";
import { MasterRun, piwheelsDatabase, startFarm, startMaster } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { ROOT, run } from "../process.ts";

Deno.test("master: --help explains every option of the manual", async () => {
  const tool = TOOLS["piw-master"];
  const help = await run(
    Deno.execPath(),
    ["run", ...tool.flags, `${ROOT}/${tool.entry}`, "--help"],
    {
      env: { NO_COLOR: "1" },
    },
  );
  assertEquals(help.code, 0, help.stderr);
  for (
    const option of [
      "-h, --help",
      "--version",
      "-c, --configuration <FILE>",
      "-q, --quiet",
      "-v, --verbose",
      "-l, --log-file <FILE>",
      "-d, --dsn <DSN>",
      "-o, --output-path <PATH>",
      "--dev-mode",
      "--pypi-xmlrpc <URL>",
      "--pypi-simple <URL>",
      "--status-queue <ADDR>",
      "--control-queue <ADDR>",
      "--import-queue <ADDR>",
      "--log-queue <ADDR>",
      "--slave-queue <ADDR>",
      "--file-queue <ADDR>",
      "--web-queue <ADDR>",
      "--builds-queue <ADDR>",
      "--db-queue <ADDR>",
      "--fs-queue <ADDR>",
      "--stats-queue <ADDR>",
    ]
  ) {
    assertStringIncludes(help.stdout, option);
  }
  assertStringIncludes(help.stdout, "tcp://*:5555");
  assertStringIncludes(help.stdout, "ipc:///tmp/piw-status");
});

Deno.test("master: SIGTERM stops every task and the master exits 0", async () => {
  await using pypi = new FakePyPI();
  await using master = await startMaster({ pypiXmlrpc: pypi.xmlrpcUrl });
  master.process.kill("SIGTERM");
  const status = await master.status();
  assertEquals(status.code, 0, master.stderr);
  assertStringIncludes(master.stderr, "stopping: received SIGTERM");
  assert(!/did not stop in time/.test(master.stderr), master.stderr);
});

Deno.test("master: a task that fails brings the master down, saying why", async () => {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  const dir = await Deno.makeTempDir({ prefix: "piw-master-test-" });
  await using master = new MasterRun(dir, { pypiXmlrpc: pypi.xmlrpcUrl, dsn: db.superDsn });
  const status = await master.status();
  assertEquals(status.code, 1);
  assertStringIncludes(master.stderr, "cluster superuser");
  assertStringIncludes(master.stderr, "stopped after a failure");
});

Deno.test("master: the internal queues moved to ipc:// work as on inproc://", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-queues-test-" });
  try {
    const queues = ["web", "builds", "db", "fs", "stats"];
    await using farm = await startFarm({
      args: queues.flatMap((q) => [`--${q}-queue`, `ipc://${dir}/${q}`]),
    });
    const { pypi, master } = farm;
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
    await slave.hello();
    await pypi.release("moved-queues", "1.0");
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["moved-queues", "1.0"] });
    const wheel = makeWheel("moved-queues", "1.0");
    assertEquals(await slave.deliver([wheel]), { msg: "DONE" });
    await master.waitForFile("simple/moved-queues/index.html", wheel.filename);
    // each task may reach the queues it uses (a task denied one used to fail or retry forever)
    assertEquals(master.stderr.match(/.*Requires .* access.*/g), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
