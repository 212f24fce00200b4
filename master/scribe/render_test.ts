import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { Duration } from "../../shared/duration.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import type { ProjectData } from "../project_data.ts";
import {
  type IndexFile,
  indexFiles,
  projectJson,
  renderHome,
  renderProject,
  renderSimpleIndex,
  renderSimpleProject,
  renderStats,
  searchIndex,
} from "./render.ts";
import { logBuildId, logPath } from "./log_path.ts";

const site = { baseUrl: "https://pi.example.org", now: Timestamp.parse("2026-01-02T03:04:05Z") };
const hash = "ab".repeat(32);
const file = (filename: string, extra: Partial<IndexFile> = {}): IndexFile => ({
  filename,
  filehash: hash,
  filesize: 1234,
  version: "1.0",
  requiresPython: null,
  metadataHash: null,
  yanked: false,
  ...extra,
});
const stats = {
  packages_built: 1234,
  builds_count: 0,
  builds_last_hour: 2,
  builds_success: 1,
  builds_time: Duration.of({ hours: 5 }),
  builds_size: 2 ** 31,
  builds_pending: 7,
  files_count: 3,
  disk_free: 2 ** 33,
  disk_size: 2 ** 34,
  downloads_last_month: 10,
  downloads_all: 100,
};

Deno.test("scribe: the simple index lists normalised names, in HTML and PEP 691 JSON", async () => {
  const { html, json } = await renderSimpleIndex(["Foo.Bar", "foo_bar", "baz"]);
  assertStringIncludes(html, '<meta name="pypi:repository-version" content="1.1">');
  assertStringIncludes(html, '<a href="baz/">baz</a>');
  assertStringIncludes(html, '<a href="foo-bar/">foo-bar</a>');
  assertEquals(html.match(/foo-bar\//g)?.length, 1);
  assertEquals(JSON.parse(json), {
    meta: { "api-version": "1.1" },
    projects: [{ name: "baz" }, { name: "foo-bar" }],
  });
});

Deno.test("scribe: a simple project page carries hashes, requires-python, metadata and yanks", async () => {
  const { html, json } = await renderSimpleProject("Foo.Bar", [
    file("foo_bar-1.0-cp311-cp311-linux_armv7l.whl", {
      requiresPython: ">=3.9",
      metadataHash: "cd".repeat(32),
    }),
    file("foo_bar-0.9-py3-none-any.whl", { version: "0.9", yanked: true }),
  ]);
  assertStringIncludes(
    html,
    `<a href="foo_bar-1.0-cp311-cp311-linux_armv7l.whl#sha256=${hash}" data-requires-python="&gt;=3.9" data-dist-info-metadata="sha256=${
      "cd".repeat(32)
    }" data-core-metadata="sha256=${"cd".repeat(32)}">`,
  );
  assertStringIncludes(
    html,
    `<a href="foo_bar-0.9-py3-none-any.whl#sha256=${hash}" data-yanked="">`,
  );
  assertStringIncludes(html, "<h1>Links for foo-bar</h1>");
  const page = JSON.parse(json);
  assertEquals(page.meta, { "api-version": "1.1" });
  assertEquals(page.name, "foo-bar");
  assertEquals(page.versions, ["0.9", "1.0"]);
  assertEquals(page.files[1], {
    filename: "foo_bar-1.0-cp311-cp311-linux_armv7l.whl",
    url: "foo_bar-1.0-cp311-cp311-linux_armv7l.whl",
    hashes: { sha256: hash },
    size: 1234,
    "requires-python": ">=3.9",
    "core-metadata": { sha256: "cd".repeat(32) },
    yanked: false,
  });
  assertEquals(page.files[0].yanked, true);
});

Deno.test("scribe: home and stats pages show the statistics, zeroes included", async () => {
  const home = await renderHome(stats, site);
  assertStringIncludes(home, "<title>Python wheels for the Raspberry Pi · piwheels</title>");
  assertStringIncludes(home, '<td class="num">1,234</td>');
  assertStringIncludes(home, '<tr><th>Builds attempted</th><td class="num">0</td></tr>');
  assertStringIncludes(
    home,
    "pip install --extra-index-url https://pi.example.org/simple/ PACKAGE",
  );
  assertStringIncludes(home, "Written 2026-01-02T03:04:05Z");
  const page = await renderStats(stats, site);
  assertStringIncludes(page, '<tr><th>Total build time</th><td class="num">5h</td></tr>');
  assertStringIncludes(page, "8.0 GiB of 16.0 GiB");
});

Deno.test("scribe: the project page shows the version × ABI matrix, files and escapes text", async () => {
  const build = (buildId: number, abiTag: string, status: boolean, seconds: number) => ({
    buildId,
    abiTag,
    status,
    builtBy: 1,
    builtAt: site.now,
    duration: Duration.of({ seconds }),
  });
  const wheel = {
    filename: "foo_bar-1.0-py3-none-any.whl",
    buildId: 7,
    filesize: 1234,
    filehash: hash,
    packageTag: "foo_bar",
    packageVersionTag: "1.0",
    pyVersionTag: "py3",
    abiTag: "none",
    platformTag: "any",
    requiresPython: ">=3.7",
    metadataHash: "cd".repeat(32),
    dependencies: { apt: ["libxml2", "libc6"] },
  };
  const data: ProjectData = {
    package: "foo-bar",
    name: "Foo.Bar",
    aliases: ["Foo.Bar", "foo_bar"],
    description: "<script>alert(1)</script> & friends",
    skip: "",
    priority: 3,
    downloadsRecent: 5,
    downloadsAll: 0,
    downloadsDaily: [],
    rewrite: null,
    versions: [
      {
        version: "2.0",
        released: Timestamp.parse("2026-01-01T00:00:00Z"),
        skip: "",
        yanked: false,
        requiresPython: ">=3.10",
        abis: { cp39: "pending", cp311: "failed" },
        builds: [build(12345, "cp311", false, 90)],
        files: [],
      },
      {
        version: "1.5",
        released: Timestamp.parse("2025-06-01T00:00:00Z"),
        skip: "binary only",
        yanked: false,
        requiresPython: null,
        abis: { cp39: "skipped", cp311: "skipped" },
        builds: [],
        files: [],
      },
      {
        version: "1.0",
        released: Timestamp.parse("2025-01-01T00:00:00Z"),
        skip: "",
        yanked: true,
        requiresPython: null,
        abis: { cp39: "built", cp311: "built" },
        builds: [build(7, "cp39", true, 5)],
        files: [wheel],
      },
    ],
  };
  const html = await renderProject(data, site);
  assert(!html.includes("<script>alert"), "the description is escaped");
  assertStringIncludes(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends");
  assertStringIncludes(html, "<h1>Foo.Bar</h1>");
  assertStringIncludes(html, "Also known as: foo-bar, foo_bar");
  assertStringIncludes(html, "Build priority: 3");
  assertStringIncludes(html, "/simple/ foo-bar</pre>");
  assertStringIncludes(
    html,
    "<tr><th>Version</th><th>Released</th><th>Requires Python</th><th>cp311</th><th>cp39</th></tr>",
  );
  assertStringIncludes(html, "<td>2.0</td><td>2026-01-01</td><td>&gt;=3.10</td>");
  assertStringIncludes(
    html,
    `<td class="failed"><a href="/${logPath(12345)}">failed after 1m30s</a></td>`,
  );
  assertStringIncludes(html, '<td class="pending">pending</td>');
  assertStringIncludes(html, '<td class="skipped">skipped: binary only</td>');
  assertStringIncludes(
    html,
    '<td class="built"><a href="/logs/0000/000/007.txt.gz">built in 5s</a></td>',
  );
  assertStringIncludes(
    html,
    '<td class="built">built (a wheel of another build installs here)</td>',
  );
  assertStringIncludes(html, "sudo apt install libc6 libxml2");
  assertStringIncludes(html, '<a href="/simple/foo-bar/foo_bar-1.0-py3-none-any.whl">');
  assertMatch(html, /<tr class="yanked"><td>1\.0 <span class="yank">\(yanked\)<\/span><\/td>/);
  const json = JSON.parse(projectJson(data));
  assertEquals([json.package, json.name, json.aliases], ["foo-bar", "Foo.Bar", [
    "Foo.Bar",
    "foo_bar",
  ]]);
  assertEquals(json.releases["2.0"].requires_python, ">=3.10");
  assertEquals(json.releases["1.0"].yanked, true);
  assertEquals(json.releases["2.0"].builds[0].status, "failed");
  assertEquals(json.releases["1.0"].files[0].dependencies, { apt: ["libxml2", "libc6"] });
  assertEquals(json.downloads, { recent: 5, all: 0 });
  assertEquals(indexFiles(data), [{
    filename: wheel.filename,
    filehash: hash,
    filesize: 1234,
    version: "1.0",
    requiresPython: ">=3.7",
    metadataHash: "cd".repeat(32),
    yanked: true,
  }]);
});

Deno.test("scribe: log paths spread ids over directories; search index is sorted", () => {
  assertEquals(logPath(1), "logs/0000/000/001.txt.gz");
  assertEquals(logPath(1234567890), "logs/1234/567/890.txt.gz");
  assertEquals(logBuildId("logs/1234/567/890.txt.gz"), 1234567890);
  assertEquals(logBuildId("logs/0000/000/001.txt.gz"), 1);
  assertEquals(logBuildId("logs/0000/000/001.txt.gz.123.tmp"), null);
  assertEquals(logBuildId("logs/0000/00/001.txt.gz"), null);
  assertEquals(JSON.parse(searchIndex({ b: [1, 2], a: [0, 5] })), [["a", 0, 5], ["b", 1, 2]]);
});
