/**
 * Every operation of the master's database layer, against a real PostgreSQL 15 server (a
 * scratch database and role) and against PGlite (one data directory for the whole file), with
 * the same cases; plus the permission model and the checks made when the master connects.
 */

import { SCHEMA_VERSION } from "../sql/scripts.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../tests/assert.ts";
import { fingerprint, scratchDatabase, uniqueName } from "../tests/db.ts";
import { connect, DbError, type Row } from "../shared/db/driver.ts";
import { applyPlan, preparePlan, quoteIdent, SchemaError } from "../shared/db/schema.ts";
import { Duration } from "../shared/duration.ts";
import {
  BuildState,
  DownloadState,
  emptyUserAgentInfo,
  FileState,
  JSONState,
  PageState,
  ProjectState,
  SearchState,
} from "../shared/states.ts";
import { Timestamp } from "../shared/timestamp.ts";
import { EMBEDDED_USER, MasterDb } from "./db.ts";
import { parseProjectData, type ProjectData } from "./project_data.ts";

/** What the Oracle's PROJDATA gives the Scribe for one package, parsed as the Scribe does. */
async function projectData(db: MasterDb, pkg: string): Promise<ProjectData | null> {
  return parseProjectData((await db.projectDataJson([pkg]))[0]!);
}

/** A database under test, as each engine provides it. */
interface Harness {
  /** The master's view of it. */
  readonly db: MasterDb;
  /** Runs SQL as the superuser (what the master may not do: ABIs, ages, checks). */
  admin<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs SQL as a role that was granted nothing. */
  outsider(sql: string): Promise<unknown>;
  /** Opens the master on the database again (and closes it), to see what it refuses. */
  reopen(): Promise<void>;
}

const T = (s: string) => Timestamp.parse(s);
const HASH = "0123456789abcdef".repeat(4);
const TOOK = Duration.of({ minutes: 2, seconds: 3, microseconds: 456789 });

function wheel(
  pkg: string,
  version: string,
  abi = "none",
  py = "py3",
  platform = "any",
  deps: Record<string, string[]> = {},
): FileState {
  const name = `${pkg}-${version}-${py}-${abi}-${platform}.whl`;
  return new FileState(name, name.length * 100, HASH, pkg, version, py, abi, platform, deps);
}

function build(
  pkg: string,
  version: string,
  abi: string,
  files: FileState[] = [],
  status = files.length > 0,
): BuildState {
  return new BuildState(3, pkg, version, abi, status, TOOK, `building ${pkg}`, files);
}

async function withVersions(h: Harness, abis: string[], versions: [string, string, string][]) {
  if (abis.length) {
    await h.admin(`INSERT INTO build_abis (abi_tag) SELECT unnest($1::varchar[])`, [abis]);
  }
  for (const [pkg, version, released] of versions) {
    await h.db.addPackage(pkg);
    await h.db.addVersion(pkg, version, T(released));
  }
}

/** The queue as plain data, checked against the rule (the view) it is kept equal to. */
async function queue(h: Harness, perAbi?: number): Promise<Record<string, string[]>> {
  const [drift] = await h.admin<{ n: number }>(`
    SELECT count(*) AS n FROM (
      (SELECT * FROM build_queue EXCEPT SELECT * FROM builds_pending)
      UNION ALL
      (SELECT * FROM builds_pending EXCEPT SELECT * FROM build_queue)
    ) AS d`);
  assertEquals(drift!.n, 0, "build_queue differs from builds_pending");
  const q = await h.db.buildQueue(perAbi);
  return Object.fromEntries([...q].map(([abi, list]) => [abi, list.map((pv) => pv.join(" "))]));
}

