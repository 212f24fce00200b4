import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { superDsn } from "../../tests/db.ts";
import { CREATE_SCRIPT, SCHEMA_VERSION, UPDATE_SCRIPTS } from "../../sql/scripts.ts";
import { connect } from "./driver.ts";
import {
  compareVersions,
  describePlan,
  grantStatements,
  type Plan,
  planScripts,
  runScript,
  SchemaError,
} from "./schema.ts";

Deno.test("schema: versions compare numerically, part by part", () => {
  assert(compareVersions("0.10.0", "0.9.1") > 0);
  assert(compareVersions("0.1", "0.1.0") === 0);
  assert(compareVersions("0.0.1", "0.1.0") < 0);
  assert(compareVersions("1.0.0", "0.99.99") > 0);
});

const step = (from: string, to: string) => ({ name: `${from}-${to}`, from, to, text: "" });
const chain = [step("0.1", "0.2"), step("0.2", "0.3"), step("0.3", "0.5")];
const create = { name: "create", text: "" };

Deno.test("schema: an empty database is created, an older one upgraded along the chain", () => {
  assertEquals(planScripts(null, "0.5", chain, create), [create]);
  assertEquals(planScripts("0.1", "0.5", chain, create), chain);
  assertEquals(planScripts("0.3", "0.5", chain, create), [chain[2]!]);
  assertEquals(planScripts(null), [CREATE_SCRIPT]);
  assertEquals(planScripts("0.0.1"), [...UPDATE_SCRIPTS]);
});

Deno.test("schema: a software release that leaves the schema alone needs no script", () => {
  // piwheels 0.5.1 with schema 0.5 runs on a 0.5 database as it is
  assertEquals(planScripts("0.5", "0.5", chain, create), []);
  assertEquals(planScripts(SCHEMA_VERSION), []);
});

Deno.test("schema: newer and unknown versions are refused, saying which", () => {
  assertThrows(() => planScripts("0.6", "0.5", chain, create), SchemaError, "0.6 is newer than");
  assertThrows(
    () => planScripts("0.4", "0.5", chain, create),
    SchemaError,
    "unknown schema version 0.4",
  );
  assertThrows(
    () => planScripts("0.0.9", "0.5", chain, create),
    SchemaError,
    "no upgrade from 0.0.9",
  );
  assertThrows(
    () => planScripts("0.2", "0.4", chain, create),
    SchemaError,
    "unknown schema version 0.2",
  );
  // the Python piwheels' versions have two parts: not "newer" than 0.6.0
  assertThrows(
    () => planScripts("0.16", "0.6.0", chain, create),
    SchemaError,
    "0.16 is no version of this piwheels' schema (0.6.0 here): it looks like the Python piwheels'",
  );
});

Deno.test("schema: the plan is said in one sentence", () => {
  const plan: Plan = {
    database: "piwheels",
    user: "piw",
    createUser: false,
    from: null,
    to: "0.5",
    scripts: [create],
  };
  assertEquals(
    describePlan(plan),
    "will create the piwheels schema version 0.5 in database piwheels for user piw",
  );
  assertEquals(
    describePlan({ ...plan, from: "0.2", scripts: chain.slice(1) }),
    "will upgrade the piwheels schema in database piwheels from version 0.2 to 0.5 " +
      "(0.2-0.3, 0.3-0.5) for user piw",
  );
  assert(describePlan({ ...plan, from: "0.5", scripts: [] }).includes("at version 0.5 already"));
  assert(describePlan({ ...plan, createUser: true }).endsWith("for a new role piw"));
});

Deno.test("schema: grants name the user as a quoted identifier", () => {
  assertEquals(grantStatements('odd"name'), [
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, "odd""name"',
    'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, "odd""name"',
    'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, "odd""name"',
    'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "odd""name"',
    'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO "odd""name"',
  ]);
});

Deno.test("schema: a script failure names the script, line and statement", async () => {
  const db = await connect(superDsn());
  try {
    const rolledBack = new Error("rolled back");
    const script = {
      name: "broken.sql",
      text: "CREATE TEMPORARY TABLE t (x integer);\n-- then\nINSERT INTO t\n  VALUES ('x');\n",
    };
    await assertRejects(
      () => db.transaction((tx) => runScript(tx, script)),
      SchemaError,
      `broken.sql, line 3: INSERT INTO t: invalid input syntax for type integer: "x"`,
    );
    const control = { name: "commit.sql", text: "SELECT 1;\ncommit;" };
    await assertRejects(
      () => db.transaction((tx) => runScript(tx, control)),
      SchemaError,
      "commit.sql, line 2: commit: scripts must not control the transaction",
    );
    const ok = {
      name: "ok.sql",
      text: "CREATE TEMPORARY TABLE u (x integer); INSERT INTO u VALUES (1)",
    };
    const e = await assertRejects(() =>
      db.transaction(async (tx) => {
        await runScript(tx, ok);
        assertEquals(await tx.query("SELECT x FROM u"), [{ x: 1 }]);
        throw rolledBack;
      })
    );
    assertEquals(e, rolledBack);
  } finally {
    await db.close();
  }
});
