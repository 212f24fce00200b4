/**
 * The web-server sites we ship (`deploy/`), in Debian's own configuration of the real Apache and
 * nginx, installed as the README's "Deploying a farm" says, over a site the Scribe's renderer
 * wrote: each server's own configuration test accepts them, pip's Accept header gets the PEP 691
 * JSON and a browser's the HTML, build logs are served as gzip-encoded text, the real pip
 * downloads a wheel through each, and Apache pipes its access log to the command the site names.
 * (piw-logger itself behind Apache: `tests/tools/apache_test.ts`.)
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { renderSimpleProject } from "../../master/scribe/render.ts";
import { eventually, freePort } from "../farm.ts";
import {
  apacheConfigTest,
  apacheSite,
  configureApache,
  startApache,
  waitForPort,
} from "../fixtures/apache.ts";
import { gzip } from "../fixtures/sdist.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { type Finished, PYTHON, ROOT, run } from "../process.ts";

const PIP_ACCEPT =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
const BUILD_LOG = "logs/0000/000/001.txt.gz";
const BUILD_OUTPUT = "Building wheel for web-test (setup.py): finished with status 'done'\n";

/** A readable-by-anyone site with one project, its wheel and a build log. */
async function site(dir: string) {
  const wheel = makeWheel("web-test", "1.0");
  const root = `${dir}/www`;
  await Deno.mkdir(`${root}/simple/web-test`, { recursive: true });
  await Deno.mkdir(`${root}/${BUILD_LOG.replace(/\/[^/]+$/, "")}`, { recursive: true });
  const page = await renderSimpleProject("web-test", [{
    filename: wheel.filename,
    filehash: wheel.sha256,
    filesize: wheel.bytes.length,
    version: "1.0",
    requiresPython: null,
    metadataHash: null,
    yanked: false,
  }]);
  await Deno.writeTextFile(`${root}/simple/web-test/index.html`, page.html);
  await Deno.writeTextFile(`${root}/simple/web-test/index.json`, page.json);
  await Deno.writeFile(`${root}/simple/web-test/${wheel.filename}`, wheel.bytes);
  await Deno.writeFile(`${root}/${BUILD_LOG}`, await gzip(new TextEncoder().encode(BUILD_OUTPUT)));
  await run("chmod", ["-R", "a+rX", dir]);
  return { root, wheel };
}

async function checkServer(
  port: number,
  wheel: ReturnType<typeof makeWheel>,
  dir: string,
): Promise<void> {
  const base = `http://127.0.0.1:${port}/simple/web-test/`;
  const json = await fetch(base, { headers: { accept: PIP_ACCEPT } });
  assertEquals(json.headers.get("content-type"), "application/vnd.pypi.simple.v1+json");
  assertStringIncludes(json.headers.get("vary") ?? "", "Accept");
  assertEquals((await json.json()).files[0].hashes.sha256, wheel.sha256);
  const html = await fetch(base, { headers: { accept: "text/html" } });
  assertStringIncludes(html.headers.get("content-type") ?? "", "text/html");
  assertStringIncludes(await html.text(), `${wheel.filename}#sha256=${wheel.sha256}`);
  // fetch undoes the Content-Encoding, as a browser does
  const log = await fetch(`http://127.0.0.1:${port}/${BUILD_LOG}`);
  assertEquals(log.headers.get("content-encoding"), "gzip");
  assertStringIncludes(log.headers.get("content-type") ?? "", "text/plain");
  assertEquals(await log.text(), BUILD_OUTPUT);
  const pip = await run(PYTHON, [
    ...["-m", "pip", "download", "--no-deps", "--no-cache-dir"],
    ...["--index-url", `http://127.0.0.1:${port}/simple/`, "--dest", `${dir}/downloads`],
    "web-test==1.0",
  ], { env: { PIP_DISABLE_PIP_VERSION_CHECK: "1", HOME: dir } });
  assertEquals(pip.code, 0, pip.stdout + pip.stderr);
  assertEquals(await Deno.readFile(`${dir}/downloads/${wheel.filename}`), wheel.bytes);
}