const cases: Record<string, (h: Harness) => Promise<void>> = {
  "NEWPKG, NEWVER, ALLPKGS, ALLVERS, PKGEXISTS, VEREXISTS": async (h) => {
    assertEquals(await h.db.addPackage("foo"), true);
    assertEquals(await h.db.addPackage("foo", "ignored", "ignored"), false);
    assertEquals(await h.db.addPackage("bar", "binary only", "A bar"), true);
    assertEquals(await h.db.addVersion("foo", "1.0", T("2024-01-02T03:04:05.123456Z")), true);
    assertEquals(await h.db.addVersion("foo", "1.0", T("2030-01-01T00:00:00Z")), false);
    assertEquals(await h.db.addVersion("foo", "2.0", T("2024-02-01T00:00:00Z"), "", ">=3.9"), true);
    await assertRejects(
      () => h.db.addVersion("nope", "1.0", T("2024-01-01T00:00:00Z")),
      DbError,
      "unknown package nope",
    );
    assertEquals(await h.db.allPackages(), new Set(["foo", "bar"]));
    assertEquals((await h.db.allVersions()).sort(), [["foo", "1.0"], ["foo", "2.0"]]);
    assertEquals(await h.db.packageExists("foo"), true);
    assertEquals(await h.db.packageExists("nope"), false);
    assertEquals(await h.db.versionExists("foo", "1.0"), true);
    assertEquals(await h.db.versionExists("foo", "3.0"), false);
    const data = await projectData(h.db, "foo");
    assertEquals(data?.versions.map((v) => [v.version, v.released, v.requiresPython]), [
      ["2.0", T("2024-02-01T00:00:00Z"), ">=3.9"],
      ["1.0", T("2024-01-02T03:04:05.123456Z"), null],
    ]);
    const bar = await projectData(h.db, "bar");
    assertEquals([bar?.skip, bar?.description], ["binary only", "A bar"]);
  },

  "PROJDESC, SKIPPKG, SKIPVER, GETSKIP": async (h) => {
    await withVersions(h, [], [["foo", "1.0", "2024-01-01T00:00:00Z"]]);
    await h.db.setDescription("foo", "Does foo things");
    assertEquals((await projectData(h.db, "foo"))?.description, "Does foo things");
    assertEquals(await h.db.versionSkip("foo", "1.0"), "");
    await h.db.skipPackage("foo", "too big");
    assertEquals(await h.db.versionSkip("foo", "1.0"), "too big");
    await h.db.skipVersion("foo", "1.0", "broken setup.py");
    assertEquals(await h.db.versionSkip("foo", "1.0"), "broken setup.py");
    await h.db.skipVersion("foo", "1.0", "");
    await h.db.skipPackage("foo", "");
    assertEquals(await h.db.versionSkip("foo", "1.0"), "");
    assertEquals(await h.db.versionSkip("foo", "9.9"), null);
    await assertRejects(() => h.db.setDescription("nope", "x"), DbError, "unknown package nope");
    await assertRejects(() => h.db.skipPackage("nope", "x"), DbError, "unknown package nope");
    await assertRejects(
      () => h.db.skipVersion("foo", "9.9", "x"),
      DbError,
      "unknown version foo 9.9",
    );
  },

  "one project per normalised name: any spelling, aliases, the name pages show": async (h) => {
    assertEquals(await h.db.addPackage("Tiny.Demo", "", "", T("2024-01-01T00:00:00Z")), true);
    assertEquals(await h.db.addPackage("tiny-demo", "", "", T("2024-01-02T00:00:00Z")), false);
    assertEquals(await h.db.addVersion("Tiny.Demo", "0.1", T("2024-01-03T00:00:00Z")), true);
    assertEquals(await h.db.addVersion("tiny_demo", "0.2", T("2024-01-04T00:00:00Z")), true);
    assertEquals(await h.db.addVersion("TINY-DEMO", "0.2", T("2024-01-05T00:00:00Z")), false);
    assertEquals(await h.db.allPackages(), new Set(["tiny-demo"]));
    assertEquals((await h.db.allVersions()).sort(), [["tiny-demo", "0.1"], ["tiny-demo", "0.2"]]);
    for (const spelling of ["Tiny.Demo", "tiny-demo", "TINY__demo"]) {
      assertEquals(await h.db.packageExists(spelling), true, spelling);
      assertEquals(await h.db.versionExists(spelling, "0.1"), true, spelling);
    }
    const data = await projectData(h.db, "Tiny_Demo");
    assertEquals(data?.package, "tiny-demo");
    assertEquals(data?.versions.map((v) => v.version), ["0.2", "0.1"]);
    // the spelling PyPI used last is the name pages show
    assertEquals(data?.name, "TINY-DEMO");
    assertEquals(data?.aliases, ["TINY-DEMO", "Tiny.Demo", "tiny_demo"]);
    // an operator's alias is recorded, but does not change the name shown
    await h.db.addAlias("tiny-demo", "Tiny-Demo");
    assertEquals((await projectData(h.db, "tiny-demo"))?.name, "TINY-DEMO");
    assertEquals(await h.db.packageNames("tiny.demo"), [
      "TINY-DEMO",
      "Tiny-Demo",
      "Tiny.Demo",
      "tiny-demo",
      "tiny_demo",
    ]);
    await assertRejects(() => h.db.addAlias("tiny-demo", "other"), DbError, "not a spelling");
    await assertRejects(() => h.db.addAlias("nope", "Nope"), DbError, "unknown package Nope");
    // the table refuses a key that is not a normal form, whoever writes it
    await assertRejects(
      () => h.admin("INSERT INTO packages (package) VALUES ('Not_Normal')"),
      DbError,
      "packages_canon_ck",
    );
    await h.db.skipPackage("TINY.DEMO", "too small");
    assertEquals(await h.db.versionSkip("Tiny.Demo", "0.1"), "too small");
    assertEquals(await h.db.deleteVersion("Tiny.Demo", "0.1"), []);
    assertEquals(await h.db.deletePackage("tiny_demo"), []);
    assertEquals(await h.admin("SELECT * FROM package_names"), []);
  },

  "RELDATA: what PyPI says of a release; null leaves each part": async (h) => {
    await withVersions(h, [], [["foo", "1.0", "2024-01-01T00:00:00Z"]]);
    const state = async () => {
      const d = await projectData(h.db, "foo");
      return [d?.description, d?.versions[0]?.requiresPython, d?.versions[0]?.yanked];
    };
    const said = { description: "Does foo", requiresPython: ">=3.9", yanked: null };
    assertEquals(await h.db.releaseData("foo", "1.0", said), true);
    assertEquals(await state(), ["Does foo", ">=3.9", false]);
    assertEquals(await h.db.releaseData("foo", "1.0", { ...said, yanked: false }), false);
    assertEquals(
      await h.db.releaseData("Foo", "1.0", {
        description: null,
        requiresPython: null,
        yanked: true,
      }),
      true,
    );
    assertEquals(await state(), ["Does foo", ">=3.9", true]);
    await assertRejects(
      () =>
        h.db.releaseData("foo", "2.0", { description: "x", requiresPython: null, yanked: null }),
      DbError,
      "unknown version foo 2.0",
    );
    // nothing of a refused call is kept
    assertEquals(await state(), ["Does foo", ">=3.9", true]);
  },

  "SETPRIO, REFRESHPOP: the queue in the order users need builds": async (h) => {
    await withVersions(h, ["cp311"], [
      ["old-popular", "1.0", "2023-01-01T00:00:00Z"],
      ["unknown", "1.0", "2024-03-01T00:00:00Z"],
      ["raised", "1.0", "2022-01-01T00:00:00Z"],
      ["less-popular", "1.0", "2024-02-01T00:00:00Z"],
    ]);
    assertEquals(await queue(h), {
      cp311: ["unknown 1.0", "less-popular 1.0", "old-popular 1.0", "raised 1.0"],
    });
    await h.admin("INSERT INTO user_agents (agent_id, agent) VALUES (1, '{}')");
    const download = (pkg: string, n: number, daysAgo: number) =>
      h.admin(
        `INSERT INTO downloads (filename, package, accessed_by, accessed_at, agent_id)
         SELECT 'x.whl', $1, 'host', CURRENT_TIMESTAMP - make_interval(days => $2), 1
         FROM generate_series(1, $3)`,
        [pkg, daysAgo, n],
      );
    await download("old-popular", 1000, 1); // popularity 9
    await download("less-popular", 7, 2); // popularity 3
    await download("unknown", 5000, 40); // all of it too long ago
    assertEquals(await h.db.refreshPopularity(), 2);
    assertEquals(await h.db.refreshPopularity(), 0, "only what changed is written");
    assertEquals(await queue(h), {
      cp311: ["old-popular 1.0", "less-popular 1.0", "unknown 1.0", "raised 1.0"],
    });
    await h.db.setPriority("Raised", 5);
    assertEquals((await projectData(h.db, "raised"))?.priority, 5);
    assertEquals(await queue(h), {
      cp311: ["raised 1.0", "old-popular 1.0", "less-popular 1.0", "unknown 1.0"],
    });
    // a new release of a popular project goes before the backlog of unknown ones
    await h.db.addVersion("old-popular", "2.0", T("2024-04-01T00:00:00Z"));
    assertEquals((await queue(h, 2)).cp311, ["raised 1.0", "old-popular 2.0"]);
    await assertRejects(() => h.db.setPriority("nope", 1), DbError, "unknown package nope");
  },

  "LISTPKGS, LISTBUILDS, BUILDIDS, PKGSFILES, GETLOG: what piw-audit checks against": async (h) => {
    await withVersions(h, ["cp311"], [
      ["Foo.Bar", "1.0", "2024-01-01T00:00:00Z"],
      ["baz", "1.0", "2024-01-01T00:00:00Z"],
      ["qux", "1.0", "2024-01-01T00:00:00Z"],
    ]);
    assertEquals(await h.db.listPackages("", 2), [["baz", []], ["foo-bar", ["Foo.Bar"]]]);
    assertEquals(await h.db.listPackages("foo-bar", 10), [["qux", []]]);
    const w = wheel("foo_bar", "1.0");
    const first = (await h.db.logBuild(build("Foo.Bar", "1.0", "cp311", [w]))).buildId;
    const second = (await h.db.logBuild(build("baz", "1.0", "cp311"))).buildId;
    assertEquals(await h.db.listBuilds(0, 10), [first, second]);
    assertEquals(await h.db.listBuilds(first, 10), [second]);
    assertEquals(await h.db.knownBuilds([second + 100, second, 0, first, 2 ** 53 - 1]), [
      first,
      second,
    ]);
    assertEquals(
      await h.db.packagesFiles(["foo.bar", "qux"]),
      new Map([["foo-bar", [[w.filename, HASH]]], ["qux", []]]),
    );
    assertEquals(await h.db.buildOutput(first), "building Foo.Bar");
    assertEquals(await h.db.buildOutput(second + 100), null);
  },

  "YANKVER, UNYANKVER": async (h) => {
    await withVersions(h, [], [["foo", "1.0", "2024-01-01T00:00:00Z"]]);
    const yanked = async () => (await projectData(h.db, "foo"))?.versions[0]?.yanked;
    assertEquals(await yanked(), false);
    await h.db.yankVersion("foo", "1.0");
    assertEquals(await yanked(), true);
    await h.db.yankVersion("foo", "1.0", false);
    assertEquals(await yanked(), false);
    await assertRejects(() => h.db.yankVersion("foo", "2.0"), DbError, "unknown version foo 2.0");
  },

  "LOGBUILD, PKGFILES, VERFILES, FILEDEPS, FILEVERS": async (h) => {
    await withVersions(h, ["cp311"], [
      ["foo", "1.0", "2024-01-01T00:00:00Z"],
      ["foo", "2.0", "2024-02-01T00:00:00Z"],
    ]);
    const a = wheel("foo", "1.0", "cp311", "cp311", "linux_armv7l", { apt: ["libc6", "libz1"] });
    const b = wheel("foo", "1.0", "cp311", "cp311", "linux_aarch64", {
      apt: ["libc6"],
      pip: ["numpy"],
    });
    const { buildId: first, removed: none } = await h.db.logBuild(
      build("foo", "1.0", "cp311", [a, b]),
    );
    assertEquals(none, []);
    // a failure after a success of the same ABI is recorded beside it, replacing nothing
    const failed = (await h.db.logBuild(build("foo", "1.0", "cp311", [], false))).buildId;
    assert(first > 0 && failed > first, `ids ${first}, ${failed}`);
    assertEquals(await h.db.packageFiles("foo"), new Map([[b.filename, HASH], [a.filename, HASH]]));
    assertEquals(await h.db.versionFiles("foo", "1.0"), new Set([a.filename, b.filename]));
    assertEquals(await h.db.versionFiles("foo", "2.0"), new Set());
    assertEquals(await h.db.fileDependencies(a.filename), { apt: ["libc6", "libz1"] });
    assertEquals(await h.db.fileDependencies(b.filename), { apt: ["libc6"], pip: ["numpy"] });
    assertEquals(await h.db.fileDependencies("nope.whl"), {});
    const [out] = await h.admin<{ output: string }>(
      "SELECT output FROM output WHERE build_id = $1",
      [first],
    );
    assertEquals(out?.output, "building foo");

    assertEquals(
      await h.db.fileVersions([a.filename, "nope.whl"]),
      new Map([[a.filename, ["foo", "1.0"]]]),
    );
    // another version may not take a published file name over
    await assertRejects(
      () => h.db.logBuild(build("foo", "2.0", "cp311", [a])),
      DbError,
      `${a.filename} belongs to foo 1.0, not to foo 2.0`,
    );
    // a rebuild of the version replaces its builds for the ABI (the files of which it does not
    // make again are returned), and takes its own file names over with new sizes and dependencies
    const again = new FileState(
      a.filename,
      7,
      "f".repeat(64),
      "foo",
      "1.0",
      "cp311",
      "cp311",
      "linux_armv7l",
      { apt: ["libc7"] },
    );
    const third = await h.db.logBuild(build("foo", "1.0", "cp311", [again]));
    assertEquals(third.removed, [b.filename]);
    assertEquals(await h.db.fileDependencies(a.filename), { apt: ["libc7"] });
    assertEquals(await h.db.fileDependencies(b.filename), {});
    const v1 = (await projectData(h.db, "foo"))!.versions.find((v) => v.version === "1.0")!;
    assertEquals(v1.files.map((f) => [f.filename, f.buildId, f.filesize, f.filehash]), [
      [a.filename, third.buildId, 7, "f".repeat(64)],
    ]);
    assertEquals(v1.builds.map((x) => x.buildId), [third.buildId]);
    await assertRejects(
      () => h.db.logBuild(build("foo", "9.9", "cp311")),
      DbError,
      "builds_versions_fk",
    );
  },

  "DELBUILD returns the files that went, and the version is pending again": async (h) => {
    await withVersions(h, ["cp311"], [["foo", "1.0", "2024-01-01T00:00:00Z"]]);
    const w = wheel("foo", "1.0");
    await h.db.logBuild(build("foo", "1.0", "cp311", [w]));
    assertEquals(await queue(h), { cp311: [] });
    assertEquals(await h.db.deleteBuilds("foo", "1.0"), [w.filename]);
    assertEquals(await h.db.versionFiles("foo", "1.0"), new Set());
    assertEquals(await queue(h), { cp311: ["foo 1.0"] });
    assertEquals(await h.db.deleteBuilds("foo", "1.0"), []);
    await assertRejects(() => h.db.deleteBuilds("foo", "2.0"), DbError, "unknown version foo 2.0");
  },

  "DELVER and DELPKG remove everything and return the files that went": async (h) => {
    await withVersions(h, ["cp311"], [
      ["foo", "1.0", "2024-01-01T00:00:00Z"],
      ["foo", "2.0", "2024-02-01T00:00:00Z"],
      ["bar", "1.0", "2024-03-01T00:00:00Z"],
    ]);
    const [f1, f2] = [wheel("foo", "1.0"), wheel("foo", "2.0", "cp311", "cp311", "linux_armv7l")];
    await h.db.logBuild(build("foo", "1.0", "cp311", [f1]));
    await h.db.logBuild(build("foo", "2.0", "cp311", [f2]));
    await h.db.saveRewritesPending([["foo", T("2024-01-01T00:00:00Z"), "PKGBOTH"]]);
    assertEquals(await h.db.deleteVersion("foo", "1.0"), [f1.filename]);
    assertEquals(await h.db.versionExists("foo", "1.0"), false);
    assertEquals(await h.db.deletePackage("foo"), [f2.filename]);
    assertEquals(await h.db.packageExists("foo"), false);
    assertEquals(await h.db.allVersions(), [["bar", "1.0"]]);
    // foo's rewrites owed went with it; bar's (added) stays owed
    assertEquals((await h.db.loadRewritesPending()).map(([pkg]) => pkg), ["bar"]);
    assertEquals(await queue(h), { cp311: ["bar 1.0"] });
    const [left] = await h.admin<{ n: number }>(
      "SELECT (SELECT count(*) FROM builds) + (SELECT count(*) FROM files) + (SELECT count(*) FROM output) AS n",
    );
    assertEquals(left?.n, 0);
    await assertRejects(() => h.db.deleteVersion("foo", "2.0"), DbError, "unknown version foo 2.0");
    await assertRejects(() => h.db.deletePackage("foo"), DbError, "unknown package foo");
  },

  "GETQUEUE: newest first, the lowest ABI until a build shows the wheels are ABI-specific": async (
    h,
  ) => {
    await withVersions(h, ["cp311", "cp39", "cp313"], [
      ["pure", "1.0", "2024-01-01T00:00:00Z"],
      ["ext", "1.0", "2024-02-01T00:00:00Z"],
      ["flaky", "1.0", "2024-03-01T00:00:00Z"],
      ["stable", "1.0", "2024-04-01T00:00:00Z"],
    ]);
    assertEquals(await queue(h), {
      cp311: [],
      cp313: [],
      cp39: ["stable 1.0", "flaky 1.0", "ext 1.0", "pure 1.0"],
    });
    await h.db.logBuild(build("pure", "1.0", "cp39", [wheel("pure", "1.0")])); // covers every ABI
    await h.db.logBuild(
      build("ext", "1.0", "cp39", [wheel("ext", "1.0", "cp39", "cp39", "linux_armv7l")]),
    );
    await h.db.logBuild(build("flaky", "1.0", "cp39", [], false)); // not retried on cp39
    await h.db.logBuild(
      build("stable", "1.0", "cp39", [wheel("stable", "1.0", "abi3", "cp39", "linux_armv7l")]),
    );
    assertEquals(await queue(h), { cp311: ["flaky 1.0", "ext 1.0"], cp313: ["ext 1.0"], cp39: [] });
    assertEquals(await queue(h, 1), { cp311: ["flaky 1.0"], cp313: ["ext 1.0"], cp39: [] });
    await h.db.logBuild(build("flaky", "1.0", "cp311", [wheel("flaky", "1.0")]));
    assertEquals(await queue(h), { cp311: ["ext 1.0"], cp313: ["ext 1.0"], cp39: [] });
  },

  "GETQUEUE follows skips, new ABIs and skipped ABIs": async (h) => {
    await withVersions(h, ["cp39", "cp311"], [
      ["foo", "1.0", "2024-01-01T00:00:00Z"],
      ["foo", "2.0", "2024-02-01T00:00:00Z"],
      ["bar", "1.0", "2024-03-01T00:00:00Z"],
    ]);
    await h.db.skipVersion("foo", "2.0", "broken");
    await h.db.skipPackage("bar", "binary only");
    assertEquals(await queue(h), { cp311: [], cp39: ["foo 1.0"] });
    await h.db.skipPackage("bar", "");
    await h.db.skipVersion("foo", "2.0", "");
    assertEquals(await queue(h), { cp311: [], cp39: ["bar 1.0", "foo 2.0", "foo 1.0"] });
    await h.admin("INSERT INTO build_abis (abi_tag) VALUES ('cp37m')");
    assertEquals(await queue(h), {
      cp311: [],
      cp37m: ["bar 1.0", "foo 2.0", "foo 1.0"],
      cp39: [],
    });
    await h.admin("UPDATE build_abis SET skip = 'retired' WHERE abi_tag = 'cp37m'");
    assertEquals(await h.db.buildAbis(), new Set(["cp311", "cp39"]));
    assertEquals(await queue(h), { cp311: [], cp39: ["bar 1.0", "foo 2.0", "foo 1.0"] });
  },

  "GETABIS, LISTABIS, ADDABI, DELABI, SKIPABI, GETPYPI, SETPYPI": async (h) => {
    assertEquals(await h.db.buildAbis(), new Set());
    for (const abi of ["cp39", "cp311", "cp34m"]) assertEquals(await h.db.addBuildAbi(abi), true);
    assertEquals(await h.db.addBuildAbi("cp39"), false);
    assertEquals(await h.db.skipBuildAbi("cp34m", "old"), true);
    assertEquals(await h.db.skipBuildAbi("cp2", "x"), false);
    assertEquals([...await h.db.buildAbis()], ["cp311", "cp39"]);
    assertEquals(await h.db.listBuildAbis(), [["cp311", ""], ["cp34m", "old"], ["cp39", ""]]);
    assertEquals(await h.db.deleteBuildAbi("cp34m"), true);
    assertEquals(await h.db.deleteBuildAbi("cp34m"), false);
    await assertRejects(() => h.db.addBuildAbi("cp3!1"), DbError, "build_abis_tag_ck");
    assertEquals(await h.db.listBuildAbis(), [["cp311", ""], ["cp39", ""]]);
    assertEquals(await h.db.pypiSerial(), 0);
    await h.db.setPypiSerial(12_345_678_901);
    assertEquals(await h.db.pypiSerial(), 12_345_678_901);
    await h.db.setPypiSerial(5);
    assertEquals(await h.db.pypiSerial(), 12_345_678_901);
  },

  "LOGBATCH: downloads, searches, project, JSON and page hits, several kinds at once": async (
    h,
  ) => {
    await withVersions(h, ["cp311"], [["foo", "1.0", "2024-01-01T00:00:00Z"]]);
    const w = wheel("foo", "1.0");
    await h.db.logBuild(build("foo", "1.0", "cp311", [w]));
    const when = T("2024-05-06T07:08:09.123456Z");
    const agent = {
      ...emptyUserAgentInfo(),
      arch: "armv7l",
      pyVersion: "3.11.2",
      setuptoolsVersion: "66",
    };
    await h.db.logWebRecords([
      ["LOGDOWNLOAD", new DownloadState(w.filename, "10.0.0.1", when, agent).asMessage()],
      [
        "LOGDOWNLOAD",
        new DownloadState("gone-1.0-py3-none-any.whl", "10.0.0.2", when).asMessage(),
      ],
      ["LOGSEARCH", new SearchState("foo", "10.0.0.3", when, agent).asMessage()],
      ["LOGPROJECT", new ProjectState("foo", "10.0.0.4", when, "Mozilla/5.0").asMessage()],
      ["LOGJSON", new JSONState("foo", "10.0.0.5", when, "curl/8").asMessage()],
    ]);
    await h.db.logWebRecords([
      ["LOGPAGE", new PageState("faq", "10.0.0.6", when, "Mozilla/5.0").asMessage()],
    ]);
    assertEquals(
      await h.admin(`SELECT d.filename, d.package, d.accessed_by, d.accessed_at, a.agent
                     FROM downloads AS d JOIN user_agents AS a ON a.agent_id = d.agent_id
                     ORDER BY d.accessed_by`),
      [
        {
          filename: w.filename,
          package: "foo",
          accessed_by: "10.0.0.1",
          accessed_at: when,
          agent: { arch: "armv7l", py_version: "3.11.2", setuptools_version: "66" },
        },
        {
          filename: "gone-1.0-py3-none-any.whl",
          package: null,
          accessed_by: "10.0.0.2",
          accessed_at: when,
          agent: {},
        },
      ],
    );
    assertEquals(
      await h.admin(`SELECT s.package, s.accessed_by, s.accessed_at, a.agent
                     FROM searches AS s JOIN user_agents AS a ON a.agent_id = s.agent_id`),
      [{
        package: "foo",
        accessed_by: "10.0.0.3",
        accessed_at: when,
        agent: { arch: "armv7l", py_version: "3.11.2", setuptools_version: "66" },
      }],
    );
    assertEquals(await h.admin("SELECT count(*) AS n FROM user_agents"), [{ n: 2 }]);
    assertEquals(await h.admin("SELECT * FROM web_hits ORDER BY accessed_by"), [
      {
        kind: "project",
        name: "foo",
        accessed_by: "10.0.0.4",
        accessed_at: when,
        user_agent: "Mozilla/5.0",
      },
      {
        kind: "json",
        name: "foo",
        accessed_by: "10.0.0.5",
        accessed_at: when,
        user_agent: "curl/8",
      },
      {
        kind: "page",
        name: "faq",
        accessed_by: "10.0.0.6",
        accessed_at: when,
        user_agent: "Mozilla/5.0",
      },
    ]);
  },

  "GETSTATS, GETSEARCH": async (h) => {
    await withVersions(h, ["cp39", "cp311"], [
      ["foo", "1.0", "2024-01-01T00:00:00Z"],
      ["bar", "1.0", "2024-02-01T00:00:00Z"],
      ["baz", "1.0", "2024-03-01T00:00:00Z"],
    ]);
    const w = wheel("foo", "1.0", "cp39", "cp39", "linux_armv7l");
    await h.db.logBuild(build("foo", "1.0", "cp39", [w]));
    await h.db.logBuild(build("bar", "1.0", "cp39", [], false));
    const now = Timestamp.now();
    const old = now.plus(Duration.of({ days: -40 }));
    await h.db.logWebRecords(
      [now, now, old].map((
        at,
      ) => ["LOGDOWNLOAD", new DownloadState(w.filename, "h", at).asMessage()]),
    );
    assertEquals(await h.db.statistics(), {
      packages_built: 1,
      builds_count: 2,
      builds_last_hour: 2,
      builds_success: 1,
      builds_time: TOOK.plus(TOOK),
      builds_size: w.filesize,
      builds_pending: 3, // foo and bar on cp311 (after cp39), baz on cp39 (its first ABI)
      files_count: 1,
      downloads_last_month: 2,
      downloads_all: 3,
    });
    assertEquals(
      await h.db.searchIndex(),
      new Map([["bar", [0, 0]], ["baz", [0, 0]], ["foo", [2, 3]]]),
    );
    // HISTORY and a project's downloads per day: the last 30 days only, by UTC day
    const today = now.toString().slice(0, 10);
    assertEquals(await h.db.history(30, null), {
      builds: [[today, 1, 1]],
      downloads: [[today, 2]],
    });
    assertEquals(await h.db.history(30, "bar"), { builds: [[today, 0, 1]], downloads: [] });
    assertEquals(await h.db.history(60, "foo"), {
      builds: [[today, 1, 0]],
      downloads: [[old.toString().slice(0, 10), 1], [today, 2]],
    });
    assertEquals((await projectData(h.db, "foo"))!.downloadsDaily, [[today, 2]]);
    // builds of 285 years (an older master believed any slave): their sum is no duration, and
    // every statistics request failed from then on; it is cut at a century
    const ages = Duration.of({ days: 104_000 });
    for (const abi of ["cp39", "cp311"]) {
      await h.db.logBuild(new BuildState(3, "baz", "1.0", abi, false, ages, "took ages", []));
    }
    assertEquals((await h.db.statistics()).builds_time, Duration.of({ days: 36_500 }));
  },

  "PROJDATA: versions, their state per ABI, builds, files and downloads": async (h) => {
    await withVersions(h, ["cp39", "cp311"], [
      ["foo", "1.0", "2024-01-01T00:00:00Z"],
      ["foo", "1.1", "2024-02-01T00:00:00Z"],
      ["foo", "1.2", "2024-03-01T00:00:00Z"],
    ]);
    await h.db.skipVersion("foo", "1.2", "broken");
    const w = wheel("foo", "1.0", "cp39", "cp39", "linux_armv7l", { apt: ["libc6"] });
    const id = (await h.db.logBuild(build("foo", "1.0", "cp39", [w]))).buildId;
    const failed = (await h.db.logBuild(build("foo", "1.1", "cp39", [], false))).buildId;
    await h.db.logWebRecords([
      ["LOGDOWNLOAD", new DownloadState(w.filename, "h", Timestamp.now()).asMessage()],
    ]);
    assertEquals(await projectData(h.db, "nope"), null);
    // several at once, in the order asked, by any spelling
    const texts = await h.db.projectDataJson(["nope", "FOO", "foo", "nope"]);
    assertEquals(texts.map((t) => t && JSON.parse(t).package), [null, "foo", "foo", null]);
    const data = (await projectData(h.db, "foo"))!;
    assertEquals([data.package, data.downloadsRecent, data.downloadsAll], ["foo", 1, 1]);
    assertEquals(data.versions.map((v) => [v.version, v.skip, v.abis]), [
      ["1.2", "broken", { cp39: "skipped", cp311: "skipped" }],
      ["1.1", "", { cp39: "failed", cp311: "pending" }],
      ["1.0", "", { cp39: "built", cp311: "pending" }],
    ]);
    const [b] = data.versions[2]!.builds;
    assertEquals([b?.buildId, b?.abiTag, b?.status, b?.builtBy, b?.duration], [
      id,
      "cp39",
      true,
      3,
      TOOK,
    ]);
    assertInstanceOf(b?.builtAt, Timestamp);
    assertEquals(data.versions[1]!.builds.map((x) => [x.buildId, x.status]), [[failed, false]]);
    assertEquals(data.versions[2]!.files, [{
      filename: w.filename,
      buildId: id,
      filesize: w.filesize,
      filehash: HASH,
      packageTag: "foo",
      packageVersionTag: "1.0",
      pyVersionTag: "cp39",
      abiTag: "cp39",
      platformTag: "linux_armv7l",
      requiresPython: null,
      metadataHash: null,
      dependencies: { apt: ["libc6"] },
    }]);
  },

  "SAVERWP, LOADRWP, RWPDONE: the rewrites owed, each paid by the seq its pages were read with":
    async (
      h,
    ) => {
      const owed = async () =>
        (await h.db.loadRewritesPending()).map(([p, , part]) => `${p} ${part}`);
      /** The seq each package's pages would be written with, as PROJDATA says. */
      const seqs = async (...pkgs: string[]): Promise<[string, number][]> =>
        (await h.db.projectDataJson(pkgs)).map((
          text,
          i,
        ) => [pkgs[i]!, JSON.parse(text!).rewrite?.seq]);
      await withVersions(h, ["cp311"], [["foo", "1.0", "2024-01-01T00:00:00Z"], [
        "bar",
        "1.0",
        "2024-01-01T00:00:00Z",
      ]]);
      // adding them owed their pages, in the same transaction
      assertEquals((await owed()).sort(), ["bar PKGBOTH", "foo PKGBOTH"]);
      await h.db.rewritesDone(await seqs("foo", "bar"));
      assertEquals(await owed(), []);
      // a build owes both pages; a description the project page; a new popularity nothing
      await h.db.logBuild(build("foo", "1.0", "cp311", [wheel("foo", "1.0")]));
      await h.db.setDescription("bar", "Bar things");
      await h.db.refreshPopularity();
      assertEquals((await owed()).sort(), ["bar PKGPROJ", "foo PKGBOTH"]);
      // pages read before a later change do not pay for it
      const early = await seqs("foo", "bar");
      await h.db.logBuild(build("foo", "1.0", "cp311", [], false));
      await h.db.rewritesDone(early);
      assertEquals(await owed(), ["foo PKGBOTH"]);
      await h.db.rewritesDone(await seqs("foo"));
      assertEquals(await owed(), []);
      // the Secretary's own, as it stops: merged, unknown packages dropped
      const [t1, t2] = [T("2024-05-06T07:08:09.000001Z"), T("2024-05-06T07:08:10.5Z")];
      await h.db.saveRewritesPending([
        ["foo", t2, "PKGPROJ"],
        ["bar", t1, "PKGPROJ"],
        ["foo", T("2024-05-07T00:00:00Z"), "PKGBOTH"],
        ["gone", t1, "PKGBOTH"],
      ]);
      assertEquals(await h.db.loadRewritesPending(), [["bar", t1, "PKGPROJ"], [
        "foo",
        t2,
        "PKGBOTH",
      ]]);
      // saving again keeps what is owed, with a new seq: pages being written do not pay it
      const before = await seqs("bar");
      await h.db.saveRewritesPending([]);
      await h.db.saveRewritesPending([["bar", t2, "PKGBOTH"]]);
      await h.db.rewritesDone(before);
      assertEquals(await h.db.loadRewritesPending(), [["bar", t1, "PKGBOTH"], [
        "foo",
        t2,
        "PKGBOTH",
      ]]);
    },

  "the master's role can read every table and write none": async (h) => {
    const tables = await h.admin<{ name: string; col: string }>(`
      SELECT c.relname AS name, a.attname AS col
      FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = 1
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`);
    assertEquals(tables.map((t) => t.name), [
      "build_abis",
      "build_queue",
      "builds",
      "configuration",
      "dependencies",
      "downloads",
      "files",
      "output",
      "package_names",
      "packages",
      "rewrites_pending",
      "searches",
      "user_agents",
      "versions",
      "web_hits",
    ]);
    const as = h.db.connection;
    for (const { name, col } of tables) {
      const t = quoteIdent(name);
      await as.query(`SELECT * FROM ${t} LIMIT 1`);
      for (
        const sql of [
          `INSERT INTO ${t} DEFAULT VALUES`,
          `UPDATE ${t} SET ${quoteIdent(col)} = ${quoteIdent(col)}`,
          `DELETE FROM ${t}`,
          `TRUNCATE ${t}`,
        ]
      ) {
        const e = await assertRejects(() => as.query(sql), DbError, "permission denied", sql);
        assertEquals(e.code, "42501", sql);
      }
    }
    for (const sql of ["SELECT add_new_package('x')", "SELECT * FROM get_build_queue(1)"]) {
      await assertRejects(() => h.outsider(sql), DbError, "permission denied", sql);
    }
    assertEquals(await h.db.packageExists("x"), false);
  },

  "the master refuses a schema version other than its own": async (h) => {
    try {
      await h.admin("UPDATE configuration SET version = '0.0.1'");
      await assertRejects(() => h.reopen(), SchemaError, "has schema version 0.0.1, but piwheels");
      await h.admin("UPDATE configuration SET version = '99.0.0'");
      await assertRejects(() => h.reopen(), SchemaError, "upgrade piwheels");
    } finally {
      await h.admin(`UPDATE configuration SET version = '${SCHEMA_VERSION}'`);
    }
    await h.reopen();
  },
};

