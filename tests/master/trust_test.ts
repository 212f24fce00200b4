/**
 * piw-master against a hostile build slave (issue: "nothing a peer sends is published
 * unchecked"): a wheel of the wrong version that would replace another version's published
 * file, a wheel of another project, a wheel whose METADATA disagrees with its name, junk ABI
 * tags, and a wheel whose name (the same version by PEP 440) is another version's published
 * file, there or lost from the disk, and a wheel whose Requires-Python the database cannot keep.
 * Each is refused (DIE, logged), and the published files, the
 * database's records and the pages are exactly as they were (compared by hash). A well-behaved
 * slave is served throughout.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { queryDb } from "../db.ts";
import { type Farm, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { Duration } from "../../shared/duration.ts";
import { sha256File } from "../../shared/hash.ts";

/** Every file under the output's simple/ and project/ trees, by path, with its SHA-256. */
async function snapshot(farm: Farm): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else out[path.slice(farm.master.output.length)] = await sha256File(path);
    }
  };
  for (const top of ["simple", "project"]) await walk(`${farm.master.output}/${top}`);
  const rows = await queryDb<{ row: string }>(
    farm.db.superDsn,
    `SELECT concat_ws(' ', b.build_id, b.package, b.version, b.abi_tag, b.status, f.filename,
                      f.filesize, f.filehash) AS row
     FROM builds AS b LEFT JOIN files AS f USING (build_id) ORDER BY 1`,
  );
  rows.forEach((r, i) => out[`db:${i}`] = r.row);
  const abis = await queryDb<{ abi: string }>(
    farm.db.superDsn,
    "SELECT string_agg(abi_tag, ',' ORDER BY abi_tag) AS abi FROM build_abis",
  );
  out["db:abis"] = abis[0]!.abi;
  return out;
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

  /** A hostile slave handed the next build (`pkg` `version`). */
  const hostile = async (label: string, pkg: string, version: string) => {
    const s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", label);
    assertEquals((await s.hello()).msg, "ACK");
    assertEquals(await s.request("IDLE"), { msg: "BUILD", data: [pkg, version] });
    return s;
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

  await pypi.release("legit-one", "2.0");
  await master.waitForFile("project/legit-one/json/index.json", '"2.0":{');
  await master.waitForFile("simple/index.html", "legit-one");
  const before = await snapshot(farm);

  await t.step("a wheel of another version, an existing file's name: refused", async () => {
    await using s = await hostile("replacer", "legit-one", "2.0");
    const evil = makeWheel("legit-one", "1.0", { padding: 1000 }); // legit_one-1.0-py3-none-any
    assertEquals(evil.filename, legit.filename);
    assertEquals(await attack(s, [evil]), { msg: "DIE" });
    assertMatch(
      (await master.waitForLog(/refused its build of legit-one 2\.0: .*/))[0],
      /is a wheel of version 1\.0, not 2\.0/,
    );
    assertEquals(await snapshot(farm), before);
  });

  await t.step("a wheel of another project: refused", async () => {
    await using s = await hostile("other-project", "legit-one", "2.0");
    const evil = makeWheel("totally-other", "6.6.6");
    assertEquals(await attack(s, [evil]), { msg: "DIE" });
    await master.waitForLog(/refused its build of legit-one 2\.0: .*is a wheel of totally_other/);
    assertEquals(await snapshot(farm), before);
  });

  await t.step("a wheel whose METADATA names another version or project: refused", async () => {
    for (
      const [label, lie] of [["meta-version", { metadataVersion: "1.0" }], [
        "meta-name",
        { metadataName: "totally-other" },
      ]] as const
    ) {
      await using s = await hostile(label, "legit-one", "2.0");
      const evil = makeWheel("legit-one", "2.0", lie);
      assertEquals(await attack(s, [evil]), { msg: "DIE" });
      await master.waitForLog(new RegExp(`slave \\d+ \\(${label}\\): refused .*METADATA names`));
      assertEquals(await snapshot(farm), before, label);
    }
  });

  await t.step("a build of two files, the second one lying: neither is published", async () => {
    await using s = await hostile("half-good", "legit-one", "2.0");
    const good = makeWheel("legit-one", "2.0", {
      py: "cp311",
      abi: "cp311",
      platform: "linux_x86_64",
    });
    const evil = makeWheel("legit-one", "2.0", { metadataName: "totally-other" });
    assertEquals(await attack(s, [good, evil]), { msg: "DIE" });
    await master.waitForLog(/slave \d+ \(half-good\): refused .*METADATA names project/);
    assertEquals(await snapshot(farm), before);
  });

  await t.step("tags that lie about the name, or another ABI's wheel: refused", async () => {
    await using s = await hostile("tag-liar", "legit-one", "2.0");
    const w = makeWheel("legit-one", "2.0");
    const lying = [
      w.filename,
      w.bytes.length,
      w.sha256,
      "legit_one",
      "2.0",
      "py3",
      "none",
      "linux_armv7l",
      {},
    ];
    assertEquals(await attack(s, [w], [lying]), { msg: "DIE" });
    await using t2 = await hostile("abi-liar", "legit-one", "2.0");
    const cp39 = makeWheel("legit-one", "2.0", {
      py: "cp39",
      abi: "cp39",
      platform: "linux_armv7l",
    });
    assertEquals(await attack(t2, [cp39]), { msg: "DIE" });
    await master.waitForLog(/abi-liar\): refused .*has ABI cp39, but the build was for cp311/);
    assertEquals(await snapshot(farm), before);
  });

  await t.step("junk ABI tags register nothing; an ABI that is no build ABI sleeps", async () => {
    for (const junk of ["cp3!1", "c 311", "cp311/../x"]) {
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, junk, `junk-${junk}`);
      s.req.options.receiveTimeout = 1500;
      let answered = true;
      await s.hello().catch(() => (answered = false));
      assert(!answered, `a HELLO with ABI ${junk} is dropped unanswered`);
    }
    for (const [abi, label] of [["cx311", "junk-a"], ["c0311", "junk-b"], ["cp311", "real"]]) {
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, abi, label);
      assertEquals((await s.hello()).msg, "ACK");
      const reply = await s.request("IDLE");
      if (abi === "cp311") assertEquals(reply, { msg: "BUILD", data: ["legit-one", "2.0"] });
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
      await using s = await hostile(`requires-${label}`, "legit-one", "2.0");
      const evil = makeWheel("legit-one", "2.0", { requiresPython });
      assertEquals(await attack(s, [evil]), { msg: "DIE" });
      await master.waitForLog(
        new RegExp(`\\(requires-${label}\\): refused .*METADATA cannot be kept \\(requires_python`),
      );
      assertEquals(await snapshot(farm), before, label);
    }
  });

  await t.step("the well-behaved slave still builds legit-one 2.0", async () => {
    await using good = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "good-2");
    assertEquals((await good.hello()).msg, "ACK");
    assertEquals(await good.request("IDLE"), { msg: "BUILD", data: ["legit-one", "2.0"] });
    const v2 = makeWheel("legit-one", "2.0");
    assertEquals(await good.deliver([v2]), { msg: "DONE" });
    const page = await master.waitForFile("simple/legit-one/index.html", v2.sha256);
    assert(page.includes(`${legit.filename}#sha256=${legit.sha256}`), "1.0's wheel is intact");
  });

  await t.step("a wheel named as another version's file (1.0's, for v1.0): refused", async () => {
    await pypi.release("legit-one", "v1.0");
    await master.waitForFile("project/legit-one/json/index.json", '"v1.0":{');
    await master.waitForFile("project/legit-one/index.html", "v1.0");
    const now = await snapshot(farm);
    await using s = await hostile("same-name", "legit-one", "v1.0");
    // its name and METADATA say 1.0, which is v1.0 by PEP 440: only the database knows that
    // the name is 1.0's published file
    const evil = makeWheel("legit-one", "1.0", { padding: 1000 });
    assertEquals(evil.filename, legit.filename);
    assertEquals(await attack(s, [evil]), { msg: "DIE" });
    await master.waitForLog(
      /refused its build of legit-one v1\.0: legit_one-1\.0-py3-none-any\.whl is a file of legit-one 1\.0, published already/,
    );
    assertEquals(await snapshot(farm), now);
  });

  await t.step("the same, with 1.0's file lost from the disk: refused, nothing kept", async () => {
    // a name free on disk is put in place without asking the database whose it is (the master
    // never lists a file before it is on disk, nor deletes one before it is unlisted), so only
    // damage from outside gets here: logging the build refuses it, and what it placed goes
    const path = `${master.output}/simple/legit-one/${legit.filename}`;
    for (const p of [path, `${path}.metadata`]) await Deno.remove(p);
    const now = await snapshot(farm);
    await using s = await hostile("into-the-gap", "legit-one", "v1.0");
    const evil = makeWheel("legit-one", "1.0", { padding: 2000 });
    assertEquals(await attack(s, [evil]), { msg: "DIE" });
    await master.waitForLog(/cannot check or log the build of legit-one v1\.0: .*belongs to/);
    assertEquals(await snapshot(farm), now);
  });
});
