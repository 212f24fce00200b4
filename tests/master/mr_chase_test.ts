/**
 * Mr. Chase over the import queue, spoken by test code as piw-import, piw-remove and
 * piw-rebuild will speak it: IMPORT (files sent as slave 0), REMOVE and REBUILD, with their
 * ERROR paths.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { Duration } from "../../shared/duration.ts";
import { sha256Hex } from "../../shared/hash.ts";
import {
  decodeMessage,
  encodeNamedMessage,
  type FileMessage,
  mrChase,
  reverse,
} from "../../shared/protocols.ts";
import { connect } from "../../shared/db/driver.ts";
import { logPath } from "../../master/scribe/log_path.ts";
import { Dealer, Request } from "../../shared/zmq/mod.ts";
import { queryDb } from "../db.ts";
import { eventually, type Farm, freePort, startFarm } from "../farm.ts";
import { ShiftedClock } from "../fixtures/clock.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { metricValue, parseMetrics } from "../fixtures/metrics.ts";
import { ImportQueue } from "../../tools/import_queue.ts";

const tool = reverse(mrChase);

Deno.test("master: Mr. Chase imports, removes and rebuilds, and says ERROR when it cannot", async (t) => {
  await using farm = await startFarm({ metrics: true });
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  await slave.hello(); // cp311 becomes a build ABI
  pypi.binaryRelease("imported", "2.0");
  await master.waitForFile("project/imported/index.html", "skipped: binary only");
  const req = new Request({ receiveTimeout: 20_000, linger: 0 });
  req.connect(master.importQueue);
  // deno-lint-ignore no-explicit-any
  const ask = async (msg: string, data?: any) => {
    await req.send(encodeNamedMessage(tool, msg, data));
    return decodeMessage(tool, (await req.receive())[0]!);
  };
  /** imported 2.0's wheel for cp311 (its bytes, not its name, differ by `padding`). */
  const armWheel = (padding?: number) =>
    makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform: "linux_armv7l", padding });
  /** IMPORT of `w` (and `more`) as a build of `version`, sent as slave 0; the last SENT's reply. */
  const importWheel = async (
    version: string,
    w: TestWheel,
    { duration = Duration.ZERO, output = "", dependencies = {}, more = [] as TestWheel[] } = {},
  ) => {
    const wheels = [w, ...more];
    const tuple = (x: TestWheel) => [x.filename, x.bytes.length, x.sha256, ...x.tags, dependencies];
    const files = wheels.map(tuple);
    let reply = await ask("IMPORT", ["cp311", "imported", version, true, duration, output, files]);
    assertEquals(reply, { msg: "SEND", data: w.filename });
    await using sender = new TestSlave(master.slaveQueue, master.fileQueue);
    sender.slaveId = 0;
    while (reply.msg === "SEND") {
      await sender.transfer(wheels.find((x) => x.filename === reply.data)!.bytes);
      reply = await ask("SENT");
    }
    return reply;
  };
  const wheel = armWheel();
  const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];

  await t.step("IMPORT errors: unknown package or version, a failed build, no files", async () => {
    const m1 = await ask("IMPORT", [null, "nonesuch", "1.0", true, Duration.ZERO, "", files]);
    assertEquals(m1.msg, "ERROR");
    assertStringIncludes(String(m1.data), "unknown package nonesuch");
    const m2 = await ask("IMPORT", ["cp311", "imported", "9.9", true, Duration.ZERO, "", files]);
    assertStringIncludes(String(m2.data), "unknown version 9.9");
    const m3 = await ask("IMPORT", ["cp311", "imported", "2.0", false, Duration.ZERO, "", files]);
    assertStringIncludes(String(m3.data), "failed build");
    const m4 = await ask("IMPORT", ["cp311", "imported", "2.0", true, Duration.ZERO, "", []]);
    assertStringIncludes(String(m4.data), "no files");
  });

  await t.step(
    "IMPORT: the file comes over the file queue as slave 0 and is published",
    async () => {
      const options = {
        duration: Duration.of({ seconds: 3 }),
        output: "made by hand",
        dependencies: { apt: ["libc6"] },
      };
      assertEquals(await importWheel("2.0", wheel, options), { msg: "DONE" });
      await master.waitForFile("simple/imported/index.html", wheel.sha256);
      const log = await master.waitForFile("project/imported/index.html", "libc6");
      assertStringIncludes(log, "sudo apt install libc6");
    },
  );

  await t.step(
    "IMPORT again: a file the version published is replaced by the new copy",
    async () => {
      const again = armWheel(5000);
      assertEquals(again.filename, wheel.filename);
      assertEquals(await importWheel("2.0", again), { msg: "DONE" });
      const page = await master.waitForFile("simple/imported/index.html", again.sha256);
      assert(!page.includes(wheel.sha256), "the old copy is no longer listed");
      assertEquals(
        await Deno.readFile(`${master.output}/simple/imported/${again.filename}`),
        again.bytes,
      );
    },
  );

  await t.step(
    "IMPORT of large wheels, more of them than the transfer budget: each one comes at once",
    async () => {
      // written and hashed on the File Juggler's writing thread; 72 MB in all, past the 64 MiB
      // that all transfers may have asked for together: what each CHUNK settled must be given
      // back (or the next transfer crawls, a FETCH per silence of 5 s), and counted
      const metric = async (name: string) =>
        await Deno.stat(master.metricsFile!).then(() => true, () => false)
          ? metricValue(await parseMetrics(master.metricsFile!), name)
          : undefined;
      const received = "piwheels_received_bytes_total";
      const budget = "piwheels_transfer_budget_used_bytes";
      // counted from a metrics file written after the step began, so that it has every byte of
      // the steps before (one written earlier missed the last of them now and then)
      const began = Date.now();
      let before: number | undefined;
      await eventually("the metrics are written", async () => {
        const written = await Deno.stat(master.metricsFile!).then((i) => i.mtime, () => null);
        if (!written || written.getTime() <= began) return false;
        before = await metric(received);
        return before !== undefined && await metric(budget) === 0;
      });
      let sent = 0;
      for (const padding of [24_000_000, 24_000_001, 24_000_002]) {
        const large = armWheel(padding);
        assertEquals(await importWheel("2.0", large), { msg: "DONE" });
        sent += large.bytes.length;
        assertEquals(
          await Deno.readFile(`${master.output}/simple/imported/${large.filename}`),
          large.bytes,
        );
      }
      await eventually(
        `${received} counts the ${sent} bytes, and the budget is free`,
        async () => {
          const [r, b] = [await metric(received), await metric(budget)];
          return r === before! + sent && b === 0;
        },
      );
    },
  );

  await t.step(
    "IMPORT of the published file and a new one: the one replaced, the other added",
    async () => {
      const again = armWheel(6000);
      const aarch64 = makeWheel("imported", "2.0", {
        py: "cp311",
        abi: "cp311",
        platform: "linux_aarch64",
      });
      assertEquals(await importWheel("2.0", again, { more: [aarch64] }), { msg: "DONE" });
      const page = await master.waitForFile("simple/imported/index.html", aarch64.sha256);
      assertStringIncludes(page, `${again.filename}#sha256=${again.sha256}`);
      for (const w of [again, aarch64]) {
        assertEquals(
          await Deno.readFile(`${master.output}/simple/imported/${w.filename}`),
          w.bytes,
        );
      }
      const left = [...Deno.readDirSync(`${master.output}/simple`)].map((e) => e.name);
      assertEquals(left.filter((n) => n.startsWith(".transfer-")), [], "no temporary file left");
    },
  );

  await t.step(
    "IMPORT again when the build cannot be logged: the published copy stays, whole",
    async () => {
      // the new copy was put over the published one before the build was logged: when logging
      // failed, the published copy was gone, and the database still gave its hash
      const published = armWheel(6000);
      const path = `${master.output}/simple/imported/${published.filename}`;
      const before = [await Deno.readFile(path), await Deno.readFile(`${path}.metadata`)];
      await queryDb(
        farm.db.superDsn,
        `CREATE FUNCTION refuse_builds() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'the database is having a bad day'; END $$`,
      );
      await queryDb(
        farm.db.superDsn,
        `CREATE TRIGGER refuse_builds BEFORE INSERT ON builds
           FOR EACH ROW EXECUTE FUNCTION refuse_builds()`,
      );
      try {
        const reply = await importWheel("2.0", armWheel(7000));
        assertEquals(reply.msg, "ERROR");
        assertStringIncludes(String(reply.data), "bad day");
      } finally {
        await queryDb(farm.db.superDsn, "DROP TRIGGER refuse_builds ON builds");
      }
      assertEquals([await Deno.readFile(path), await Deno.readFile(`${path}.metadata`)], before);
      const left = [...Deno.readDirSync(`${master.output}/simple`)].map((e) => e.name);
      assertEquals(left.filter((n) => n.startsWith(".transfer-")), [], "no temporary file left");
      // and the next import replaces it as before
      const next = armWheel(8000);
      assertEquals(await importWheel("2.0", next), { msg: "DONE" });
      assertEquals(await Deno.readFile(path), next.bytes);
    },
  );

  await t.step("IMPORT of another version's file: refused, and nothing of it is kept", async () => {
    pypi.binaryRelease("imported", "v2.0");
    await master.waitForFile("project/imported/index.html", "v2.0");
    // 2.0's file name (v2.0 is 2.0 by PEP 440): only the database knows it is 2.0's file; the
    // second attempt gets SEND only if the first one's file was let go
    const lying = armWheel(7000);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const reply = await importWheel("v2.0", lying);
      assertEquals(reply.msg, "ERROR", `attempt ${attempt}`);
      assertStringIncludes(String(reply.data), "is a file of imported 2.0, published already");
    }
    const published = await Deno.readFile(`${master.output}/simple/imported/${lying.filename}`);
    assert(sha256Hex(published) !== lying.sha256, "2.0's published file is untouched");
  });

  await t.step("REMOVE: an unknown version is an ERROR; a known one loses its files", async () => {
    const bad = await ask("REMOVE", ["imported", "9.9", ""]);
    assertEquals(bad.msg, "ERROR");
    assertEquals(await ask("REMOVE", ["imported", "2.0", "withdrawn by its author"]), {
      msg: "DONE",
    });
    await master.waitForFile("project/imported/index.html", "skipped: withdrawn by its author");
    let present = true;
    await Deno.stat(`${master.output}/simple/imported/${wheel.filename}`).catch(
      () => (present = false),
    );
    assertEquals(present, false);
    const page = await Deno.readTextFile(`${master.output}/simple/imported/index.html`);
    assertEquals(page.includes(wheel.filename), false);
  });

  await t.step("REBUILD: every part, an unknown package is an ERROR", async () => {
    assertEquals((await ask("REBUILD", ["PKGBOTH", "nonesuch"])).msg, "ERROR");
    assertEquals(await ask("REBUILD", ["HOME"]), { msg: "DONE" });
    assertEquals(await ask("REBUILD", ["SEARCH"]), { msg: "DONE" });
    assertEquals(await ask("REBUILD", ["PKGPROJ", "imported"]), { msg: "DONE" });
    await Deno.remove(`${master.output}/simple/imported/index.html`);
    assertEquals(await ask("REBUILD", ["PKGBOTH", null]), { msg: "DONE" });
    await master.waitForFile("simple/imported/index.html");
    await master.waitForFile("packages.json", '"imported"');
  });
  await req.close();
});