async function reset(h: Harness) {
  await h.admin(
    "TRUNCATE packages, build_abis, user_agents, web_hits, searches RESTART IDENTITY CASCADE",
  );
  await h.admin("UPDATE configuration SET pypi_serial = 0");
}

async function runCases(t: Deno.TestContext, h: Harness) {
  for (const [name, fn] of Object.entries(cases)) {
    await t.step(name, async () => {
      await reset(h);
      await fn(h);
    });
  }
}

Deno.test("db (PostgreSQL): every operation, permissions and refusals", async (t) => {
  await using scratch = await scratchDatabase();
  const admin = await connect(scratch.superDsn);
  try {
    await applyPlan(admin, await preparePlan(admin, scratch.user));
    const outsider = uniqueName("piwtest_outsider");
    await admin.exec(`CREATE ROLE ${quoteIdent(outsider)}`);
    const db = await MasterDb.open(scratch.userDsn);
    try {
      await runCases(t, {
        db,
        admin: (sql, params) => admin.query(sql, params),
        outsider: (sql) =>
          admin.transaction(async (tx) => {
            await tx.exec(`SET LOCAL ROLE ${quoteIdent(outsider)}`);
            return await tx.query(sql);
          }),
        reopen: async () => await (await MasterDb.open(scratch.userDsn)).close(),
      });
      await t.step("the master refuses to connect as a superuser", async () => {
        await assertRejects(
          () => MasterDb.open(scratch.superDsn),
          SchemaError,
          "cluster superuser",
        );
      });
      await t.step("the master refuses a database without the schema", async () => {
        await using empty = await scratchDatabase();
        await assertRejects(() => MasterDb.open(empty.userDsn), SchemaError, "run piw-initdb");
      });
    } finally {
      await db.close();
      await admin.exec(`DROP ROLE ${quoteIdent(outsider)}`);
    }
  } finally {
    await admin.close();
  }
});

