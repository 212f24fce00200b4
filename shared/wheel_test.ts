import { assertEquals, assertMatch, assertThrows } from "../tests/assert.ts";
import {
  type ClaimedWheel,
  normalizeName,
  parseWheelFilename,
  TAG,
  TAG_SET,
  versionAfter,
  WheelNameError,
  wheelRefusal,
} from "./wheel.ts";

function claimed(filename: string): ClaimedWheel {
  const t = parseWheelFilename(filename);
  return {
    filename,
    packageTag: t.packageTag,
    packageVersionTag: t.packageVersionTag,
    pyVersionTag: t.pyVersionTag,
    abiTag: t.abiTag,
    platformTag: t.platformTag,
  };
}

Deno.test("wheel names: the tags of good names, refusals of bad ones", () => {
  assertEquals(parseWheelFilename("foo_bar-1.0-2b-cp311-cp311-linux_armv7l.whl"), {
    packageTag: "foo_bar",
    packageVersionTag: "1.0",
    buildTag: "2b",
    pyVersionTag: "cp311",
    abiTag: "cp311",
    platformTag: "linux_armv7l",
  });
  assertEquals(
    parseWheelFilename("zope.interface-6.0-py2.py3-none-manylinux_2_17_x86_64.any.whl")
      .pyVersionTag,
    "py2.py3",
  );
  for (
    const bad of [
      "foo-1.0-py3-none-any.zip",
      "foo-1.0-py3-none.whl",
      "foo-1.0-x-y-z-py3-none-any.whl",
      "foo-1.0-py3-cp3!1-any.whl",
      "foo-1.0-py3..py2-none-any.whl",
      "foo-1.0-b-py3-none-any.whl",
      "_foo-1.0-py3-none-any.whl",
      "foo-1.0-py3-none-any .whl",
    ]
  ) {
    assertThrows(() => parseWheelFilename(bad), WheelNameError, undefined, bad);
  }
});

Deno.test("PEP 425 tags: single tags and compressed sets", () => {
  for (const t of ["cp311", "311", "linux_armv7l", "abi3", "none"]) assertEquals(TAG.test(t), true);
  for (const t of ["cp3!1", "cp 311", "", "cp311.cp312", "x".repeat(101)]) {
    assertEquals(TAG.test(t), false, t);
  }
  assertEquals(TAG_SET.test("py2.py3"), true);
  assertEquals(TAG_SET.test("py2..py3"), false);
});

Deno.test("wheelRefusal: only a wheel of the build's own project, version and ABI passes", () => {
  const ok = (f: string, project = "legit-one", version = "2.0", abi = "cp311") =>
    wheelRefusal(claimed(f), project, version, abi);
  assertEquals(ok("legit_one-2.0-py3-none-any.whl"), null);
  assertEquals(ok("Legit.One-2.0-cp311-cp311-linux_armv7l.whl"), null);
  assertEquals(ok("legit_one-2.0-cp311-abi3-linux_armv7l.whl"), null);
  assertEquals(ok("legit_one-2.0b0-py3-none-any.whl", "legit-one", "2.0-beta"), null);
  assertMatch(ok("legit_one-1.0-py3-none-any.whl")!, /version 1\.0, not 2\.0/);
  assertMatch(ok("totally_other-6.6.6-py3-none-any.whl")!, /wheel of totally_other, not of/);
  assertMatch(ok("legit_one-2.0-cp39-cp39-linux_armv7l.whl")!, /ABI cp39, but the build was/);
  const junk = {
    ...claimed("legit_one-2.0-py3-none-any.whl"),
    filename: "legit_one-2.0-py3-cp3!1-any.whl",
  };
  assertMatch(wheelRefusal(junk, "legit-one", "2.0", "cp311")!, /not a PEP 425 tag/);
  const lying = { ...claimed("legit_one-2.0-py3-none-any.whl"), platformTag: "linux_armv7l" };
  assertMatch(wheelRefusal(lying, "legit-one", "2.0", "cp311")!, /platform tag was given as/);
  const noabi = { ...claimed("legit_one-2.0-py3-noabi-any.whl"), abiTag: "none" };
  assertEquals(wheelRefusal(noabi, "legit-one", "2.0", "cp311"), null);
  assertEquals(normalizeName("Legit._-One"), "legit-one");
});

Deno.test("versionAfter: what follows a spelling of the name and its dash, read once", () => {
  assertEquals(versionAfter("Tiny__.-Demo-0.1", "tiny-demo"), "0.1");
  assertEquals(versionAfter("tiny-demo-0.1", "tiny"), "demo-0.1");
  assertEquals(versionAfter("tiny-demo--0.1", "tiny-demo"), "-0.1");
  assertEquals(versionAfter("tiny_-0.1", "tiny"), null);
  assertEquals(versionAfter("tiny-demos-0.1", "tiny-demo"), null);
  assertEquals(versionAfter("-tiny-0.1", "tiny"), null);
  assertEquals(versionAfter("tiny", "tiny"), null);
  // the slave and the master both read index pages of names such as this one
  assertEquals(versionAfter(`${"a-".repeat(40_000)}1.0`, "a"), `${"a-".repeat(39_999)}1.0`);
  assertEquals(versionAfter(`${"a-".repeat(40_000)}1.0`, "b"), null);
});