/** Runs `fn` on a farm whose master knows imported 2.0, binary only: imports alone publish it. */
async function withImported(fn: (farm: Farm) => Promise<void>): Promise<void> {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  await slave.hello(); // cp311 becomes a build ABI
  pypi.binaryRelease("imported", "2.0");
  await master.waitForFile("project/imported/index.html", "skipped: binary only");
  await fn(farm);
}

Deno.test("master: an import whose client goes away holds up no other", async () => {
  // a piw-import stopped with Ctrl-C while it sent its file: the next import was told "another
  // import is in progress" for 5 minutes
  await withImported(async (farm) => {
    const { master } = farm;
    const w = makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform: "linux_armv7l" });
    const files = [[w.filename, w.bytes.length, w.sha256, ...w.tags, {}]];
    const request = ["cp311", "imported", "2.0", true, Duration.ZERO, "", files];
    const clients = [0, 1].map(() => {
      const req = new Request({ receiveTimeout: 20_000, linger: 0 });
      req.connect(master.importQueue);
      return req;
    });
    const [gone, next] = clients as [Request, Request];
    try {
      const ask = async (req: Request) => {
        await req.send(encodeNamedMessage(tool, "IMPORT", request));
        return decodeMessage(tool, (await req.receive())[0]!);
      };
      assertEquals(await ask(gone), { msg: "SEND", data: w.filename });
      assertEquals((await ask(next)).msg, "ERROR", "one import at a time");
      await gone.close();
      await master.waitForLog(/the import of imported 2\.0 was given up: its client went away/);
      assertEquals(await ask(next), { msg: "SEND", data: w.filename });
    } finally {
      for (const req of clients) await req.close();
    }
  });
});

