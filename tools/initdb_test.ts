/**
 * piw-initdb driven through its command line, as a subprocess with the flags the tool ships
 * with, against scratch PostgreSQL databases (and one embedded database): creating, upgrading,
 * refusing, and leaving the database untouched when an upgrade fails half-way.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../tests/assert.ts";
import {
  asSuperuser,
  contents,
  dsnFor,
  fingerprint,
  type Scratch,
  scratchDatabase,
  superDsn,
  uniqueName,
} from "../tests/db.ts";
import { type Finished, ROOT, runTool } from "../tests/process.ts";
import { MasterDb } from "../master/db.ts";
import { parseProjectData } from "../master/project_data.ts";
import { connect, type Database } from "../shared/db/driver.ts";
import {
  applyPlan,
  detectVersion,
  grantStatements,
  preparePlan,
  quoteIdent,
  runScript,
} from "../shared/db/schema.ts";
import { SCHEMA_VERSION, UPDATE_SCRIPTS } from "../sql/scripts.ts";

/** Runs piw-initdb with its own flags and no terminal on stdin. */
function initdb(...args: string[]): Promise<Finished> {
  return runTool("piw-initdb", args);
}

/**
 * The progress lines of piw-initdb's stderr, each script's start and end, with the time it
 * took as `N.N`.
 */
function progress(stderr: string): string[] {
  return stderr.split("\n").filter((l) => / (running|done in) /.test(l)).map((l) =>
    l.replace(/\d+\.\d s$/, "N.N s")
  );
}

/** Runs `fn` with a superuser connection to the scratch database. */
async function asAdmin<T>(scratch: Scratch, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await connect(scratch.superDsn);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Every table's rows as objects (from {@linkcode contents}' JSON text). */
function parsed(tables: Record<string, string[]>): Record<string, Record<string, unknown>[]> {
  return Object.fromEntries(
    Object.entries(tables).map(([name, rows]) => [name, rows.map((r) => JSON.parse(r))]),
  );
}

/** A script of `tests/fixtures/`. */
async function fixture(name: string): Promise<{ name: string; text: string }> {
  return { name, text: await Deno.readTextFile(`${ROOT}/tests/fixtures/${name}`) };
}

/**
 * Makes the scratch database a 0.1.0 one (created by that release's script, kept as a fixture)
 * or, further, a 0.0.1 one (see its fixture), granted to the scratch user.
 */
async function makeRelease(scratch: Scratch, version: "0.1.0" | "0.0.1"): Promise<void> {
  const create = await fixture("create_piwheels_0.1.0.sql");
  const downgrade = await fixture("downgrade_piwheels_0.1.0_to_0.0.1.sql");
  await asAdmin(scratch, (db) =>
    db.transaction(async (tx) => {
      await runScript(tx, create);
      if (version === "0.0.1") await runScript(tx, downgrade);
      for (const grant of grantStatements(scratch.user)) await tx.exec(grant);
    }));
}

/** Makes the scratch database a 0.0.1 one (see the fixture) holding a build with a file. */
async function makeOld(scratch: Scratch, hash: string): Promise<void> {
  await makeRelease(scratch, "0.0.1");
  await asAdmin(scratch, async (db) => {
    await db.exec("INSERT INTO build_abis (abi_tag) VALUES ('cp39'), ('cp311')");
    await db.query("SELECT add_new_package('foo', '', 'Foo')");
    await db.query("SELECT add_new_package_version('foo', '1.0', '2024-01-02T03:04:05.678901Z')");
    const files = [{
      filename: "foo-1.0-cp39-cp39-linux_armv7l.whl",
      filesize: 1234,
      filehash: hash,
      package_tag: "foo",
      package_version_tag: "1.0",
      py_version_tag: "cp39",
      abi_tag: "cp39",
      platform_tag: "linux_armv7l",
      dependencies: { apt: ["libc6"] },
    }];
    await db.query(
      "SELECT log_build(1, 'foo', '1.0', 'cp39', true, '00:01:02.5', 'output', $1)",
      [JSON.stringify(files)],
    );
    assertEquals(await detectVersion(db), "0.0.1");
  });
}

