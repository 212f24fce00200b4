/**
 * The home page's project search in a real browser: a site written by the Scribe's renderer
 * (home page, project pages, `/packages.json`, and the static script as the Scribe writes it),
 * served by the real nginx with our site, looked at by headless Chromium over the DevTools
 * protocol: typing a name lists the matching projects in order, a result leads to its project
 * page, and without JavaScript the page still offers the simple index and `/packages.json`; the
 * same on the tests' static server, which `deno task demo` serves the site with.
 * And the real master writes the script at start.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { Duration } from "../../shared/duration.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { normalizeName } from "../../shared/wheel.ts";
import type { ProjectData } from "../../master/project_data.ts";
import {
  renderHome,
  renderProject,
  renderSimpleIndex,
  searchIndex,
} from "../../master/scribe/render.ts";
import { STATIC } from "../../templates/mod.ts";
import { LIMIT } from "../../templates/static/search.js";
import { startMaster } from "../farm.ts";
import { launchChromium, type Page } from "../fixtures/chromium.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { startNginx } from "../fixtures/nginx.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { run } from "../process.ts";

/** The projects of the site and their downloads (last 30 days, ever). */
const COUNTS: Record<string, [number, number]> = {
  "numpy": [900, 5000],
  "pytest": [50, 20000],
  "Py_Serial": [700, 800],
  "pyyaml": [700, 9000],
  "happy.py": [800, 800],
  "pillow": [1000, 1000],
  "scipy": [300, 6000],
  "py": [10, 10],
  // more than the list shows
  ...Object.fromEntries(Array.from({ length: LIMIT + 5 }, (_, i) => [`many-${i}`, [i, i]])),
};

const site = { baseUrl: "", now: Timestamp.parse("2026-01-02T03:04:05Z") };

/** A project page's data with no versions yet. */
function project(name: string, [recent, all]: [number, number]): ProjectData {
  return {
    package: normalizeName(name),
    name,
    aliases: normalizeName(name) === name ? [] : [name],
    description: `The ${name} project`,
    skip: "",
    priority: 0,
    downloadsRecent: recent,
    downloadsAll: all,
    downloadsDaily: [],
    rewrite: null,
    versions: [],
  };
}

