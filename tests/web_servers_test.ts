/**
 * The web-server configuration we ship (`deploy/`), run by the real Apache and nginx over a
 * site the Scribe's renderer wrote: pip's Accept header gets the PEP 691 JSON, a browser's the
 * HTML, and the real pip downloads a wheel through each.
 */

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { renderSimpleProject } from "../master/scribe/render.ts";
import { freePort } from "./farm.ts";
import { startApache, waitForPort } from "./fixtures/apache.ts";
import { makeWheel } from "./fixtures/wheel.ts";
import { PYTHON, ROOT, run } from "./process.ts";

const PIP_ACCEPT =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

/** A readable-by-anyone site with one project and its wheel. */
async function site(dir: string) {
  const wheel = makeWheel("web-test", "1.0");
  const root = `${dir}/www`;
  await Deno.mkdir(`${root}/simple/web-test`, { recursive: true });
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
  for (const d of [dir, root, `${root}/simple`, `${root}/simple/web-test`]) {
    await Deno.chmod(d, 0o755);
  }
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
  const pip = await run(PYTHON, [
    "-m",
    "pip",
    "download",
    "--no-deps",
    "--no-cache-dir",
    "--index-url",
    `http://127.0.0.1:${port}/simple/`,
    "--dest",
    `${dir}/downloads`,
    "web-test==1.0",
  ], { env: { PIP_DISABLE_PIP_VERSION_CHECK: "1", HOME: dir } });
  assertEquals(pip.code, 0, pip.stdout + pip.stderr);
  assertEquals(await Deno.readFile(`${dir}/downloads/${wheel.filename}`), wheel.bytes);
}

Deno.test("deploy: Apache with our snippet negotiates PEP 691 and serves pip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-apache-" });
  const { root, wheel } = await site(dir);
  const snippet = (await Deno.readTextFile(`${ROOT}/deploy/apache-simple-json.conf`)).replaceAll(
    "/var/www/piwheels",
    root,
  );
  try {
    await using apache = await startApache(dir, root, [snippet]);
    await checkServer(apache.port, wheel, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy: nginx with our site negotiates PEP 691 and serves pip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-nginx-" });
  const { root, wheel } = await site(dir);
  const port = freePort();
  const siteConf = (await Deno.readTextFile(`${ROOT}/deploy/nginx-piwheels.conf`))
    .replace("listen 80;", `listen 127.0.0.1:${port};`)
    .replace("root /var/www/piwheels;", `root ${root};`);
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    [
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      ...(Deno.uid() === 0 ? ["user www-data;"] : []),
      "events {}",
      "http {",
      `  access_log ${dir}/access.log;`,
      `  client_body_temp_path ${dir}/tmp;`,
      "  include /etc/nginx/mime.types;",
      siteConf,
      "}",
    ].join("\n"),
  );
  const nginx = new Deno.Command("/usr/sbin/nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir, "-g", "daemon off;"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await waitForPort(port, () => Deno.readTextFile(`${dir}/error.log`).catch(() => ""));
    await checkServer(port, wheel, dir);
  } finally {
    nginx.kill("SIGTERM");
    await nginx.output();
    await Deno.remove(dir, { recursive: true });
  }
});