Deno.test("piw-initdb creates the schema in an empty database, then finds nothing to do", async () => {
  await using scratch = await scratchDatabase();
  const made = await initdb("-d", scratch.superDsn, "-u", scratch.user, "-y");
  assertEquals(made.code, 0, made.stderr);
  assertStringIncludes(
    made.stderr,
    `will create the piwheels schema version ${SCHEMA_VERSION} in database ${scratch.name} ` +
      `for user ${scratch.user}`,
  );
  assertStringIncludes(made.stderr, `done: the piwheels schema in database ${scratch.name}`);
  assertEquals(progress(made.stderr), [
    "piw-initdb: running create_piwheels.sql (1 of 1)",
    "piw-initdb: create_piwheels.sql done in N.N s",
  ]);
  const master = await MasterDb.open(scratch.userDsn);
  assertEquals(await master.addPackage("foo"), true);
  await master.close();

  // the same again, from a configuration file this time: the schema is current already
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(
      conf,
      `[initdb]\ndsn = ${scratch.superDsn}\nuser = ${scratch.user}\nyes = true\n`,
    );
    const again = await initdb("-c", conf);
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stderr, `is at version ${SCHEMA_VERSION} already`);
  } finally {
    await Deno.remove(conf);
  }
  await asAdmin(scratch, async (db) => {
    assertEquals(await db.query("SELECT package FROM packages"), [{ package: "foo" }]);
  });
});

Deno.test("piw-initdb asks first, and without a terminal or -y changes nothing", async () => {
  await using scratch = await scratchDatabase();
  const asked = await initdb("-d", scratch.superDsn, "-u", scratch.user);
  assertEquals(asked.code, 1);
  assertStringIncludes(asked.stderr, "will create the piwheels schema version");
  assertStringIncludes(asked.stderr, "no terminal to ask on: run again with -y");
  assertEquals(await asAdmin(scratch, detectVersion), null);
});

Deno.test("piw-initdb refuses, saying why, what it must not do", async (t) => {
  await using scratch = await scratchDatabase();
  const refuses = async (args: string[], ...says: string[]) => {
    const r = await initdb(...args);
    assertEquals(r.code, 1, r.stderr);
    assertMatch(r.stderr, /^piw-initdb: error: /);
    for (const s of says) assertStringIncludes(r.stderr, s);
    assert(!r.stderr.includes("    at "), `a stack trace: ${r.stderr}`);
  };
  const missing = uniqueName("piwtest_missing");
  await t.step(
    "a database that does not exist",
    () => refuses(["-d", dsnFor(missing), "-y"], `database ${missing} does not exist`, "createdb"),
  );
  await t.step(
    "a connection that is not a superuser's",
    () => refuses(["-d", scratch.userDsn, "-u", scratch.user, "-y"], "not a cluster superuser"),
  );
  await t.step(
    "a user that does not exist",
    () => refuses(["-d", scratch.superDsn, "-u", missing, "-y"], `user ${missing} does not exist`),
  );
  await t.step("a user that is a superuser", async () => {
    const superuser = new URL(superDsn()).username;
    await refuses(["-d", scratch.superDsn, "-u", superuser, "-y"], "is a cluster superuser");
  });
  await t.step("a database that is not a piwheels one", async () => {
    await asAdmin(scratch, (db) => db.exec("CREATE TABLE mine (x integer)"));
    await refuses(["-d", scratch.superDsn, "-u", scratch.user, "-y"], "not a piwheels database");
    await asAdmin(scratch, (db) => db.exec("DROP TABLE mine"));
  });
  await t.step("a user that could take over the functions, owning the database", async () => {
    const db = quoteIdent(scratch.name);
    await asSuperuser(`ALTER DATABASE ${db} OWNER TO ${quoteIdent(scratch.user)}`);
    // found inside the transaction, once PUBLIC's CREATE is revoked: after the plan is shown
    const r = await initdb("-d", scratch.superDsn, "-u", scratch.user, "-y");
    assertEquals(r.code, 1, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(
        `error: user ${scratch.user} can create objects in schema public .*; nothing was changed`,
      ),
    );
    assertEquals(await asAdmin(scratch, detectVersion), null);
    await asSuperuser(`ALTER DATABASE ${db} OWNER TO CURRENT_USER`);
  });
  await asAdmin(scratch, async (db) => applyPlan(db, await preparePlan(db, scratch.user)));
  await t.step("a schema newer than the software", async () => {
    await asAdmin(scratch, (db) => db.exec("UPDATE configuration SET version = '9.0.0'"));
    await refuses(["-d", scratch.superDsn, "-u", scratch.user, "-y"], "9.0.0 is newer than");
  });
  await t.step("a schema version it does not know", async () => {
    await asAdmin(scratch, (db) => db.exec("UPDATE configuration SET version = '0.0.5'"));
    await refuses(
      ["-d", scratch.superDsn, "-u", scratch.user, "-y"],
      "unknown schema version 0.0.5",
    );
  });
  await t.step("the Python piwheels' database (its versions have two parts)", async () => {
    await asAdmin(scratch, (db) => db.exec("UPDATE configuration SET version = '0.16'"));
    await refuses(
      ["-d", scratch.superDsn, "-u", scratch.user, "-y"],
      "0.16 is no version of this piwheels' schema",
      "the Python piwheels' own",
    );
  });
});

