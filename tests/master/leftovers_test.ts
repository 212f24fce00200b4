/**
 * What a transfer leaves behind: a master killed with SIGKILL mid-transfer leaves a temporary
 * file, which the restarted master removes before it takes any file; a transfer that finished
 * but was never followed by SENT is abandoned (its temporary file deleted) once its sender has
 * been idle long enough (10 s in `--dev-mode`); a wheel put in place by a master killed before it
 * logged the build is replaced by the next build of its version, not taken for another's file.
 */

import { assertEquals } from "../assert.ts";
import { eventually, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { Duration } from "../../shared/duration.ts";
import { decodeMessage, encodeNamedMessage, mrChase, reverse } from "../../shared/protocols.ts";
import { Request } from "../../shared/zmq/mod.ts";
import { lockTable, queryDb, waitsForLock } from "../db.ts";

const decoder = new TextDecoder();

function temporaries(output: string): string[] {
  return [...Deno.readDirSync(`${output}/simple`)].map((e) => e.name)
    .filter((n) => n.startsWith(".transfer-"));
}

Deno.test("master: transfer temporaries never outlive a kill -9 or a sender that stops", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("half-sent", "1.0");
  await pypi.release("never-sent", "1.0");
  await pypi.release("woken-up", "1.0");

  const building = async (label: string) => {
    const s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", label);
    assertEquals((await s.hello()).msg, "ACK");
    const reply = await s.request("IDLE");
    assertEquals(reply.msg, "BUILD");
    const [pkg] = reply.msg === "BUILD" ? reply.data : [""];
    const wheel = makeWheel(pkg, "1.0", { padding: 2_000_000 }); // over IN_MEMORY: a temporary file
    const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
    assertEquals((await s.request("BUILT", [true, Duration.ZERO, "", files])).msg, "SEND");
    return { s, wheel };
  };

  await t.step("a finished transfer never followed by SENT is abandoned", async () => {
    const { s, wheel } = await building("never-says-sent");
    await s.transfer(wheel.bytes); // every byte arrives, DONE; then the slave goes quiet
    await eventually(
      "the file is written",
      () => Promise.resolve(temporaries(master.output).length === 1),
    );
    await master.waitForLog(/abandoning .* from slave \d+: idle for \d+ ms/, 30_000);
    // logged as it starts: the file goes once the writing thread has closed it
    await eventually(
      "the temporary file is deleted",
      () => Promise.resolve(temporaries(master.output).length === 0),
    );
    await s.close();
  });

  await t.step("a sender gone silent is asked again once per stall, then abandoned", async () => {
    const { s } = await building("goes-silent");
    await s.files.send(["HELLO", String(s.slaveId)]);
    const fetches: number[] = [];
    const listening = (async () => {
      for (;;) {
        const [command, offset] = (await s.files.receive()).map((f) => decoder.decode(f));
        if (command === "FETCH") fetches.push(Number(offset));
      }
    })().catch(() => {}); // ends when the socket is closed
    await eventually("the first FETCHes arrive", () => Promise.resolve(fetches.length > 0));
    const first = new Set(fetches).size;
    await master.waitForLog(new RegExp(`abandoning .* from slave ${s.slaveId}: idle for`), 30_000);
    // 5 s without a CHUNK asks again for what is missing; the next time would be 5 s later,
    // after the sender is abandoned (10 s): one round of FETCHes more, not one a second
    assertEquals(fetches.length, 2 * first, `FETCHes: ${fetches.join(" ")}`);
    await s.close();
    await listening;
  });

  await t.step(
    "a sender that wakes after it was given up is told DONE, then asked again",
    async () => {
      // a slave paused past ABANDON_MS: told nothing, a deployed slave says HELLO every 5 s for
      // ever, and the build waits for its SENT until the slave's timeout
      const { s, wheel } = await building("wakes-up");
      await s.files.send(["HELLO", String(s.slaveId)]);
      const [first] = await s.files.receive();
      assertEquals(decoder.decode(first!), "FETCH");
      await master.waitForLog(
        new RegExp(`abandoning .* from slave ${s.slaveId}: idle for`),
        30_000,
      );
      // one HELLO, as a slave that wakes says it: a HELLO for each FETCH read, as this test
      // said them, left HELLOs on the way after the DONE, and under load one of them took the
      // transfer asked for next before the connection that was to send it
      await s.files.send(["HELLO", String(s.slaveId)]);
      for (;;) { // the FETCHes asked before it was given up, then the answer to the HELLO
        const [command] = await s.files.receive();
        if (decoder.decode(command!) === "DONE") break;
      }
      assertEquals(await s.request("SENT"), { msg: "SEND", data: wheel.filename });
      await s.transfer(wheel.bytes);
      assertEquals(await s.request("SENT"), { msg: "DONE" });
      await master.waitForFile(
        `simple/${wheel.tags[0]!.replaceAll("_", "-")}/index.html`,
        wheel.sha256,
      );
      await s.close();
    },
  );

  await t.step("a kill -9 mid-transfer leaves a temporary; the next start removes it", async () => {
    const { s, wheel } = await building("half-sender");
    await s.files.send(["HELLO", String(s.slaveId)]);
    const [, offset] = await s.files.receive();
    await s.files.send(["CHUNK", offset!, wheel.bytes.slice(0, 65536)]);
    await eventually(
      "the transfer is under way",
      () => Promise.resolve(temporaries(master.output).length === 1),
    );
    const left = temporaries(master.output);
    master.process.kill("SIGKILL");
    await master.status();
    await s.close();
    assertEquals(temporaries(master.output), left, "SIGKILL left it behind");
    // the same database and output, as an operator restarting the service
    await using again = await farm.restart();
    await again.waitForLog(/removed 1 temporary file\(s\) of earlier transfers/);
    assertEquals(temporaries(master.output), []);
  });
});

