/**
 * piw-master against a hostile build slave (issue: "nothing a peer sends is published
 * unchecked"): a wheel of the wrong version that would replace another version's published
 * file, a wheel of another project, a wheel whose METADATA disagrees with its name, junk ABI
 * tags, and a wheel whose name (the same version by PEP 440) is another version's published
 * file, there or lost from the disk, and a wheel whose Requires-Python the database cannot keep.
 * Each is refused, and the published files, the database's files and the index pages are exactly
 * as they were (compared by hash). A build refused for its files is logged as failed, with why,
 * and is not handed to another slave: any slave's build of it would be refused the same, and
 * deployed slaves exit on DIE, so telling each DIE in turn stopped the whole farm. A
 * well-behaved slave is served throughout.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { queryDb } from "../db.ts";
import { type Farm, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { encode } from "../../shared/cbor.ts";
import { Duration } from "../../shared/duration.ts";
import { sha256File } from "../../shared/hash.ts";

/**
 * What is published: every file under the output's simple/ tree, by path, with its SHA-256, the
 * successful builds and their files, and the build ABIs.
 */
async function snapshot(farm: Farm): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else out[path.slice(farm.master.output.length)] = await sha256File(path);
    }
  };
  await walk(`${farm.master.output}/simple`);
  const rows = await queryDb<{ row: string }>(
    farm.db.superDsn,
    `SELECT concat_ws(' ', b.build_id, b.package, b.version, b.abi_tag, b.status, f.filename,
                      f.filesize, f.filehash) AS row
     FROM builds AS b LEFT JOIN files AS f USING (build_id) WHERE b.status ORDER BY 1`,
  );
  rows.forEach((r, i) => out[`db:${i}`] = r.row);
  const abis = await queryDb<{ abi: string }>(
    farm.db.superDsn,
    "SELECT string_agg(abi_tag, ',' ORDER BY abi_tag) AS abi FROM build_abis",
  );
  out["db:abis"] = abis[0]!.abi;
  return out;
}

/** The builds logged of a version, as `status: output`. */
async function builds(farm: Farm, version: string): Promise<string[]> {
  const rows = await queryDb<{ row: string }>(
    farm.db.superDsn,
    `SELECT b.status || ': ' || o.output AS row FROM builds AS b JOIN output AS o USING (build_id)
     WHERE b.package = 'legit-one' AND b.version = $1 ORDER BY b.build_id`,
    [version],
  );
  return rows.map((r) => r.row);
}

/** The BUILT file tuple of a wheel, claiming its own name's tags. */
function tuple(w: TestWheel) {
  return [w.filename, w.bytes.length, w.sha256, ...w.tags, {}];
}