Deno.test("piw-initdb upgrades 0.0.1 to exactly the schema it creates, keeping the data", async () => {
  await using fresh = await scratchDatabase();
  await asAdmin(fresh, async (db) => applyPlan(db, await preparePlan(db, fresh.user)));
  const expected = await asAdmin(fresh, (db) => fingerprint(db, fresh.user));

  await using old = await scratchDatabase();
  const upper = "0123456789ABCDEF".repeat(4);
  await makeOld(old, upper);
  const before = await asAdmin(old, contents);
  assertEquals(
    await asAdmin(old, (db) => db.query("SELECT to_regclass('rewrites_pending') AS t")),
    [{ t: null }],
  );

  const upgraded = await initdb("-d", old.superDsn, "-u", old.user, "-y");
  assertEquals(upgraded.code, 0, upgraded.stderr);
  assertStringIncludes(
    upgraded.stderr,
    `will upgrade the piwheels schema in database ${old.name} from version 0.0.1 to ` +
      `${SCHEMA_VERSION} (update_piwheels_0.0.1_to_0.1.0.sql, ` +
      `update_piwheels_0.1.0_to_0.2.0.sql, update_piwheels_0.2.0_to_0.3.0.sql, ` +
      `update_piwheels_0.3.0_to_0.4.0.sql, update_piwheels_0.4.0_to_0.5.0.sql, ` +
      `update_piwheels_0.5.0_to_0.6.0.sql, update_piwheels_0.6.0_to_0.7.0.sql) for user ` +
      old.user,
  );
  // an upgrade may take long: each script says when it starts and how long it took
  assertEquals(
    progress(upgraded.stderr),
    UPDATE_SCRIPTS.flatMap((u, i) => [
      `piw-initdb: running ${u.name} (${i + 1} of ${UPDATE_SCRIPTS.length})`,
      `piw-initdb: ${u.name} done in N.N s`,
    ]),
  );
  assertEquals(await asAdmin(old, (db) => fingerprint(db, old.user)), expected);
  const after = parsed(await asAdmin(old, contents));
  const was = parsed(before);
  assertEquals(after, {
    ...was,
    configuration: was.configuration!.map((r) => ({ ...r, version: SCHEMA_VERSION })),
    files: was.files!.map((r) => ({ ...r, filehash: upper.toLowerCase() })),
    rewrites_pending: [],
    packages: was.packages!.map((r) => ({ ...r, priority: 0, popularity: 0 })),
    package_names: [{ name: "foo", package: "foo", seen: "2024-01-02T03:04:05.678901+00:00" }],
    build_queue: was.build_queue!.map((r) => ({ ...r, priority: 0, popularity: 0 })),
  });

  const master = await MasterDb.open(old.userDsn);
  try {
    assertEquals(
      await master.packageFiles("foo"),
      new Map([[
        "foo-1.0-cp39-cp39-linux_armv7l.whl",
        upper.toLowerCase(),
      ]]),
    );
    assertEquals(await master.buildQueue(), new Map([["cp311", [["foo", "1.0"]]], ["cp39", []]]));
  } finally {
    await master.close();
  }
});

/**
 * A 0.1.0 database as the bug left it: one project under several spellings, each its own
 * package with its own versions, builds, files, downloads, skips and pending rewrites; and a
 * project known only by a spelling that is not its normal form.
 */
