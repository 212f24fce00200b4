/**
 * Cloud Gazer reading what PyPI says of each new release, through the real master and the fake
 * PyPI: from the JSON API (the default, on PostgreSQL) the project's description, the release's
 * Requires-Python and its yank; from the PEP 691 simple API (`--release-data simple`, on the
 * embedded database) Requires-Python and yanks. Both are shown on the pages, and a wheel that
 * carries no Requires-Python of its own is offered with PyPI's (`data-requires-python`). Hostile
 * answers (too big, too slow, lying) are logged and dropped; the master carries on.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedFarm, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";

Deno.test("master: descriptions, Requires-Python and yanks from PyPI's JSON API, on the pages", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  await slave.hello();

  await t.step("the description and Requires-Python of a new release", async () => {
    pypi.describe("Tiny.Demo", "A tiny <demo> & more");
    await pypi.release("Tiny.Demo", "0.1", {}, { requiresPython: ">=3.9" });
    const page = await master.waitForFile("project/tiny-demo/index.html", "A tiny &lt;demo&gt;");
    assertStringIncludes(page, "<td>0.1</td>");
    await master.waitForFile("project/tiny-demo/index.html", "<td>&gt;=3.9</td>");
    const json = JSON.parse(
      await master.waitForFile("project/tiny-demo/json/index.json", ">=3.9"),
    );
    assertEquals(json.summary, "A tiny <demo> & more");
    assertEquals(json.releases["0.1"].requires_python, ">=3.9");
    assert(pypi.jsonRequests.includes("/pypi/Tiny.Demo/0.1/json"), pypi.jsonRequests.join());
  });

  await t.step("a wheel without Requires-Python is offered with PyPI's", async () => {
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["tiny-demo", "0.1"] });
    const wheel = makeWheel("tiny_demo", "0.1");
    assertEquals(await slave.deliver([wheel]), { msg: "DONE" });
    const html = await master.waitForFile("simple/tiny-demo/index.html", wheel.filename);
    assertStringIncludes(
      html,
      `${wheel.filename}#sha256=${wheel.sha256}" data-requires-python="&gt;=3.9"`,
    );
    const json = JSON.parse(
      await master.waitForFile("simple/tiny-demo/index.json", wheel.filename),
    );
    assertEquals(json.files[0]["requires-python"], ">=3.9");
  });

  await t.step("a wheel's own Requires-Python wins over PyPI's", async () => {
    await pypi.release("tiny-demo", "0.2", {}, { requiresPython: ">=3.9" });
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["tiny-demo", "0.2"] });
    const wheel = makeWheel("tiny_demo", "0.2", { requiresPython: ">=3.11" });
    assertEquals(await slave.deliver([wheel]), { msg: "DONE" });
    const html = await master.waitForFile("simple/tiny-demo/index.html", wheel.filename);
    assertStringIncludes(
      html,
      `${wheel.filename}#sha256=${wheel.sha256}" data-requires-python="&gt;=3.11"`,
    );
  });

  await t.step("a release PyPI yanked before the master read of it is yanked here", async () => {
    await pypi.release("tiny-demo", "0.3", {}, { yanked: true });
    await master.waitForFile(
      "project/tiny-demo/index.html",
      '<td>0.3 <span class="yank">(yanked)</span>',
    );
    const json = JSON.parse(await master.waitForFile("project/tiny-demo/json/index.json", '"0.3"'));
    assertEquals(json.releases["0.3"].yanked, true);
  });

  await t.step("hostile answers are logged and dropped; the master carries on", async () => {
    const cases = [
      ["huge", /cannot look up huge 1\.0: .*more than 4194304/],
      ["stall", /cannot look up stall 1\.0: .*did not answer within 2000 ms/],
      ["garbage", /cannot look up garbage 1\.0: .*not valid JSON/],
    ] as const;
    for (const [how, says] of cases) {
      pypi.hostile(how, how);
      await pypi.release(how, "1.0");
      await master.waitForLog(says);
      // the release itself is known, and waits to be built
      await master.waitForFile(`project/${how}/index.html`, '<td class="pending">pending</td>');
    }
    pypi.hostile("liar", "lies");
    await pypi.release("liar", "1.0");
    const page = await master.waitForFile("project/liar/index.html", "summary with lines");
    assertStringIncludes(page, '<p class="description">evil [31m summary with lines</p>');
    assert(!page.includes("<script>"), "nothing of the lie's markup reaches the page");
    const json = JSON.parse(await master.waitForFile("project/liar/json/index.json"));
    assertEquals([json.releases["1.0"].requires_python, json.releases["1.0"].yanked], [
      null,
      false,
    ]);
    // an honest release after all that is read as ever
    pypi.describe("honest", "Honest at last");
    await pypi.release("honest", "1.0", {}, { requiresPython: ">=3.7" });
    await master.waitForFile("project/honest/index.html", "Honest at last");
  });
});

Deno.test("master: Requires-Python and yanks from the PEP 691 simple API, on the embedded database", async () => {
  await using farm = await startEmbeddedFarm({ args: ["--release-data", "simple"] }, {
    json: true,
  });
  const { pypi, master } = farm;
  pypi.describe("simple-demo", "not read: PEP 691 has no descriptions");
  await pypi.release("Simple.Demo", "1.0", {}, { requiresPython: ">=3.8" });
  await pypi.release("Simple.Demo", "2.0", {}, { yanked: true });
  await master.waitForFile("project/simple-demo/index.html", "<td>&gt;=3.8</td>");
  const page = await master.waitForFile(
    "project/simple-demo/index.html",
    '<td>2.0 <span class="yank">(yanked)</span>',
  );
  assert(!page.includes("not read"), "no description from PEP 691");
  assert(pypi.pages.includes("json /simple/simple-demo/"), pypi.pages.join());
  assertEquals(pypi.jsonRequests, [], "the JSON API was not asked");
});
