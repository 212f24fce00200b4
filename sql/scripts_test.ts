import { assert, assertEquals } from "../tests/assert.ts";
import { compareVersions } from "../shared/db/schema.ts";
import { splitStatements } from "../shared/db/statements.ts";
import { VERSION } from "../shared/version.ts";
import { CREATE_SCRIPT, SCHEMA_VERSION, UPDATE_SCRIPTS } from "./scripts.ts";

const here = new URL(".", import.meta.url).pathname;

Deno.test("scripts: every .sql file here is listed, and every listed one is here", async () => {
  const files = [];
  for await (const entry of Deno.readDir(here)) {
    if (entry.name.endsWith(".sql")) files.push(entry.name);
  }
  assertEquals(files.sort(), [CREATE_SCRIPT.name, ...UPDATE_SCRIPTS.map((s) => s.name)].sort());
  for (const script of [CREATE_SCRIPT, ...UPDATE_SCRIPTS]) {
    assertEquals(script.text, await Deno.readTextFile(`${here}${script.name}`), script.name);
  }
  for (const u of UPDATE_SCRIPTS) assertEquals(u.name, `update_piwheels_${u.from}_to_${u.to}.sql`);
});

Deno.test("scripts: the chain is ordered, ends at the schema version, which the software has", () => {
  for (let i = 0; i < UPDATE_SCRIPTS.length; i++) {
    const u = UPDATE_SCRIPTS[i]!;
    assert(compareVersions(u.from, u.to) < 0, `${u.name} goes backwards`);
    if (i > 0) assertEquals(u.from, UPDATE_SCRIPTS[i - 1]!.to, `${u.name} does not follow on`);
  }
  assertEquals(UPDATE_SCRIPTS.at(-1)?.to, SCHEMA_VERSION);
  assert(compareVersions(SCHEMA_VERSION, VERSION) <= 0, "the schema is newer than the software");
});

Deno.test("scripts: each sets the version it leaves and leaves the transaction alone", () => {
  const sets = (text: string) =>
    splitStatements(text).flatMap((s) =>
      /^(?:INSERT INTO configuration \(id, version\) VALUES \(1, |UPDATE configuration SET version = )'([^']+)'/
        .exec(s.text)?.slice(1) ?? []
    );
  assertEquals(sets(CREATE_SCRIPT.text), [SCHEMA_VERSION]);
  for (const u of UPDATE_SCRIPTS) assertEquals(sets(u.text), [u.to], u.name);
  for (const script of [CREATE_SCRIPT, ...UPDATE_SCRIPTS]) {
    for (const s of splitStatements(script.text)) {
      assert(!/^(BEGIN|COMMIT|ROLLBACK|END|START)\b/i.test(s.text), `${script.name}: ${s.text}`);
    }
  }
});