async function makeDuplicates(scratch: Scratch): Promise<void> {
  await makeRelease(scratch, "0.1.0");
  await asAdmin(scratch, async (db) => {
    await db.exec("INSERT INTO build_abis (abi_tag) VALUES ('cp39'), ('cp311')");
    await db.exec("INSERT INTO user_agents (agent_id, agent) VALUES (1, '{}')");
    const packages: [string, string, string][] = [
      ["Tiny.Demo", "", "A tiny demo"],
      ["tiny-demo", "", ""],
      ["tiny_demo", "", ""],
      ["Skip.Me", "not for us", ""],
      ["skip-me", "", "Skip me"],
      ["Other_Pkg", "", ""],
      ["plain", "", ""],
    ];
    for (const p of packages) await db.query("SELECT add_new_package($1, $2, $3)", p);
    const versions: [string, string, string, string][] = [
      ["Tiny.Demo", "0.1", "2024-01-01T00:00:00Z", ""],
      ["tiny-demo", "0.2", "2024-02-01T00:00:00Z", ""],
      ["Tiny.Demo", "0.2", "2024-01-20T00:00:00Z", ""], // the same release, seen earlier
      ["tiny_demo", "0.3", "2024-03-01T00:00:00Z", "broken sdist"],
      ["Skip.Me", "1.0", "2024-01-01T00:00:00Z", ""],
      ["skip-me", "2.0", "2024-02-01T00:00:00Z", ""],
      ["Other_Pkg", "1.0", "2024-01-01T00:00:00Z", ""],
      ["plain", "1.0", "2024-01-01T00:00:00Z", ""],
    ];
    for (const v of versions) {
      await db.query("SELECT add_new_package_version($1, $2, $3, $4)", v);
    }
    await db.query("SELECT update_version('tiny-demo', '0.2', yank => true)");
    for (const [pkg, version] of [["Tiny.Demo", "0.1"], ["tiny-demo", "0.2"]]) {
      const file = `tiny_demo-${version}-cp39-cp39-linux_armv7l.whl`;
      const files = [{
        filename: file,
        filesize: 100,
        filehash: "ab".repeat(32),
        package_tag: "tiny_demo",
        package_version_tag: version,
        py_version_tag: "cp39",
        abi_tag: "cp39",
        platform_tag: "linux_armv7l",
        dependencies: {},
      }];
      await db.query(
        "SELECT log_build(1, $1, $2, 'cp39', true, '00:00:01', 'log', $3)",
        [pkg, version, JSON.stringify(files)],
      );
      await db.query(
        "SELECT log_download($1, 'host', '2024-03-01T00:00:00Z', '{}')",
        [file],
      );
    }
    await db.query(
      "SELECT save_rewrites_pending($1)",
      [JSON.stringify([{
        package: "Tiny.Demo",
        added_at: "2024-03-02T00:00:00Z",
        command: "PKGPROJ",
      }])],
    );
    assertEquals(await detectVersion(db), "0.1.0");
  });
}

Deno.test("piw-initdb upgrades 0.6.0 to exactly the schema it creates: a file sent again moves alone", async () => {
  await using fresh = await scratchDatabase();
  await asAdmin(fresh, async (db) => applyPlan(db, await preparePlan(db, fresh.user)));
  const expected = await asAdmin(fresh, (db) => fingerprint(db, fresh.user));

  await using old = await scratchDatabase();
  const downgrade = await fixture("downgrade_piwheels_0.7.0_to_0.6.0.sql");
  await asAdmin(old, async (db) => {
    await applyPlan(db, await preparePlan(db, old.user));
    await db.transaction((tx) => runScript(tx, downgrade));
    assertEquals(await detectVersion(db), "0.6.0");
  });
  assert(
    JSON.stringify(await asAdmin(old, (db) => fingerprint(db, old.user))) !==
      JSON.stringify(expected),
    "the fixture makes another schema",
  );
  const upgraded = await initdb("-d", old.superDsn, "-u", old.user, "-y");
  assertEquals(upgraded.code, 0, upgraded.stderr);
  assertStringIncludes(
    upgraded.stderr,
    `from version 0.6.0 to ${SCHEMA_VERSION} (update_piwheels_0.6.0_to_0.7.0.sql)`,
  );
  assertEquals(await asAdmin(old, (db) => fingerprint(db, old.user)), expected);

  // what the upgrade is for: re-importing one wheel of a build keeps the build's other one
  await asAdmin(old, async (db) => {
    await db.query("SELECT add_new_package('foo', '', '')");
    await db.query("SELECT add_new_package_version('foo', '1.0', '2024-01-02T00:00:00Z')");
    const file = (platform: string, hash: string) => ({
      filename: `foo-1.0-cp311-cp311-${platform}.whl`,
      filesize: 100,
      filehash: hash.repeat(64),
      package_tag: "foo",
      package_version_tag: "1.0",
      py_version_tag: "cp311",
      abi_tag: "cp311",
      platform_tag: platform,
      dependencies: {},
    });
    const logBuild = async (files: unknown[]) =>
      (await db.query<{ build_id: number; removed: string[] }>(
        "SELECT build_id::int, removed FROM log_build(0, 'foo', '1.0', 'cp311', true, " +
          "'00:00:01', 'log', $1)",
        [JSON.stringify(files)],
      ))[0]!;
    const first = await logBuild([file("linux_armv6l", "a"), file("linux_aarch64", "b")]);
    const again = await logBuild([file("linux_armv6l", "c")]);
    assertEquals(again.removed, []);
    assertEquals(
      await db.query("SELECT build_id::int, filename, filehash FROM files ORDER BY filename"),
      [
        {
          build_id: first.build_id,
          filename: "foo-1.0-cp311-cp311-linux_aarch64.whl",
          filehash: "b".repeat(64),
        },
        {
          build_id: again.build_id,
          filename: "foo-1.0-cp311-cp311-linux_armv6l.whl",
          filehash: "c".repeat(64),
        },
      ],
    );
  });
});