Deno.test("master: a hostile slave cannot publish, replace or register anything", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  const legit = makeWheel("legit-one", "1.0");

  // a good slave builds legit-one 1.0, which is published
  await pypi.release("legit-one", "1.0");
  {
    await using good = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "good");
    assertEquals((await good.hello()).msg, "ACK");
    assertEquals(await good.request("IDLE"), { msg: "BUILD", data: ["legit-one", "1.0"] });
    assertEquals(await good.deliver([legit]), { msg: "DONE" });
    await master.waitForFile("simple/legit-one/index.html", legit.sha256);
  }

  /** The versions whose builds were refused: none is handed out again. */
  const refused = new Set<string>();
  /** A hostile slave handed the next build of legit-one, and the version of it. */
  const hostile = async (label: string) => {
    const s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", label);
    assertEquals((await s.hello()).msg, "ACK");
    const reply = await s.request("IDLE");
    assert(reply.msg === "BUILD" && reply.data[0] === "legit-one", JSON.stringify(reply));
    const version = reply.data[1];
    assert(!refused.has(version), `${version}, refused already, was handed out again`);
    return Object.assign(s, { version });
  };
  /** Sends BUILT with these files, and any SEND answered with a transfer; the final reply. */
  const attack = async (s: TestSlave, wheels: TestWheel[], claimed = wheels.map(tuple)) => {
    let reply = await s.request("BUILT", [true, Duration.ZERO, "", claimed]);
    while (reply.msg === "SEND") {
      const w = wheels.find((x) => x.filename === reply.data)!;
      await s.transfer(w.bytes);
      reply = await s.request("SENT");
    }
    return reply;
  };
  /**
   * Has the hostile slave's build refused for `why`: the slave is answered DONE (it carries on),
   * the build is logged as failed with why, and nothing is published.
   */
  const refuse = async (
    s: Awaited<ReturnType<typeof hostile>>,
    why: RegExp,
    wheels: TestWheel[],
    claimed?: ReturnType<typeof tuple>[],
  ) => {
    const published = await snapshot(farm);
    assertEquals(await attack(s, wheels, claimed), { msg: "DONE" });
    const line = new RegExp(
      `slave \\d+ \\(${s.label}\\): refused its build of legit-one ${s.version}: .*` +
        `${why.source}.*: logged as failed`,
    );
    await master.waitForLog(line);
    const logged = await builds(farm, s.version);
    assertEquals(logged.length, 1, logged.join("\n"));
    assertMatch(
      logged[0]!,
      new RegExp(`^false: .*the master refused this build: .*${why.source}`, "s"),
    );
    assertEquals(await snapshot(farm), published, s.label);
    refused.add(s.version);
  };

  // a version for each refused build
  for (let i = 0; i < 10; i++) await pypi.release("legit-one", `2.${i}`);
  await master.waitForFile("project/legit-one/json/index.json", '"2.9":{');
  await master.waitForFile("simple/index.html", "legit-one");
  const before = await snapshot(farm);

  await t.step("a wheel of another version, an existing file's name: refused", async () => {
    await using s = await hostile("replacer");
    const evil = makeWheel("legit-one", "1.0", { padding: 1000 }); // legit_one-1.0-py3-none-any
    assertEquals(evil.filename, legit.filename);
    await refuse(s, /is a wheel of version 1\.0, not 2\.\d/, [evil]);
    // the slave carries on: it is handed another version
    const next = await s.request("IDLE");
    assert(next.msg === "BUILD" && next.data[1] !== s.version, JSON.stringify(next));
  });

  await t.step("a wheel of another project: refused", async () => {
    await using s = await hostile("other-project");
    await refuse(s, /is a wheel of totally_other/, [makeWheel("totally-other", "6.6.6")]);
  });

  await t.step("a wheel whose METADATA names another version or project: refused", async () => {
    for (
      const [label, lie] of [["meta-version", { metadataVersion: "1.0" }], [
        "meta-name",
        { metadataName: "totally-other" },
      ]] as const
    ) {
      await using s = await hostile(label);
      await refuse(s, /METADATA names/, [makeWheel("legit-one", s.version, lie)]);
    }
  });

  await t.step("a build of two files, the second one lying: neither is published", async () => {
    await using s = await hostile("half-good");
    const good = makeWheel("legit-one", s.version, {
      py: "cp311",
      abi: "cp311",
      platform: "linux_x86_64",
    });
    const evil = makeWheel("legit-one", s.version, { metadataName: "totally-other" });
    await refuse(s, /METADATA names project/, [good, evil]);
  });

  await t.step("tags that lie about the name, or another ABI's wheel: refused", async () => {
    await using s = await hostile("tag-liar");
    const w = makeWheel("legit-one", s.version);
    const lying = [
      w.filename,
      w.bytes.length,
      w.sha256,
      "legit_one",
      s.version,
      "py3",
      "none",
      "linux_armv7l",
      {},
    ];
    await refuse(s, /its platform tag was given as linux_armv7l/, [w], [lying]);
    await using t2 = await hostile("abi-liar");
    const cp39 = makeWheel("legit-one", t2.version, {
      py: "cp39",
      abi: "cp39",
      platform: "linux_armv7l",
    });
    await refuse(t2, /has ABI cp39, but the build was for cp311/, [cp39]);
  });

  await t.step("junk ABI tags register nothing; an ABI that is no build ABI sleeps", async () => {
    for (const [i, junk] of ["cp3!1", "c 311", "cp311/../x"].entries()) {
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, junk, `junk-${junk}`);
      s.req.options.receiveTimeout = 1500;
      // encoded by hand: our own encoder refuses the ABI before it is sent
      const hello = encode(["HELLO", [s.timeout, "311", junk, "linux_x86_64", s.label]]);
      let answered = true;
      await s.request(hello).catch(() => (answered = false));
      assert(!answered, `a HELLO with ABI ${junk} is dropped unanswered`);
      // the master read it, and refused it
      await master.waitForLog(
        new RegExp(`(?:HELLO: data\\[2\\]: expected a PEP 425 tag[^]*){${i + 1}}`),
      );
    }
    for (const [abi, label] of [["cx311", "junk-a"], ["c0311", "junk-b"], ["cp311", "real"]]) {
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, abi, label);
      assertEquals((await s.hello()).msg, "ACK");
      const reply = await s.request("IDLE");
      if (abi === "cp311") assertEquals(reply.msg, "BUILD");
      else assertEquals(reply, { msg: "SLEEP" }, `${abi} is not a build ABI`);
    }
    await master.waitForLog(/builds for cx311, which is not a build ABI: it is told to sleep/);
    assertEquals((await snapshot(farm))["db:abis"], "cp311");
  });

  await t.step("a wheel whose Requires-Python cannot be kept: refused at once", async () => {
    // a NUL, which PostgreSQL refuses: the build used to be logged only after its files were in
    // place (over the version's own, for a rebuild), and then refused by the database; and
    // anything that is no specifier set, held to the rule PyPI's Requires-Python is (it goes
    // into the pages' attributes)
    const cases = [["nul", ">=3\0"], ["huge", `>=${"3".repeat(300)}`], ["markup", '>=3"><b']];
    for (const [label, requiresPython] of cases) {
      await using s = await hostile(`requires-${label}`);
      const evil = makeWheel("legit-one", s.version, { requiresPython });
      await refuse(s, /METADATA cannot be kept \(requires_python/, [evil]);
    }
  });

  await t.step("a well-behaved slave builds the next version, and no refused one", async () => {
    assertEquals(refused.size, 10);
    assertEquals(await snapshot(farm), before);
    await pypi.release("legit-one", "3.0");
    await using good = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "good-2");
    assertEquals((await good.hello()).msg, "ACK");
    assertEquals(await good.request("IDLE"), { msg: "BUILD", data: ["legit-one", "3.0"] });
    const v3 = makeWheel("legit-one", "3.0");
    assertEquals(await good.deliver([v3]), { msg: "DONE" });
    const page = await master.waitForFile("simple/legit-one/index.html", v3.sha256);
    assert(page.includes(`${legit.filename}#sha256=${legit.sha256}`), "1.0's wheel is intact");
    // each refusal shows on the project page as a failed build, with its log
    const project = await master.waitForFile("project/legit-one/index.html", "3.0");
    assertEquals(project.match(/">failed after/g)?.length, 10);
  });

  await t.step("a wheel named as another version's file (1.0's, for v1.0): refused", async () => {
    await pypi.release("legit-one", "v1.0");
    await master.waitForFile("project/legit-one/json/index.json", '"v1.0":{');
    await using s = await hostile("same-name");
    assertEquals(s.version, "v1.0");
    // its name and METADATA say 1.0, which is v1.0 by PEP 440: only the database knows that
    // the name is 1.0's published file
    const evil = makeWheel("legit-one", "1.0", { padding: 1000 });
    assertEquals(evil.filename, legit.filename);
    await refuse(s, /legit_one-1\.0-py3-none-any\.whl is a file of legit-one 1\.0, published/, [
      evil,
    ]);
  });

  await t.step("the same, with 1.0's file lost from the disk: refused, nothing kept", async () => {
    // a name free on disk is put in place without asking the database whose it is (the master
    // never lists a file before it is on disk, nor deletes one before it is unlisted), so only
    // damage from outside gets here: logging the build refuses it, what it placed goes, and the
    // slave is told DIE (the master cannot tell whose fault it is)
    const path = `${master.output}/simple/legit-one/${legit.filename}`;
    for (const p of [path, `${path}.metadata`]) await Deno.remove(p);
    await pypi.release("legit-one", "1.00");
    await master.waitForFile("project/legit-one/json/index.json", '"1.00":{');
    const now = await snapshot(farm);
    await using s = await hostile("into-the-gap");
    assertEquals(s.version, "1.00");
    const evil = makeWheel("legit-one", "1.0", { padding: 2000 });
    assertEquals(await attack(s, [evil]), { msg: "DIE" });
    await master.waitForLog(/cannot check or log the build of legit-one 1\.00: .*belongs to/);
    assertEquals(await snapshot(farm), now);
    assertEquals(await builds(farm, "1.00"), []);
  });

  await t.step(
    "a wheel that spells the release another way (4.0.0, for 4.0): published",
    async () => {
      // pip builds a release whose setup.py says 4.0.0 for 4.0 (the same release by PEP 440),
      // and names the wheel by what setup.py says: pip's `==4.0` finds it, so it is the build
      await pypi.release("legit-one", "4.0");
      await master.waitForFile("project/legit-one/json/index.json", '"4.0":{');
      await using good = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "padded");
      assertEquals((await good.hello()).msg, "ACK");
      assertEquals(await good.request("IDLE"), { msg: "BUILD", data: ["legit-one", "4.0"] });
      const padded = makeWheel("legit-one", "4.0.0");
      assertEquals(await good.deliver([padded]), { msg: "DONE" });
      await master.waitForFile("simple/legit-one/index.html", padded.sha256);
      assertEquals(await builds(farm, "4.0"), ["true: built by a test"]);
    },
  );
});

