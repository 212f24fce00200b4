import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  anchors,
  chooseSdist,
  IndexError,
  type IndexFile,
  parseProjectPage,
  projectPageUrl,
} from "./index_page.ts";

const HASH = "ab".repeat(32);
const PAGE = "https://index.example/simple/python-dateutil/";

Deno.test("index page: a project's page is at its normalised name, on http(s) only", () => {
  assertEquals(
    projectPageUrl("https://pypi.org/simple", "Python_Dateutil"),
    "https://pypi.org/simple/python-dateutil/",
  );
  assertEquals(
    projectPageUrl("http://127.0.0.1:8080/simple/", "a.b"),
    "http://127.0.0.1:8080/simple/a-b/",
  );
  for (const index of ["file:///etc/", "ftp://x/simple/", "/simple/", "javascript:alert(1)"]) {
    assertThrows(() => projectPageUrl(index, "a"), IndexError, "http(s)");
  }
});

Deno.test("index page: PEP 503 HTML gives each anchor's text, its URL resolved, its #sha256", () => {
  const html = `<!DOCTYPE html><html><body>
    <a href="../../packages/python-dateutil-2.8.2.tar.gz#sha256=${HASH}">python-dateutil-2.8.2.tar.gz</a>
    <a data-requires-python="&gt;=3.7" href='https://files.example/p/x.zip?a=1&amp;b=2#md5=00&amp;sha256=${HASH.toUpperCase()}'>x.zip</a>
    <A HREF=/plain.tar.gz>plain.tar.gz</A>
    <a href="file:///etc/passwd#sha256=${HASH}">passwd-1.0.tar.gz</a>
    <a href="javascript:void(0)">nothing</a>
    <a name="no-href">no href</a>
    <a href="short.tar.gz#sha256=abc">short.tar.gz</a>
  </body></html>`;
  assertEquals(parseProjectPage(html, "text/html; charset=utf-8", PAGE), [
    {
      filename: "python-dateutil-2.8.2.tar.gz",
      url: "https://index.example/packages/python-dateutil-2.8.2.tar.gz",
      sha256: HASH,
    },
    { filename: "x.zip", url: "https://files.example/p/x.zip?a=1&b=2", sha256: HASH },
    { filename: "plain.tar.gz", url: "https://index.example/plain.tar.gz", sha256: null },
    {
      filename: "short.tar.gz",
      url: "https://index.example/simple/python-dateutil/short.tar.gz",
      sha256: null,
    },
  ]);
});

Deno.test("index page: PEP 691 JSON gives files, URLs resolved, sha256 from hashes", () => {
  const json = JSON.stringify({
    meta: { "api-version": "1.1", "_last-serial": 5 },
    name: "python-dateutil",
    files: [
      { filename: "a-1.0.tar.gz", url: "../../f/a-1.0.tar.gz", hashes: { sha256: HASH } },
      { filename: "a-1.0.zip", url: "https://f.example/a-1.0.zip", hashes: { md5: "00" } },
      { filename: "evil-1.0.tar.gz", url: "file:///etc/shadow", hashes: { sha256: HASH } },
    ],
  });
  const type = "application/vnd.pypi.simple.v1+json";
  assertEquals(parseProjectPage(json, type, PAGE), [
    { filename: "a-1.0.tar.gz", url: "https://index.example/f/a-1.0.tar.gz", sha256: HASH },
    { filename: "a-1.0.zip", url: "https://f.example/a-1.0.zip", sha256: null },
  ]);
  const v2 = json.replace('"1.1"', '"2.0"');
  assertThrows(() => parseProjectPage(v2, type, PAGE), IndexError, "API version 2.0");
  assertThrows(() => parseProjectPage("{", type, PAGE), IndexError, "not JSON");
  assertThrows(() => parseProjectPage('{"files": 1}', type, PAGE), IndexError, "not PEP 691");
  assertThrows(() => parseProjectPage("", "application/pdf", PAGE), IndexError, "application/pdf");
});

/** A file an index lists by that name. */
const file = (filename: string, sha256: string | null = HASH): IndexFile => ({
  filename,
  url: `https://f.example/${filename}`,
  sha256,
});