Deno.test("master: an import replaces only the builds whose files it brings again", async () => {
  // a second wheel imported for one ABI (another platform's) used to replace the first one's
  // build, deleting its files
  await withImported(async (farm) => {
    const { master } = farm;
    const req = new Request({ receiveTimeout: 20_000, linger: 0 });
    req.connect(master.importQueue);
    try {
      const importOne = async (w: TestWheel) => {
        const files = [[w.filename, w.bytes.length, w.sha256, ...w.tags, {}]];
        await req.send(
          encodeNamedMessage(tool, "IMPORT", [
            "cp311",
            "imported",
            "2.0",
            true,
            Duration.ZERO,
            "",
            files,
          ]),
        );
        assertEquals(decodeMessage(tool, (await req.receive())[0]!), {
          msg: "SEND",
          data: w.filename,
        });
        await using sender = new TestSlave(master.slaveQueue, master.fileQueue);
        sender.slaveId = 0;
        await sender.transfer(w.bytes);
        await req.send(encodeNamedMessage(tool, "SENT"));
        assertEquals(decodeMessage(tool, (await req.receive())[0]!), { msg: "DONE" });
        await master.waitForFile("simple/imported/index.html", w.sha256);
      };
      const wheel = (platform: string, padding?: number) =>
        makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform, padding });
      const builds = async () =>
        (await queryDb<{ f: string }>(
          farm.db.superDsn,
          "SELECT f.filename AS f FROM builds JOIN files AS f USING (build_id) ORDER BY build_id",
        )).map((r) => r.f);
      const onDisk = async (w: TestWheel) =>
        assertEquals(
          await Deno.readFile(`${master.output}/simple/imported/${w.filename}`),
          w.bytes,
        );

      const arm = wheel("linux_armv7l");
      const aarch64 = wheel("linux_aarch64");
      await importOne(arm);
      await importOne(aarch64);
      assertEquals(await builds(), [arm.filename, aarch64.filename]);
      for (const w of [arm, aarch64]) await onDisk(w);
      // the same name again is a re-import: it replaces the build that held it, and only that
      const again = wheel("linux_armv7l", 500);
      await importOne(again);
      assertEquals(await builds(), [aarch64.filename, again.filename]);
      for (const w of [again, aarch64]) await onDisk(w);
    } finally {
      await req.close();
    }
  });
});