Deno.test("db (PGlite): the same operations on an embedded database made on first use", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "piwtest_pglite_" });
  const conn = await connect(`pglite://${dir}/db`);
  try {
    const db = await MasterDb.attach(conn);
    const asSuperuser = async <T>(fn: () => Promise<T>): Promise<T> => {
      await conn.exec("RESET ROLE");
      try {
        return await fn();
      } finally {
        await conn.exec(`SET ROLE ${EMBEDDED_USER}`);
      }
    };
    await conn.exec("RESET ROLE");
    await conn.exec("CREATE ROLE outsider");
    await conn.exec(`SET ROLE ${EMBEDDED_USER}`);
    await runCases(t, {
      db,
      admin: (sql, params) => asSuperuser(() => conn.query(sql, params)),
      outsider: (sql) =>
        asSuperuser(async () => {
          await conn.exec("SET ROLE outsider");
          return await conn.query(sql);
        }),
      reopen: async () => void await MasterDb.attach(conn),
    });
    await t.step(
      "the embedded master runs as the ordinary role the schema was made for",
      async () => {
        assertEquals(await conn.query("SELECT current_user AS me"), [{ me: EMBEDDED_USER }]);
        const [v] = await conn.query<{ v: string }>(
          "SELECT current_setting('server_version') AS v",
        );
        assertStringIncludes(v!.v, "18");
      },
    );
    await t.step("the embedded schema is the one piw-initdb makes on PostgreSQL", async () => {
      await using scratch = await scratchDatabase();
      const pg = await connect(scratch.superDsn);
      try {
        await applyPlan(pg, await preparePlan(pg, scratch.user));
        const embedded = await asSuperuser(() => fingerprint(conn, EMBEDDED_USER));
        assertEquals(embedded, await fingerprint(pg, scratch.user));
      } finally {
        await pg.close();
      }
    });
    await t.step("a second process cannot open the same data directory", async () => {
      await assertRejects(() => connect(`pglite://${dir}/db`), DbError, "another process");
    });
  } finally {
    await conn.close();
    await Deno.remove(dir, { recursive: true });
  }
});