Deno.test("index page: the sdist chosen is exactly the project's release, .tar.gz before .zip", () => {
  const files = [
    file("python_dateutil-2.8.2-py2.py3-none-any.whl"),
    file("python-dateutil-2.8.20.tar.gz"),
    file("python-dateutil-extra-2.8.2.tar.gz"),
    file("python-dateutil-2.8.2.zip"),
    file("python-dateutil-2.8.2.tar.gz"),
  ];
  assertEquals(
    chooseSdist(files, "Python.Dateutil", "2.8.2").filename,
    "python-dateutil-2.8.2.tar.gz",
  );
  assertEquals(
    chooseSdist(files.slice(0, 4), "python_dateutil", "2.8.2").filename,
    "python-dateutil-2.8.2.zip",
  );
  // the same release by PEP 440
  assertEquals(
    chooseSdist([file("Pkg-1.0b2.tar.gz")], "pkg", "1.0-Beta.2").filename,
    "Pkg-1.0b2.tar.gz",
  );
  assertEquals(chooseSdist([file("pkg-1.0.0.tar.gz")], "pkg", "1").filename, "pkg-1.0.0.tar.gz");
  // the release's own spelling before another one of the same release
  const padded = [file("pkg-1.0.0.tar.gz"), file("pkg-1.0.tar.gz"), file("pkg-1.tar.gz")];
  assertEquals(chooseSdist(padded, "pkg", "1.0").filename, "pkg-1.0.tar.gz");
  assertThrows(
    () => chooseSdist(files, "python-dateutil", "2.8"),
    IndexError,
    "no sdist of python-dateutil 2.8 (it lists python_dateutil-2.8.2-py2.py3-none-any.whl,",
  );
  assertThrows(() => chooseSdist([], "a", "1"), IndexError, "(it lists no files)");
  // a page of a million names went into the message whole
  const many = Array.from({ length: 100_000 }, (_, i) => ({
    filename: `other-${i}-${"x".repeat(900)}.tar.gz`,
    url: "http://127.0.0.1/x",
    sha256: null,
  }));
  const e = assertThrows(() => chooseSdist(many, "a", "1"), IndexError, "and 99980 more)");
  assert(e.message.length < 20 * 300, `${e.message.length} characters`);
  assertThrows(
    () => chooseSdist([file("a-1.tar.gz", null)], "a", "1"),
    IndexError,
    "refused a-1.tar.gz: the index gives no SHA-256",
  );
  // a name that is not one path component is never taken
  assertThrows(() => chooseSdist([file("../a-1.tar.gz")], "a", "1"), IndexError, "no sdist");
});

Deno.test("index page: a name is read once, and one longer than a file name may be is not taken", () => {
  // each '-' had the name's start normalised again: an 80,000-character name of dashes held the
  // slave's Worker for 100 s
  const dashes = file(`${"a-".repeat(40_000)}1.0.tar.gz`);
  assertThrows(() => chooseSdist([dashes], "a", "1.0"), IndexError, "no sdist of a 1.0");
  // the longest project name, and a version of the same release: but 271 characters in all
  const project = "a".repeat(200);
  const long = file(`${project}-${"0".repeat(60)}1.0.tar.gz`);
  assertThrows(() => chooseSdist([long], project, "1.0"), IndexError, "no sdist");
  const fits = file(`${project}-${"0".repeat(44)}1.0.tar.gz`);
  assertEquals(chooseSdist([long, fits], project, "1.0").filename, fits.filename);
});

Deno.test("index page: anchors are read as a regular expression reads them, in one pass", () => {
  // the expression the page was read with, which took time growing with the square of the page
  const reference = (body: string) =>
    [...body.matchAll(/<a\s([^>]*)>([^<]*)<\/a\s*>/gi)].map((m) => [m[1], m[2]]);
  const tokens = ["<a ", "<A\t", "<a", ">", "<", "</a>", "</A \n>", "</a", "href=x", "#", " "];
  let seed = 11;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 3000; i++) {
    const body = Array.from({ length: random(30) }, () => tokens[random(tokens.length)]).join("");
    assertEquals([...anchors(body)], reference(body), JSON.stringify(body));
  }
  // pages a hostile index can serve: the expression did not read 1 MiB of either in minutes
  const link = `<a href="/p/x-1.0.tar.gz#sha256=${HASH}">x-1.0.tar.gz</a>`;
  for (const junk of ["<a ".repeat(350_000), `${"<a ".repeat(350_000)}>x<b`]) {
    const files = parseProjectPage(junk + link, "text/html", PAGE);
    assertEquals(files.map((f) => [f.filename, f.sha256]), [["x-1.0.tar.gz", HASH]]);
  }
});