/** The site as the Scribe writes it, in `root`, readable by nginx. */
async function writeSite(root: string): Promise<void> {
  const stats = {
    packages_built: Object.keys(COUNTS).length,
    builds_count: 0,
    builds_last_hour: 0,
    builds_success: 0,
    builds_time: Duration.of({ hours: 0 }),
    builds_size: 0,
    builds_pending: 0,
    files_count: 0,
    disk_free: 2 ** 33,
    disk_size: 2 ** 34,
    downloads_last_month: 0,
    downloads_all: 0,
  };
  const write = async (path: string, data: string) => {
    await Deno.mkdir(`${root}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, data);
  };
  await write("index.html", await renderHome(stats, site));
  await write("packages.json", searchIndex(COUNTS));
  await write("simple/index.html", (await renderSimpleIndex(Object.keys(COUNTS))).html);
  for (const [name, counts] of Object.entries(COUNTS)) {
    await write(
      `project/${normalizeName(name)}/index.html`,
      await renderProject(project(name, counts), site),
    );
  }
  for (const [name, source] of Object.entries(STATIC)) await write(`static/${name}`, source);
  await run("chmod", ["-R", "a+rX", root]);
}

/**
 * Runs `test` with a page of a Chromium and the address of nginx serving the site (or of the
 * tests' static server, which `deno task demo` serves the site with).
 */
async function withSite(
  test: (page: Page, base: string) => Promise<void>,
  server: "nginx" | "static" = "nginx",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "piw-search-" });
  try {
    await Deno.chmod(dir, 0o755);
    await writeSite(`${dir}/www`);
    await using served = server === "nginx"
      ? await startNginx(`${dir}/nginx`, `${dir}/www`)
      : serveDirectory(`${dir}/www`);
    const port = "port" in served ? served.port : served.addr.port;
    await using browser = await launchChromium();
    await test(await browser.newPage(), `http://127.0.0.1:${port}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The names and links the result list shows once it shows what was typed (normalised), or
 * once the search says it could not load the list of projects (then none).
 */
async function results(page: Page, typed: string): Promise<[string, string][]> {
  await page.waitFor(
    `document.getElementById("search-results").dataset.query === ${JSON.stringify(typed)} ||
      document.getElementById("search-status").textContent.includes("could not be loaded")`,
  );
  return await page.evaluate(
    `[...document.querySelectorAll("#search-results a")].map((a) => [a.textContent, a.getAttribute("href")])`,
  );
}

Deno.test("web: the home page's search lists matching projects as you type, most downloaded first, and leads to their pages", async () => {
  await withSite(async (page, base) => {
    await page.goto(`${base}/`);
    // module scripts run before the load event: the script has shown the box, or failed
    assertEquals(await page.evaluate(`document.getElementById("search").hidden`), false);
    await page.click("#search-box");
    await page.type("py");
    assertEquals(await results(page, "py"), [
      ["pyyaml", "/project/pyyaml/"],
      ["Py_Serial", "/project/py-serial/"],
      ["pytest", "/project/pytest/"],
      ["py", "/project/py/"],
      ["numpy", "/project/numpy/"],
      ["happy.py", "/project/happy-py/"],
      ["scipy", "/project/scipy/"],
    ]);
    // as PEP 503 normalises it: "py_S" is "py-s"
    await page.type("_S");
    assertEquals(await results(page, "py-s"), [["Py_Serial", "/project/py-serial/"]]);
    await page.follow("#search-results a");
    assertEquals(await page.evaluate("location.pathname"), "/project/py-serial/");
    assertEquals(await page.evaluate(`document.querySelector("h1").textContent`), "Py_Serial");

    // a bounded list: the most downloaded of the matches, and word of the rest
    await page.goto(`${base}/`);
    await page.click("#search-box");
    await page.type("Many");
    const many = await results(page, "many");
    assertEquals(
      many.map(([name]) => name),
      Array.from({ length: LIMIT }, (_, i) => `many-${LIMIT + 4 - i}`),
    );
    assertStringIncludes(
      await page.evaluate(`document.getElementById("search-status").textContent`),
      "type more of the name",
    );
    await page.type("-nothing");
    assertEquals(await results(page, "many-nothing"), []);
    assertStringIncludes(
      await page.evaluate(`document.getElementById("search-status").textContent`),
      "No project",
    );
  });
});

Deno.test("web: the search works on the demo's server too", async () => {
  await withSite(async (page, base) => {
    await page.goto(`${base}/`);
    // module scripts run before the load event: the script has shown the box, or failed
    assertEquals(await page.evaluate(`document.getElementById("search").hidden`), false);
    await page.click("#search-box");
    await page.type("pil");
    assertEquals(await results(page, "pil"), [["pillow", "/project/pillow/"]]);
  }, "static");
});

Deno.test("web: without JavaScript the home page hides the search box and links to the simple index and packages.json", async () => {
  await withSite(async (page, base) => {
    await page.setJavaScriptEnabled(false);
    await page.goto(`${base}/`);
    assertEquals(
      await page.evaluate(`getComputedStyle(document.getElementById("search")).display`),
      "none",
    );
    const links: string[] = await page.evaluate(
      `[...document.querySelectorAll("main a")].map((a) => a.getAttribute("href"))`,
    );
    assert(links.includes("/simple/") && links.includes("/packages.json"), links.join(" "));
    await page.follow(`main a[href="/simple/"]`);
    assertStringIncludes(
      await page.evaluate("document.body.textContent"),
      "py-serial",
    );
    await page.goto(`${base}/`);
    await page.follow(`main a[href="/packages.json"]`);
    assertEquals(
      JSON.parse(await page.evaluate("document.body.textContent")),
      JSON.parse(searchIndex(COUNTS)),
    );
  });
});

Deno.test("web: the master writes the search script at start", async () => {
  await using pypi = new FakePyPI();
  await using master = await startMaster({
    pypiXmlrpc: pypi.xmlrpcUrl,
    pypiSimple: pypi.simpleUrl,
  });
  assertEquals(
    await Deno.readTextFile(`${master.output}/static/search.js`),
    STATIC["search.js"],
  );
});