Deno.test("master: an import queue others can reach is warned of at start", async () => {
  // piw-master --import-queue tcp://0.0.0.0:PORT started without a word, and any peer that
  // reached the port could add ABIs and versions, replace wheels, remove everything
  const open = `tcp://0.0.0.0:${freePort()}`;
  {
    await using farm = await startFarm({ args: ["--import-queue", open], abis: [] });
    await farm.master.waitForLog(
      new RegExp(
        `the import queue ${open.replaceAll(".", "\\.")} is not ipc:// nor a loopback ` +
          "address: whoever can reach it can change the farm",
      ),
    );
  }
  // on loopback, nothing is said: the line that follows is logged after it would have been
  const loopback = `tcp://127.0.0.1:${freePort()}`;
  await using farm = await startFarm({ args: ["--import-queue", loopback], abis: [] });
  await using queue = new ImportQueue(loopback);
  assertEquals((await queue.request("ABI", ["add", "cp311"])).msg, "ABIS");
  await farm.master.waitForLog(/mr_chase: cp311 is a build ABI now/);
  assert(!/is not ipc:\/\/ nor a loopback address/.test(farm.master.stderr), farm.master.stderr);
});

/** Imports `w` as imported 2.0's build for cp311 with `output` as its log; resolves to its id. */
async function importBuild(farm: Farm, w: TestWheel, output: string): Promise<number> {
  const { master } = farm;
  await using queue = new ImportQueue(master.importQueue);
  const files = [[w.filename, w.bytes.length, w.sha256, ...w.tags, {}] as FileMessage];
  const request = ["cp311", "imported", "2.0", true, Duration.ZERO, output, files] as const;
  assertEquals(await queue.request("IMPORT", [...request]), { msg: "SEND", data: w.filename });
  await using sender = new TestSlave(master.slaveQueue, master.fileQueue);
  sender.slaveId = 0;
  await sender.transfer(w.bytes);
  assertEquals(await queue.request("SENT"), { msg: "DONE" });
  const [row] = await queryDb<{ id: number }>(
    farm.db.superDsn,
    "SELECT b.build_id AS id FROM builds AS b JOIN files AS f USING (build_id) " +
      "WHERE f.filename = $1",
    [w.filename],
  );
  return row!.id;
}

