/**
 * Release data from a (fake) PyPI over real HTTP: the JSON API and PEP 691 sources, what they
 * keep of honest answers, and what they make of hostile ones (too big, too slow, not JSON,
 * lying fields): refused or cleaned, never believed, never waited on past the limit.
 */

import { assertEquals, assertRejects } from "../tests/assert.ts";
import { FakePyPI } from "../tests/fixtures/fake_pypi.ts";
import {
  cleanDescription,
  cleanRequiresPython,
  isFileOf,
  JsonApiSource,
  ReleaseDataError,
  SimpleApiSource,
} from "./release_data.ts";

Deno.test("release data: the JSON API gives a release's summary, Requires-Python and yank", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("Tiny.Demo", "0.1", {}, { requiresPython: ">=3.9" });
  await pypi.release("tiny-demo", "0.2");
  pypi.describe("tiny_demo", "A tiny demo");
  pypi.yank("Tiny.Demo", "0.1");
  const source = new JsonApiSource(pypi.xmlrpcUrl);
  assertEquals(await source.lookup("Tiny.Demo", "0.1"), {
    description: "A tiny demo",
    requiresPython: ">=3.9",
    yanked: true,
  });
  assertEquals(await source.lookup("tiny-demo", "0.2"), {
    description: "A tiny demo",
    requiresPython: null,
    yanked: false,
  });
  assertEquals(await source.lookup("tiny-demo", "9.9"), null, "an unknown release");
  assertEquals(await source.lookup("nonesuch", "1.0"), null, "an unknown project");
});

Deno.test("release data: PEP 691 gives Requires-Python and yanks, no description", async () => {
  await using pypi = new FakePyPI({ json: true });
  await pypi.release("Tiny.Demo", "0.1", {}, { requiresPython: ">=3.9" });
  await pypi.release("Tiny.Demo", "0.10");
  pypi.describe("tiny-demo", "ignored: PEP 691 has no descriptions");
  pypi.yank("Tiny.Demo", "0.10");
  const source = new SimpleApiSource(pypi.simpleUrl);
  assertEquals(await source.lookup("tiny_demo", "0.1"), {
    description: null,
    requiresPython: ">=3.9",
    yanked: false,
  });
  assertEquals(await source.lookup("Tiny.Demo", "0.10"), {
    description: null,
    requiresPython: null,
    yanked: true,
  });
  assertEquals(await source.lookup("Tiny.Demo", "0.2"), null, "no file of the release");
  assertEquals(pypi.pages.at(-1), "json /simple/tiny-demo/");
});

Deno.test("release data: hostile answers are refused or cleaned, within the limits", async (t) => {
  await using pypi = new FakePyPI({ json: true });
  await pypi.release("evil", "1.0");
  const json = new JsonApiSource(pypi.xmlrpcUrl, 1_000);
  const simple = new SimpleApiSource(pypi.simpleUrl, 1_000);
  await t.step("more than the size limit is abandoned", async () => {
    pypi.hostile("evil", "huge");
    await assertRejects(() => json.lookup("evil", "1.0"), ReleaseDataError, "more than 4194304");
  });
  await t.step("an answer that never ends is abandoned at the time limit", async () => {
    pypi.hostile("evil", "stall");
    await assertRejects(() => json.lookup("evil", "1.0"), ReleaseDataError, "within 1000 ms");
    await assertRejects(() => simple.lookup("evil", "1.0"), ReleaseDataError, "within 1000 ms");
  });
  await t.step("what is not JSON, or not the JSON expected, is refused", async () => {
    pypi.hostile("evil", "garbage");
    await assertRejects(() => json.lookup("evil", "1.0"), ReleaseDataError, "not valid JSON");
    pypi.hostile("evil", "lies");
    await assertRejects(
      () => simple.lookup("evil", "1.0"),
      ReleaseDataError,
      "not a PEP 691 project page",
    );
  });
  await t.step("fields that are not what they should be are not believed", async () => {
    assertEquals(await json.lookup("evil", "1.0"), {
      description: "evil [31m summary with lines",
      requiresPython: null,
      yanked: null,
    });
  });
  await t.step("an honest answer again is believed again", async () => {
    pypi.hostile("evil", null);
    assertEquals(await json.lookup("evil", "1.0"), {
      description: null,
      requiresPython: null,
      yanked: false,
    });
  });
  await t.step("a server that is not there is an error, not a hang", async () => {
    await assertRejects(
      () => new JsonApiSource("http://127.0.0.1:9/pypi", 1_000).lookup("evil", "1.0"),
      ReleaseDataError,
    );
  });
});

Deno.test("release data: descriptions and specifiers are kept only when sound", () => {
  assertEquals(cleanDescription("  one\tline\r\nand\u0000more\u202e "), "one line and more");
  assertEquals(cleanDescription("x".repeat(5000))?.length, 1000);
  assertEquals(cleanDescription(""), null);
  assertEquals(cleanDescription(42), null);
  assertEquals(cleanRequiresPython(">=3.8, !=3.9.*"), ">=3.8, !=3.9.*");
  assertEquals(cleanRequiresPython(" >=3 "), ">=3");
  assertEquals(cleanRequiresPython('"><b>'), null);
  assertEquals(cleanRequiresPython(">=3".repeat(100)), null);
  assertEquals(cleanRequiresPython(""), null);
  assertEquals(cleanRequiresPython(null), null);
});

Deno.test("release data: a file belongs to a release by its name", () => {
  assertEquals(isFileOf("Tiny.Demo-0.1.tar.gz", "tiny-demo", "0.1"), true);
  assertEquals(isFileOf("tiny-demo-0.1.zip", "Tiny_Demo", "0.1"), true);
  assertEquals(isFileOf("tiny-demo-0.10.tar.gz", "tiny-demo", "0.1"), false);
  assertEquals(isFileOf("tiny_demo-0.1-py3-none-any.whl", "tiny.demo", "0.1"), true);
  assertEquals(isFileOf("tiny_demo-0.2-py3-none-any.whl", "tiny.demo", "0.1"), false);
  assertEquals(isFileOf("other-0.1.tar.gz", "tiny-demo", "0.1"), false);
  assertEquals(isFileOf("tiny-demo-0.1.exe", "tiny-demo", "0.1"), false);
  // separators in runs, at the ends, and names that only start the same
  assertEquals(isFileOf("Tiny__.-Demo-0.1.tar.gz", "tiny-demo", "0.1"), true);
  assertEquals(isFileOf("tiny-demo--0.1.tar.gz", "tiny-demo", "0.1"), false);
  assertEquals(isFileOf("tiny-demo-0.1.tar.gz", "tiny", "demo-0.1"), true);
  assertEquals(isFileOf("tiny-demos-0.1.tar.gz", "tiny-demo", "0.1"), false);
  assertEquals(isFileOf("-tiny-demo-0.1.tar.gz", "tiny-demo", "0.1"), false);
  assertEquals(isFileOf(`${"a-".repeat(495)}b-1.0.tar.gz`, "a", "1.0"), false);
  assertEquals(isFileOf(`${"a-".repeat(495)}b-1.0.tar.gz`, "a-".repeat(495) + "b", "1.0"), true);
  assertEquals(isFileOf("not-a-wheel.whl", "not", "a"), false);
});