Deno.test("piw-initdb merges a 0.1.0 database's spellings of a project into one, keeping everything", async () => {
  await using fresh = await scratchDatabase();
  await asAdmin(fresh, async (db) => applyPlan(db, await preparePlan(db, fresh.user)));
  const expected = await asAdmin(fresh, (db) => fingerprint(db, fresh.user));
  await using old = await scratchDatabase();
  await makeDuplicates(old);
  const before = parsed(await asAdmin(old, contents));

  const upgraded = await initdb("-d", old.superDsn, "-u", old.user, "-y");
  assertEquals(upgraded.code, 0, upgraded.stderr);
  assertEquals(await asAdmin(old, (db) => fingerprint(db, old.user)), expected);
  const after = parsed(await asAdmin(old, contents));
  const pick = (rows: Record<string, unknown>[], ...keys: string[]) =>
    rows.map((r) => keys.map((k) => r[k])).sort((a, b) =>
      JSON.stringify(a) < JSON.stringify(b) ? -1 : 1
    );
  assertEquals(pick(after.packages!, "package", "skip", "description"), [
    ["other-pkg", "", ""],
    ["plain", "", ""],
    ["skip-me", "not for us", "Skip me"],
    ["tiny-demo", "", "A tiny demo"],
  ]);
  assertEquals(pick(after.package_names!, "name", "package"), [
    ["Other_Pkg", "other-pkg"],
    ["Skip.Me", "skip-me"],
    ["Tiny.Demo", "tiny-demo"],
    ["plain", "plain"],
    ["skip-me", "skip-me"],
    ["tiny-demo", "tiny-demo"],
    ["tiny_demo", "tiny-demo"],
  ]);
  assertEquals(pick(after.versions!, "package", "version", "released", "skip", "yanked"), [
    ["other-pkg", "1.0", "2024-01-01T00:00:00+00:00", "", false],
    ["plain", "1.0", "2024-01-01T00:00:00+00:00", "", false],
    ["skip-me", "1.0", "2024-01-01T00:00:00+00:00", "", false],
    ["skip-me", "2.0", "2024-02-01T00:00:00+00:00", "", false],
    ["tiny-demo", "0.1", "2024-01-01T00:00:00+00:00", "", false],
    // first seen under Tiny.Demo; the later spelling's yank kept
    ["tiny-demo", "0.2", "2024-01-20T00:00:00+00:00", "", true],
    ["tiny-demo", "0.3", "2024-03-01T00:00:00+00:00", "broken sdist", false],
  ]);
  // builds, files, outputs and downloads all kept, now of the one project
  assertEquals(pick(after.builds!, "package", "version"), [
    ["tiny-demo", "0.1"],
    ["tiny-demo", "0.2"],
  ]);
  assertEquals(after.files, before.files);
  assertEquals(after.output, before.output);
  assertEquals(pick(after.downloads!, "package", "filename"), [
    ["tiny-demo", "tiny_demo-0.1-cp39-cp39-linux_armv7l.whl"],
    ["tiny-demo", "tiny_demo-0.2-cp39-cp39-linux_armv7l.whl"],
  ]);
  // every merged or renamed project's pages are written again at the next start
  assertEquals(pick(after.rewrites_pending!, "package", "command"), [
    ["other-pkg", "PKGBOTH"],
    ["skip-me", "PKGBOTH"],
    ["tiny-demo", "PKGBOTH"],
  ]);
  assertEquals(
    after.rewrites_pending!.find((r) => r.package === "tiny-demo")?.added_at,
    "2024-03-02T00:00:00+00:00",
  );

  const master = await MasterDb.open(old.userDsn);
  try {
    const data = parseProjectData((await master.projectDataJson(["Tiny.Demo"]))[0]!);
    assertEquals(data?.name, "tiny_demo");
    assertEquals(data?.aliases, ["Tiny.Demo", "tiny_demo"]);
    assertEquals(data?.versions.map((v) => [v.version, v.files.length]), [
      ["0.3", 0],
      ["0.2", 1],
      ["0.1", 1],
    ]);
    assertEquals(
      await master.searchIndex(),
      new Map([
        ["Other_Pkg", [0, 0]],
        ["plain", [0, 0]],
        ["skip-me", [0, 0]],
        ["tiny_demo", [0, 2]],
      ]),
    );
    // the queue is the rule's: tiny-demo's ABI-specific builds go on to cp311
    assertEquals(
      await master.buildQueue(),
      new Map([
        ["cp311", [["tiny-demo", "0.2"], ["tiny-demo", "0.1"]]],
        ["cp39", [["other-pkg", "1.0"], ["plain", "1.0"]]],
      ]),
    );
  } finally {
    await master.close();
  }
});