Deno.test("master: a build's files the database or file system cannot hold are the build's fault", async (t) => {
  // A tag over 100 characters passed the protocol, then the database refused the build, which
  // counted as the master's fault: each slave given the build was told DIE, and deployed slaves
  // exit on DIE. A name near 255 characters failed as its `.metadata` was written, the same way.
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  const project = `p${"y".repeat(25)}`;
  for (const v of ["1.0", "2.0", "3.0"]) await pypi.release(project, v);
  await master.waitForFile(`project/${project}/json/index.json`, '"3.0":{');
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "long");
  assertEquals((await slave.hello()).msg, "ACK");
  const failed = async (version: string) =>
    await queryDb<{ row: string }>(
      db.superDsn,
      `SELECT b.status || ': ' || o.output AS row FROM builds AS b JOIN output AS o USING (build_id)
       WHERE b.package = $1 AND b.version = $2`,
      [project, version],
    );

  await t.step("a tag of 101 characters, a name of 247: logged as failed, DONE", async () => {
    for (
      const [why, claim] of [
        [
          "data\\[3\\]\\[0\\]\\[7\\]",
          (w: TestWheel) => [...tuple(w).slice(0, 7), "l".repeat(101), {}],
        ],
        [
          "data\\[3\\]\\[0\\]\\[0\\]",
          (w: TestWheel) => [`${"w".repeat(243)}.whl`, ...tuple(w).slice(1)],
        ],
      ] as const
    ) {
      const reply = await slave.request("IDLE");
      assert(reply.msg === "BUILD", JSON.stringify(reply));
      const version = reply.data[1];
      const w = makeWheel(project, version);
      // encoded by hand: our own encoder refuses them before they are sent
      const data = [true, Duration.of({ seconds: 3 }), "pip said", [claim(w)]];
      const built = await slave.request(encode(["BUILT", data]));
      assertEquals(built, { msg: "DONE" });
      await master.waitForLog(
        new RegExp(`its BUILT cannot be taken: .*${why}.*: logged as failed`),
      );
      const rows = await failed(version);
      assertEquals(rows.length, 1);
      assertMatch(rows[0]!.row, /^false: pip said\n\npiwheels: the master refused this build: /);
    }
  });

  await t.step("a name of 240 characters is published, its .metadata beside it", async () => {
    const reply = await slave.request("IDLE");
    assertEquals(reply, { msg: "BUILD", data: [project, "3.0"] });
    // tags of 99 and 100 characters
    const long = { py: `py3${".py3".repeat(24)}`, platform: `linux_${"x".repeat(94)}` };
    const w = makeWheel(project, "3.0", long);
    assertEquals(w.filename.length, 240);
    assertEquals(await slave.deliver([w]), { msg: "DONE" });
    await master.waitForFile(`simple/${project}/index.html`, w.sha256);
    await Deno.stat(`${master.output}/simple/${project}/${w.filename}.metadata`);
  });
});

Deno.test("master: a build's time is believed only as far as since it was handed out", async () => {
  // a slave that said 285 years made the sum of every build's time more than a duration holds:
  // the statistics failed from then on (the home page, the monitors, the metrics)
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("ages", "1.0");
  await master.waitForFile("project/ages/index.html", "1.0");
  await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "ages");
  assertEquals((await s.hello()).msg, "ACK");
  let reply = await s.request("IDLE");
  while (reply.msg === "SLEEP") reply = await s.request("IDLE");
  assertEquals(reply, { msg: "BUILD", data: ["ages", "1.0"] });
  const handedOut = Date.now();
  const ages = Duration.of({ days: 104_000 });
  assertEquals(await s.request("BUILT", [false, ages, "took ages", []]), { msg: "DONE" });
  const [row] = await queryDb<{ ms: number }>(
    farm.db.superDsn,
    "SELECT (extract(epoch FROM duration) * 1000)::float8 AS ms FROM builds WHERE package = 'ages'",
  );
  assert(row !== undefined && row.ms <= Date.now() - handedOut + 1000, `it took ${row?.ms} ms`);
});