Deno.test("master: RELOG is answered at once, and holds up no other request", async () => {
  // 40 copies of one build's id (a 60 MiB log) were written one after the other while the
  // import queue waited: another tool's REBUILD HOME waited 36 s, and 1000 would have waited
  // half an hour
  await withImported(async (farm) => {
    const { master } = farm;
    const w = makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform: "linux_armv7l" });
    const id = await importBuild(farm, w, "a log to write again");
    const log = `${master.output}/${logPath(id)}`;
    await master.waitForFile(logPath(id));
    await Deno.remove(log);
    await using relogger = new ImportQueue(master.importQueue);
    await using other = new ImportQueue(master.importQueue);
    // while no log can be read from the database, Mr. Chase answers all the same
    const db = await connect(farm.db.superDsn);
    try {
      await db.transaction(async (tx) => {
        await tx.query("LOCK TABLE output IN ACCESS EXCLUSIVE MODE");
        assertEquals(await relogger.request("RELOG", Array(40).fill(id)), { msg: "DONE" });
        assertEquals(await other.request("REBUILD", ["HOME"]), { msg: "DONE" });
        const unknown = await other.request("RELOG", [id, id + 1000]);
        assertEquals(unknown, { msg: "ERROR", data: `unknown build(s) ${id + 1000}` });
        assert(!await Deno.stat(log).then(() => true, () => false), "not written yet");
      });
    } finally {
      await db.close();
    }
    await master.waitForFile(logPath(id), "");
    await master.waitForLog(/the build logs asked for are written again/);
    // once each, however often asked for
    const asked = [...master.stderr.matchAll(/writing (\d+) build log\(s\) again/g)];
    assertEquals(asked.map((m) => m[1]), ["1", "0"]);
  });
});

Deno.test("master: RELOG of 1000 ids asks the database once which are builds", async () => {
  // it asked one query per id (LISTBUILDS after id - 1, 1), each queued behind the Oracles:
  // piw-audit asks for 1000 at a time
  await withImported(async (farm) => {
    const { master } = farm;
    const w = makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform: "linux_armv7l" });
    const id = await importBuild(farm, w, "a log to write again");
    await master.waitForFile(logPath(id));
    const queries = (name: string) =>
      master.stderr.match(new RegExp(`\\b${name} took [0-9.]+ ms`, "g"))?.length ?? 0;
    const [listed, before] = [queries("LISTBUILDS"), queries("BUILDIDS")];
    await using queue = new ImportQueue(master.importQueue);
    // the known build among 999 unknown ids, 0 and the largest a count may be among them
    const others = [0, ...Array.from({ length: 997 }, (_, i) => id + 1 + i), 2 ** 53 - 1];
    const ids = [...others.slice(0, 500), id, ...others.slice(500)];
    assertEquals(ids.length, 1000);
    assertEquals(await queue.request("RELOG", ids), {
      msg: "ERROR",
      data: `unknown build(s) ${others.join(", ")}`,
    });
    await master.waitForLog(/writing 1 build log\(s\) again/);
    await master.waitForLog(/the build logs asked for are written again/);
    assertEquals(queries("LISTBUILDS") - listed, 0);
    assertEquals(queries("BUILDIDS") - before, 1);
  });
});

Deno.test("master: REBUILD of every package is answered once the package list is read", async () => {
  // how requests asked for while a pass is under way fold into one more pass is
  // master/page_passes_test.ts's; here, that none is lost and each is answered once the list
  // it needs can be read
  await withImported(async (farm) => {
    const { master } = farm;
    await using first = new ImportQueue(master.importQueue);
    await using second = new ImportQueue(master.importQueue);
    const db = await connect(farm.db.superDsn);
    let answered = 0;
    let replies;
    try {
      replies = await db.transaction(async (tx) => {
        await tx.query("LOCK TABLE packages IN ACCESS EXCLUSIVE MODE");
        const asked = [
          first.request("REBUILD", ["PKGPROJ", null]),
          second.request("REBUILD", ["PKGBOTH", null]),
        ].map((p) => p.finally(() => answered++));
        await eventually("the master waits to read the package list", async () => {
          const [row] = await queryDb<{ n: number }>(
            farm.db.superDsn,
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT package AS name FROM packages%'`,
          );
          return row!.n === 1;
        });
        assertEquals(answered, 0, "answered before the package list was read");
        return asked;
      });
    } finally {
      await db.close();
    }
    assertEquals(await Promise.all(replies), [{ msg: "DONE" }, { msg: "DONE" }]);
    await master.waitForLog(/asked for the pages of all 1 packages/);
    const passes = [...master.stderr.matchAll(/rewriting the (.*) of (\d+) packages/g)];
    assertEquals(passes.at(-1)?.slice(1), ["pages", "1"]);
  });
});