Deno.test("master: a wheel placed but never logged (a kill -9 between the two) is replaced by the next build", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("placed-unlogged", "1.0");
  await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "after-the-kill");
  assertEquals((await s.hello()).msg, "ACK");
  assertEquals(await s.request("IDLE"), { msg: "BUILD", data: ["placed-unlogged", "1.0"] });
  // what a master killed between putting the files in place and logging the build leaves
  const left = makeWheel("placed-unlogged", "1.0", { padding: 100 });
  const wheel = makeWheel("placed-unlogged", "1.0", { padding: 200 });
  const dir = `${master.output}/simple/placed-unlogged`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/${left.filename}`, left.bytes);
  assertEquals(await s.deliver([wheel]), { msg: "DONE" });
  await master.waitForFile("simple/placed-unlogged/index.html", wheel.sha256);
  assertEquals(await Deno.readFile(`${dir}/${wheel.filename}`), wheel.bytes);
  await master.waitForLog(/replaced .*placed_unlogged-1\.0-py3-none-any\.whl, which no build held/);
});

Deno.test("master: a kill -9 between a COMMIT that replaced a file and its build's logging: the listed copy comes back", async () => {
  // What a COMMIT replaced was kept as a transfer temporary, which the next start deleted: the
  // new copy stayed in place while the database (and the pages) gave the old one's hash, and
  // pip refused the file. The import is held before its logging by a lock on `output`.
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  await slave.hello(); // cp311 becomes a build ABI
  pypi.binaryRelease("replaced", "2.0");
  await master.waitForFile("project/replaced/index.html", "skipped: binary only");
  const req = new Request({ receiveTimeout: 20_000, linger: 0 });
  req.connect(master.importQueue);
  const tool = reverse(mrChase);
  const send = async (msg: string, data?: unknown) =>
    await req.send(encodeNamedMessage(tool, msg, data));
  const answer = async () => decodeMessage(tool, (await req.receive())[0]!);
  const wheelOf = (padding: number) =>
    makeWheel("replaced", "2.0", { py: "cp311", abi: "cp311", platform: "linux_armv7l", padding });
  /** IMPORT of `w`, sent as slave 0, up to its SENT (whose answer is left to the caller). */
  const importWheel = async (w: ReturnType<typeof wheelOf>) => {
    const files = [[w.filename, w.bytes.length, w.sha256, ...w.tags, {}]];
    await send("IMPORT", ["cp311", "replaced", "2.0", true, Duration.ZERO, "", files]);
    assertEquals(await answer(), { msg: "SEND", data: w.filename });
    await using sender = new TestSlave(master.slaveQueue, master.fileQueue);
    sender.slaveId = 0;
    await sender.transfer(w.bytes);
    await send("SENT");
  };
  const listed = wheelOf(100);
  await importWheel(listed);
  assertEquals(await answer(), { msg: "DONE" });
  await master.waitForFile("simple/replaced/index.html", listed.sha256);
  const path = `${master.output}/simple/replaced/${listed.filename}`;
  const metadata = await Deno.readFile(`${path}.metadata`);

  {
    await using _lock = await lockTable(db.superDsn, "output", "ACCESS EXCLUSIVE");
    const again = wheelOf(200);
    assertEquals(again.filename, listed.filename);
    await importWheel(again);
    await eventually("its logging waits on the lock", () => waitsForLock(db.superDsn, "log_build"));
    master.process.kill("SIGKILL");
    await master.status();
    req.close();
    // its session would carry on once the lock goes, and commit: as if it never got there
    await queryDb(
      db.superDsn,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND query LIKE '%log_build%'`,
    );
    assertEquals(await Deno.readFile(path), again.bytes, "the kill came after the COMMIT");
  }

  await using restarted = await farm.restart();
  await restarted.waitForLog(/put back replaced\/replaced-2\.0-cp311-cp311-linux_armv7l\.whl/);
  assertEquals(await Deno.readFile(path), listed.bytes);
  assertEquals(await Deno.readFile(`${path}.metadata`), metadata);
  const left = [...Deno.readDirSync(`${master.output}/simple`)].filter((e) => e.isFile);
  assertEquals(left.map((e) => e.name).filter((n) => n.startsWith(".")), []);
});