/** Runs `test` in a new temporary directory, removed afterwards. */
async function inTempDir(prefix: string, test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deploy: apache2ctl -t accepts our site in Debian's Apache, not without mod_rewrite", async () => {
  await inTempDir("piw-apache-", async (dir) => {
    const site = await apacheSite(`${dir}/www`, "/usr/local/bin/piw-logger");
    const ok = await apacheConfigTest(await configureApache(`${dir}/a`, site));
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertStringIncludes(ok.stderr, "Syntax OK");
    // the check is real: the site's RewriteEngine needs `a2enmod rewrite`
    const refused = await apacheConfigTest(await configureApache(`${dir}/b`, site, ["headers"]));
    assertEquals(refused.code, 1, refused.stdout + refused.stderr);
    assertStringIncludes(refused.stdout + refused.stderr, "RewriteEngine");
  });
});

Deno.test("deploy: Apache with our site negotiates PEP 691, serves pip and pipes its log", async () => {
  await inTempDir("piw-apache-", async (dir) => {
    const { root, wheel } = await site(dir);
    // in place of piw-logger: a script keeping what Apache pipes to it
    const piped = `${dir}/piped.log`;
    await Deno.writeTextFile(`${dir}/logger`, `#!/bin/sh\nexec cat >>${piped}\n`, { mode: 0o755 });
    await using apache = await startApache(
      `${dir}/apache`,
      await apacheSite(root, `${dir}/logger`),
    );
    await checkServer(apache.port, wheel, dir);
    await eventually(
      "Apache pipes pip's download to the logger in the combined format",
      async () =>
        (await Deno.readTextFile(piped).catch(() => "")).includes(
          `"GET /simple/web-test/${wheel.filename} HTTP/1.1" 200`,
        ),
    );
    const line = (await Deno.readTextFile(piped)).split("\n").find((l) =>
      l.includes(wheel.filename)
    )!;
    assert(/^127\.0\.0\.1 - - \[[^\]]+\] "GET .+" 200 \d+ "-" "pip\/.+"$/.test(line), line);
  });
});

/**
 * Debian's `/etc/nginx` copied into `dir` with its paths there, the default site removed and
 * ours in `conf.d/` serving `root` on a free loopback port, as the README installs it.
 */
async function configureNginx(dir: string, root: string) {
  const confDir = `${dir}/nginx`;
  const port = freePort();
  await Deno.mkdir(`${dir}/log`, { recursive: true });
  assertEquals((await run("cp", ["-a", "/etc/nginx", confDir])).code, 0);
  await Deno.remove(`${confDir}/sites-enabled/default`);
  const main = `${confDir}/nginx.conf`;
  await Deno.writeTextFile(
    main,
    (await Deno.readTextFile(main))
      .replaceAll("/etc/nginx/", `${confDir}/`)
      .replace("pid /run/nginx.pid;", `pid ${dir}/nginx.pid;`)
      .replaceAll("/var/log/nginx/", `${dir}/log/`),
  );
  await Deno.writeTextFile(
    `${confDir}/conf.d/piwheels.conf`,
    (await Deno.readTextFile(`${ROOT}/deploy/nginx-piwheels.conf`))
      .replace("listen 80;", `listen 127.0.0.1:${port};`)
      .replace("root /var/www/piwheels;", `root ${root};`),
  );
  const args = ["-c", main, "-e", `${dir}/log/error.log`];
  const test = (): Promise<Finished> => run("/usr/sbin/nginx", ["-t", ...args]);
  return { port, args, test, errorLog: `${dir}/log/error.log` };
}

Deno.test("deploy: nginx -t accepts our site in Debian's nginx, which negotiates PEP 691 and serves pip", async () => {
  await inTempDir("piw-nginx-", async (dir) => {
    const { root, wheel } = await site(dir);
    const nginx = await configureNginx(`${dir}/server`, root);
    const test = await nginx.test();
    assertEquals(test.code, 0, test.stderr);
    assertStringIncludes(test.stderr, "test is successful");
    const server = new Deno.Command("/usr/sbin/nginx", {
      args: [...nginx.args, "-g", "daemon off;"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForPort(nginx.port, () => Deno.readTextFile(nginx.errorLog).catch(() => ""));
      await checkServer(nginx.port, wheel, dir);
    } finally {
      server.kill("SIGTERM");
      await server.status;
    }
  });
});