Deno.test("master: REBUILD of every package whose list cannot be read is an ERROR", async () => {
  // the list was read after DONE, in the background: piw-rebuild exited 0 and only the log said
  await withImported(async (farm) => {
    const { master, db } = farm;
    await using queue = new ImportQueue(master.importQueue);
    await queryDb(db.superDsn, `REVOKE SELECT ON packages FROM ${db.user}`);
    const refused = await queue.request("REBUILD", ["PKGBOTH", null]);
    assertEquals(refused.msg, "ERROR");
    assertMatch(String(refused.data), /^cannot read the package list: .*permission denied/);
    await queryDb(db.superDsn, `GRANT SELECT ON packages TO ${db.user}`);
    // and the next one goes
    assertEquals(await queue.request("REBUILD", ["PKGBOTH", null]), { msg: "DONE" });
    await master.waitForLog(/asked for the pages of all 1 packages/);
    assert(!/stopped asking for the/.test(master.stderr), master.stderr);
  });
});

Deno.test("master: an import whose file takes minutes to come is not taken over", async () => {
  // its client was seen only when it said SENT: a file that took more than 5 minutes to send
  // lost its import to another client's IMPORT, and the SENT at its end was answered "no import
  // is in progress". The master's wall clock moves 2 s per piece of the file (well under the 5 s
  // of silence after which the File Juggler asks again, and its 10 s in --dev-mode after which it
  // gives a transfer up), 320 s in all.
  await using clock = await ShiftedClock.build();
  await using farm = await startFarm({ env: clock.env });
  const { pypi, master } = farm;
  pypi.binaryRelease("imported", "2.0");
  await master.waitForFile("project/imported/index.html", "skipped: binary only");
  const w = makeWheel("imported", "2.0", {
    py: "cp311",
    abi: "cp311",
    platform: "linux_armv7l",
    padding: 200_000,
  });
  const files = [[w.filename, w.bytes.length, w.sha256, ...w.tags, {}] as FileMessage];
  const request = ["cp311", "imported", "2.0", true, Duration.ZERO, "", files] as const;
  await using uploader = new ImportQueue(master.importQueue);
  await using other = new ImportQueue(master.importQueue);
  assertEquals(await uploader.request("IMPORT", [...request]), { msg: "SEND", data: w.filename });
  const upload = new Dealer({ receiveTimeout: 30_000, linger: 0 });
  upload.connect(master.fileQueue);
  const decoder = new TextDecoder();
  /** Waits for the File Juggler's FETCH from `offset` (or DONE, with null). */
  const until = async (offset: number | null) => {
    for (;;) {
      const [command, at] = await upload.receive();
      const what = decoder.decode(command);
      if (
        offset === null
          ? what === "DONE"
          : what === "FETCH" && Number(decoder.decode(at)) === offset
      ) {
        return;
      }
    }
  };
  try {
    await upload.send(["HELLO", "0"]);
    await until(0);
    const piece = 1024;
    let sent = 0;
    for (let step = 1; step <= 160; step++) {
      await clock.set(step * 2000);
      await upload.send(["CHUNK", String(sent), w.bytes.slice(sent, sent + piece)]);
      sent += piece;
      // answered, after the piece, by a FETCH from where the file stands now
      await upload.send(["HELLO", "0"]);
      await until(sent);
    }
    // 320 s since the uploader's last word on the import queue, not since its file moved
    assertEquals(await other.request("IMPORT", [...request]), {
      msg: "ERROR",
      data: "another import is in progress; try again when it has finished",
    });
    await upload.send(["CHUNK", String(sent), w.bytes.slice(sent)]);
    await until(null);
  } finally {
    await upload.close();
  }
  assertEquals(await uploader.request("SENT"), { msg: "DONE" });
  await master.waitForFile("simple/imported/index.html", w.sha256);
  // an import whose client is quiet all along is another client's after 5 minutes, as ever
  assertEquals(await uploader.request("IMPORT", [...request]), { msg: "SEND", data: w.filename });
  await clock.set(160 * 2000 + 301_000);
  assertEquals(await other.request("IMPORT", [...request]), { msg: "SEND", data: w.filename });
  assertEquals(await uploader.request("SENT"), {
    msg: "ERROR",
    data: "SENT, but no import is in progress",
  });
});
