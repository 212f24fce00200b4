import { assertEquals } from "../tests/assert.ts";
import { normalizeVersion, sameVersion } from "./pep440.ts";

Deno.test("normalizeVersion: packaging's normal forms", () => {
  const cases: [string, string | null][] = [
    ["1.0", "1.0"],
    ["1.0.0", "1.0.0"],
    ["v1.0", "1.0"],
    ["01.002", "1.2"],
    ["1.0-Beta.2", "1.0b2"],
    ["1.0alpha", "1.0a0"],
    ["1.0c1", "1.0rc1"],
    ["1.0.preview-3", "1.0rc3"],
    ["1.0-1", "1.0.post1"],
    ["1.0.post", "1.0.post0"],
    ["1.0_rev2", "1.0.post2"],
    ["1.0.DEV", "1.0.dev0"],
    ["1.0a1.post2.dev3", "1.0a1.post2.dev3"],
    ["0!1.0", "1.0"],
    ["2!1.0", "2!1.0"],
    ["1.0+Ubuntu-1", "1.0+ubuntu.1"],
    ["1.0+abc.007", "1.0+abc.7"],
    ["  1.0  ", "1.0"],
    ["99999999999999999999.1", "99999999999999999999.1"],
    ["2004d", null],
    ["1.0-", null],
    ["1.0+", null],
    ["", null],
    ["1..0", null],
  ];
  for (const [version, normal] of cases) assertEquals(normalizeVersion(version), normal, version);
});

Deno.test("sameVersion: as PEP 440 compares, legacy versions by string", () => {
  assertEquals(sameVersion("1.0-beta", "1.0b0"), true);
  // trailing zeros of the release do not count, as pip's `==` and packaging's Version hold
  assertEquals(sameVersion("1.0", "1.0.0"), true);
  assertEquals(sameVersion("1", "1.0.0.0"), true);
  assertEquals(sameVersion("1!2.0rc1", "1!2rc1"), true);
  assertEquals(sameVersion("1.0.post1.dev2", "1.post1.dev2"), true);
  assertEquals(sameVersion("10.0", "10"), true);
  assertEquals(sameVersion("1.0.1", "1.1"), false);
  assertEquals(sameVersion("1.0.10", "1.10"), false);
  assertEquals(sameVersion("2.0", "20"), false);
  assertEquals(sameVersion("1.0", "2.0"), false);
  assertEquals(sameVersion("2004d", "2004d"), true);
  assertEquals(sameVersion("2004-d", "2004_d"), true);
  assertEquals(sameVersion("2004d", "1.0"), false);
  assertEquals(sameVersion("1.0", "1.0+local"), false);
});