Deno.test("a failed upgrade leaves the database exactly as it was, and names the statement", async () => {
  await using old = await scratchDatabase();
  await makeOld(old, "not hex at all, and no case to fix".padEnd(64, "!"));
  const before = await asAdmin(old, (db) => Promise.all([fingerprint(db), contents(db)]));

  const failed = await initdb("-d", old.superDsn, "-u", old.user, "-y");
  assertEquals(failed.code, 1, failed.stderr);
  assertMatch(
    failed.stderr,
    /error: update_piwheels_0\.0\.1_to_0\.1\.0\.sql, line \d+: ALTER TABLE files ADD CONSTRAINT files_hash_ck .*: check constraint "files_hash_ck" .* is violated by some row; nothing was changed \(the transaction was rolled back\)/,
  );
  // where it stopped: the first script started, and never finished
  assertEquals(progress(failed.stderr), [
    `piw-initdb: running update_piwheels_0.0.1_to_0.1.0.sql (1 of ${UPDATE_SCRIPTS.length})`,
  ]);
  assertEquals(await asAdmin(old, (db) => Promise.all([fingerprint(db), contents(db)])), before);
  assertEquals(await asAdmin(old, detectVersion), "0.0.1");
});

Deno.test("piw-initdb creates an embedded database, which the master then opens", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piwtest_pglite_" });
  try {
    const dsn = `pglite://${dir}/db`;
    const made = await initdb("-d", dsn, "-y");
    assertEquals(made.code, 0, made.stderr);
    assertStringIncludes(
      made.stderr,
      `will create the piwheels schema version ${SCHEMA_VERSION} in database ${dsn} for a ` +
        "new role piwheels",
    );
    const master = await MasterDb.open(dsn);
    try {
      assertEquals(await master.connection.query("SELECT current_user AS me"), [{
        me: "piwheels",
      }]);
      assertEquals(await master.pypiSerial(), 0);
    } finally {
      await master.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("piw-initdb only grants: the master's old privileges are revoked", async () => {
  await using scratch = await scratchDatabase();
  await asAdmin(scratch, async (db) => {
    await applyPlan(db, await preparePlan(db, scratch.user));
    await db.exec(`GRANT INSERT ON packages TO ${quoteIdent(scratch.user)}`);
  });
  const again = await initdb("-d", scratch.superDsn, "-u", scratch.user, "-y");
  assertEquals(again.code, 0, again.stderr);
  assertEquals(
    await asAdmin(
      scratch,
      (db) =>
        db.query("SELECT has_table_privilege($1, 'packages', 'INSERT') AS insert", [scratch.user]),
    ),
    [{ insert: false }],
  );
});
