/**
 * The real piw-master (subprocess, real PostgreSQL) with a piw-import that is not ours:
 * `tests/fixtures/python_import.py`, written in Python from PIWHEELS-0.16.md §5 with Debian's
 * python3-zmq (libzmq) and python3-cbor2, as the deployed piw-import is built. Its IMPORT (the
 * deployed 8-item layout, duration as tag 2001) is taken, the wheel comes over the file queue as
 * slave 0, the build is logged and published, and the real pip installs it from our pages; what
 * the master cannot take is answered ERROR with the reason, never silence.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { startFarm } from "../farm.ts";
import { pipInstall } from "../fixtures/pip_install.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { python, run } from "../process.ts";
import { TransferState } from "../../shared/states.ts";

/** What python_import.py prints. */
interface Imported {
  replies: [string, unknown][];
  fetches: number;
  error?: string;
}

Deno.test("compat: a Python piw-import (libzmq, cbor2) imports into our master, and pip installs it", async (t) => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  pypi.binaryRelease("py-imported", "1.5");
  await master.waitForFile("project/py-imported/index.html");
  const save = async (w: TestWheel) => {
    await Deno.writeFile(`${master.dir}/${w.filename}`, w.bytes);
    return `${master.dir}/${w.filename}`;
  };
  const pyImport = async (pkg: string, version: string, abi: string, ...paths: string[]) => {
    const out = await python("python_import.py", [
      master.importQueue,
      master.fileQueue,
      pkg,
      version,
      abi,
      "built on a Pi by hand",
      ...paths,
    ]);
    const result: Imported = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "{}");
    return { code: out.code, result, stderr: out.stderr };
  };
  const builds = async () =>
    (await queryDb<{ n: number }>(db.superDsn, "SELECT count(*)::int AS n FROM builds"))[0]!.n;
  // a pure wheel of about 2.6 MB: three of the master's 1 MiB chunks
  const wheel = makeWheel("py-imported", "1.5", { padding: 2_600_000 });
  const path = await save(wheel);

  await t.step("an ABI that is not a build ABI: ERROR with the reason", async () => {
    const { code, result } = await pyImport("py-imported", "1.5", "cp27mu", path);
    assertEquals(code, 1, JSON.stringify(result));
    assertEquals(result.replies.length, 1);
    const [[name, reason]] = result.replies as [[string, string]];
    assertEquals(name, "ERROR");
    assertStringIncludes(reason, "cp27mu is not a build ABI");
    assertStringIncludes(reason, "cp311");
  });

  await t.step("an unknown version: ERROR with the reason", async () => {
    const other = await save(makeWheel("py-imported", "9.9"));
    const { code, result } = await pyImport("py-imported", "9.9", "cp311", other);
    assertEquals(code, 1, JSON.stringify(result));
    assertEquals(result.replies, [["ERROR", "unknown version 9.9 of py-imported"]]);
    assertEquals(await builds(), 0);
  });

  await t.step("the import: SEND, the file as slave 0, SENT, DONE", async () => {
    const { code, result, stderr } = await pyImport("py-imported", "1.5", "cp311", path);
    assertEquals(code, 0, `${JSON.stringify(result)}\n${stderr}\nmaster:\n${master.stderr}`);
    assertEquals(result.replies, [["SEND", wheel.filename], ["DONE", null]]);
    const chunks = Math.ceil(wheel.bytes.length / TransferState.CHUNK_SIZE);
    assertEquals(result.fetches >= chunks && chunks >= 3, true, `${result.fetches} FETCHes`);

    // logged as the deployed master logs an import: built by 0, the duration of tag 2001
    const rows = await queryDb<{ abi: string; by: number; secs: number; output: string }>(
      db.superDsn,
      `SELECT b.abi_tag AS abi, b.built_by AS by, extract(epoch FROM b.duration)::int AS secs,
              o.output FROM builds AS b JOIN output AS o USING (build_id)
        WHERE b.package = 'py-imported' AND b.version = '1.5'`,
    );
    assertEquals(rows, [{ abi: "cp311", by: 0, secs: 90, output: "built on a Pi by hand" }]);
    const page = await master.waitForFile("simple/py-imported/index.html", wheel.filename);
    assertStringIncludes(page, `${wheel.filename}#sha256=${wheel.sha256}`);
    assertEquals(
      await Deno.readFile(`${master.output}/simple/py-imported/${wheel.filename}`),
      wheel.bytes,
    );
  });

  await t.step("the real pip installs it from the pages the master wrote", async () => {
    const venvPython = await pipInstall(master.output, master.dir, ["py-imported==1.5"]);
    const imported = await run(venvPython, [
      "-c",
      "import py_imported; print(py_imported.VERSION)",
    ]);
    assertEquals(imported.code, 0, imported.stderr);
    assertEquals(imported.stdout.trim(), "1.5");
  });
});
