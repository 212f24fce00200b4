/**
 * The web-server sites we ship (`deploy/`), in Debian's own configuration of the real Apache and
 * nginx, installed as the README's "Deploying a farm" says, over a site the Scribe's renderer
 * wrote: each server's own configuration test accepts them; PEP 691 negotiation by q-values,
 * asked with the real curl, gives each of PEP 691's example Accept headers and the other cases
 * the status, Content-Type, body and `Vary` the rule in the configurations says, and both servers
 * agree with that rule on hundreds of generated headers; wheels and core metadata have their
 * types; build logs are served as gzip-encoded text; the real pip downloads a wheel through each;
 * and Apache pipes its access log to the command the site names. (piw-logger itself behind
 * Apache: `tests/tools/apache_test.ts`.)
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { renderSimpleIndex, renderSimpleProject } from "../../master/scribe/render.ts";
import { sha256Hex } from "../../shared/hash.ts";
import { readWheelMetadata } from "../../shared/wheel_metadata.ts";
import { eventually } from "../farm.ts";
import { apacheConfigTest, apacheSite, configureApache, startApache } from "../fixtures/apache.ts";
import { configureNginx, startNginx } from "../fixtures/nginx.ts";
import { gzip } from "../fixtures/sdist.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PYTHON, run } from "../process.ts";

const BUILD_LOG = "logs/0000/000/001.txt.gz";
const BUILD_OUTPUT = "Building wheel for web-test (setup.py): finished with status 'done'\n";

/** A readable-by-anyone site with one project, its wheel and core metadata, and a build log. */
async function site(dir: string) {
  const wheel = makeWheel("web-test", "1.0");
  const root = `${dir}/www`;
  const project = `${root}/simple/web-test`;
  await Deno.mkdir(project, { recursive: true });
  await Deno.mkdir(`${root}/${BUILD_LOG.replace(/\/[^/]+$/, "")}`, { recursive: true });
  await Deno.writeFile(`${project}/${wheel.filename}`, wheel.bytes);
  const metadata = await readWheelMetadata(`${project}/${wheel.filename}`);
  await Deno.writeFile(`${project}/${wheel.filename}.metadata`, metadata);
  const page = await renderSimpleProject("web-test", [{
    filename: wheel.filename,
    filehash: wheel.sha256,
    filesize: wheel.bytes.length,
    version: "1.0",
    requiresPython: null,
    metadataHash: sha256Hex(metadata),
    yanked: false,
  }]);
  await Deno.writeTextFile(`${project}/index.html`, page.html);
  await Deno.writeTextFile(`${project}/index.json`, page.json);
  const index = await renderSimpleIndex(["web-test"]);
  await Deno.writeTextFile(`${root}/simple/index.html`, index.html);
  await Deno.writeTextFile(`${root}/simple/index.json`, index.json);
  await Deno.writeFile(`${root}/${BUILD_LOG}`, await gzip(new TextEncoder().encode(BUILD_OUTPUT)));
  await run("chmod", ["-R", "a+rX", dir]);
  return { root, wheel, metadata };
}

/** A response as curl saw it. */
interface Seen {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
}

/** What `Accept` to send: a header value, or `null` for no Accept header at all. */
type Accept = string | null;

/** A request for {@linkcode curl}. */
interface Request {
  url: string;
  accept: Accept;
  /** Send `Accept-Encoding: gzip`. */
  gzip?: boolean;
}

/**
 * GETs each of `requests` with the real curl (one run, `--next` between requests), sending the
 * Accept header given (curl's own `*∕*` removed when `null`).
 */
async function curl(dir: string, requests: Request[]): Promise<Seen[]> {
  const out = await Deno.makeTempDir({ dir, prefix: "curl-" });
  const args = requests.flatMap(({ url, accept, gzip }, i) => [
    ...(i > 0 ? ["--next"] : []),
    ...["-sS", "-D", `${out}/${i}.head`, "-o", `${out}/${i}.body`],
    ...["-H", accept === null ? "Accept:" : `Accept: ${accept}`],
    ...(gzip ? ["-H", "Accept-Encoding: gzip"] : []),
    url,
  ]);
  const done = await run("curl", args);
  assertEquals(done.code, 0, done.stderr);
  return await Promise.all(requests.map(async (_, i) => {
    const [statusLine, ...lines] = (await Deno.readTextFile(`${out}/${i}.head`)).split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines.filter((l) => l.includes(":"))) {
      const name = line.slice(0, line.indexOf(":")).toLowerCase();
      const value = line.slice(line.indexOf(":") + 1).trim();
      headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
    }
    return {
      status: Number(statusLine!.split(" ")[1]),
      headers,
      body: await Deno.readFile(`${out}/${i}.body`),
    };
  }));
}

// PEP 691 negotiation: the rule deploy/*.conf document, as code to hold both servers to

/** What a simple page is served as: one of the three variants, or 406. */
type Outcome =
  | "text/html"
  | "application/vnd.pypi.simple.v1+html"
  | "application/vnd.pypi.simple.v1+json"
  | 406;

/** The variants, in the order that breaks ties. */
const VARIANTS = [
  "text/html",
  "application/vnd.pypi.simple.v1+html",
  "application/vnd.pypi.simple.v1+json",
] as const;

/** A well-formed q-value in thousandths; 1000 when there is none. */
function thousandths(q: string | undefined): number {
  if (q === undefined) return 1000;
  const fraction = q.match(/^0?\.(\d{0,3})/);
  if (fraction) return Number(fraction[1]!.padEnd(3, "0"));
  return q.startsWith("0") ? 0 : 1000;
}

/**
 * The variant the rule in deploy/apache-piwheels.conf and deploy/nginx-piwheels.conf picks for
 * a well-formed Accept header.
 */
function negotiate(accept: Accept): Outcome {
  const ranges = (accept ?? "*/*").split(",").map((range) => {
    const [type, ...params] = range.split(";").map((s) => s.trim());
    const q = params.map((p) => p.match(/^q\s*=\s*(\S*)$/i)?.[1]).find((v) => v !== undefined);
    return {
      type: type!.toLowerCase().replace(/^(application\/vnd\.pypi\.simple\.)latest\+/, "$1v1+"),
      q: thousandths(q),
    };
  });
  const weighted = ranges.some((r) => r.q < 1000);
  const weight = (variant: string) => {
    const exact = ranges.find((r) => r.type === variant);
    if (exact) return exact.q;
    const sub = ranges.find((r) => r.type === `${variant.split("/")[0]}/*`);
    if (sub) return weighted ? sub.q : 20;
    const any = ranges.find((r) => r.type === "*/*");
    if (any) return weighted ? any.q : 10;
    return 0;
  };
  let best: Outcome = 406;
  let bestWeight = 0;
  for (const variant of VARIANTS) {
    if (weight(variant) > bestWeight) [best, bestWeight] = [variant, weight(variant)];
  }
  return best;
}

const PEP691_EXAMPLE =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
const PIP_ACCEPT =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

/** PEP 691's example headers and the cases each configuration's comment names. */
const CASES: [Accept, Outcome][] = [
  // PEP 691: a client preferring the JSON, then v1+html, then text/html
  [PEP691_EXAMPLE, "application/vnd.pypi.simple.v1+json"],
  // pip's own (pip ≥ 22.2)
  [PIP_ACCEPT, "application/vnd.pypi.simple.v1+json"],
  // PEP 691: clients supporting only one format remove the others
  ["application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+json"],
  [
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01",
    "application/vnd.pypi.simple.v1+html",
  ],
  // PEP 691: latest answers with the type of the version it is
  ["application/vnd.pypi.simple.latest+json", "application/vnd.pypi.simple.v1+json"],
  ["application/vnd.pypi.simple.latest+html", "application/vnd.pypi.simple.v1+html"],
  ["application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"],
  // older pip, browsers, curl, and no Accept at all (PEP 691: as */*)
  ["text/html", "text/html"],
  ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"],
  ["*/*", "text/html"],
  [null, "text/html"],
  // q-values, not order
  ["application/vnd.pypi.simple.v1+json;q=0, text/html", "text/html"],
  ["text/html;q=0.5, application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+json"],
  ["application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.6", "text/html"],
  ["*/*;q=0.1, application/vnd.pypi.simple.v1+json;q=0.05", "text/html"],
  // unweighted wildcards give way to a type named
  ["application/vnd.pypi.simple.v1+json, */*", "application/vnd.pypi.simple.v1+json"],
  ["application/*", "application/vnd.pypi.simple.v1+html"],
  ["Application/VND.PyPI.Simple.V1+JSON", "application/vnd.pypi.simple.v1+json"],
  // a hostile client's long headers (within the servers' 8 KiB) are read to the end
  [
    `${"image/png;q=0.1, ".repeat(400)}application/vnd.pypi.simple.v1+json`,
    "application/vnd.pypi.simple.v1+json",
  ],
  [`text/html${";x=y".repeat(1500)};q=0.5, application/vnd.pypi.simple.v1+json;q=0.4`, "text/html"],
  // nothing we have
  ["application/json", 406],
  ["application/vnd.pypi.simple.v2+json", 406],
  ["application/vnd.pypi.simple.v1+json;q=0", 406],
  ["image/png, text/plain", 406],
];

Deno.test("deploy: the PEP 691 rule in the configurations gives what they say", () => {
  for (const [accept, outcome] of CASES) assertEquals(negotiate(accept), outcome, `${accept}`);
});

/** Runs `test` over both servers serving one {@linkcode site}. */
async function withServers(
  test: (servers: [string, number][], dir: string) => Promise<void>,
): Promise<void> {
  await inTempDir("piw-web-", async (dir) => {
    const { root } = await site(dir);
    await Deno.writeTextFile(`${dir}/logger`, "#!/bin/sh\nexec cat >/dev/null\n", { mode: 0o755 });
    await using apache = await startApache(
      `${dir}/apache`,
      await apacheSite(root, `${dir}/logger`),
    );
    await using nginx = await startNginx(`${dir}/nginx`, root);
    await test([["Apache", apache.port], ["nginx", nginx.port]], dir);
  });
}

/** Whether `vary` lists the Accept header. */
function variesByAccept(vary: string | undefined): boolean {
  return (vary ?? "").split(",").some((v) => v.trim().toLowerCase() === "accept");
}

Deno.test("deploy: Apache and nginx negotiate PEP 691 by q-values: PEP 691's examples and each case", async () => {
  await withServers(async (servers, dir) => {
    for (const [server, port] of servers) {
      for (const [page, kind] of [["/simple/web-test/", "project"], ["/simple/", "index"]]) {
        const url = `http://127.0.0.1:${port}${page}`;
        const seen = await curl(dir, CASES.map(([accept]) => ({ url, accept })));
        for (const [i, [accept, outcome]] of CASES.entries()) {
          const { status, headers, body } = seen[i]!;
          const what = `${server} ${page} with ${
            accept === null ? "no Accept" : `"${accept.slice(0, 100)}"`
          }`;
          assert(variesByAccept(headers.vary), `${what}: Vary: ${headers.vary}`);
          if (outcome === 406) {
            assertEquals(status, 406, what);
            continue;
          }
          assertEquals(status, 200, what);
          assertEquals(headers["content-type"], outcome, what);
          const text = new TextDecoder().decode(body);
          if (outcome === "application/vnd.pypi.simple.v1+json") {
            const json = JSON.parse(text);
            assertEquals(json.meta, { "api-version": "1.1" }, what);
            if (kind === "project") assertEquals(json.name, "web-test", what);
            else assertEquals(json.projects, [{ name: "web-test" }], what);
          } else {
            assert(text.startsWith("<!DOCTYPE html>"), `${what}: ${text.slice(0, 40)}`);
            assertStringIncludes(text, '<meta name="pypi:repository-version" content="1.1">', what);
            assertStringIncludes(
              text,
              kind === "project" ? "Links for web-test" : "web-test/",
              what,
            );
          }
        }
      }
    }
  });
});

/** Deterministic pseudo-random numbers (mulberry32) for generated headers. */
function numbers(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `count` well-formed Accept headers of our types, their aliases, wildcards and others. */
function generatedHeaders(count: number): string[] {
  const random = numbers(691);
  const pick = <T>(from: readonly T[]): T => from[Math.floor(random() * from.length)]!;
  const types = [
    "text/html",
    "text/*",
    "*/*",
    "application/*",
    "application/vnd.pypi.simple.v1+json",
    "application/vnd.pypi.simple.latest+json",
    "application/vnd.pypi.simple.v1+html",
    "application/vnd.pypi.simple.latest+html",
    "Application/Vnd.PyPI.Simple.V1+Json",
    "TEXT/HTML",
    "application/json",
    "application/xhtml+xml",
    "image/png",
  ];
  const qs = [null, null, null, "0", "0.001", "0.01", "0.02", "0.1", "0.2", "0.5", "0.9", "0.99"];
  const more = ["0.999", "1", "1.0", ".5"];
  return Array.from(
    { length: count },
    () =>
      Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
        const q = pick([...qs, ...more]);
        return q === null ? pick(types) : `${pick(types)}${pick([";", "; "])}q=${q}`;
      }).join(pick([",", ", "])),
  );
}

Deno.test("deploy: Apache and nginx choose as the rule says for 300 generated Accept headers", async () => {
  const headers = generatedHeaders(300);
  await withServers(async (servers, dir) => {
    for (const [server, port] of servers) {
      const url = `http://127.0.0.1:${port}/simple/web-test/`;
      const seen = await curl(dir, headers.map((accept) => ({ url, accept })));
      const wrong = headers.flatMap((accept, i) => {
        const { status, headers: got } = seen[i]!;
        const expected = negotiate(accept);
        const outcome = status === 406 ? 406 : status === 200 ? got["content-type"] : status;
        return outcome === expected ? [] : [`"${accept}": ${outcome}, not ${expected}`];
      });
      assertEquals(wrong, [], `${server} differs from the rule`);
    }
    // the generated headers reach every outcome
    assertEquals(new Set(headers.map(negotiate)).size, VARIANTS.length + 1);
  });
});

/**
 * pip downloads the wheel; the wheel and its core metadata have their types, the metadata its
 * exact bytes; the build log is gzip-encoded text.
 */
async function checkServer(port: number, dir: string, built: Awaited<ReturnType<typeof site>>) {
  const { wheel, metadata } = built;
  const base = `http://127.0.0.1:${port}`;
  const [whl, meta] = await curl(dir, [
    { url: `${base}/simple/web-test/${wheel.filename}`, accept: null },
    { url: `${base}/simple/web-test/${wheel.filename}.metadata`, accept: null, gzip: true },
  ]);
  assertEquals(whl!.headers["content-type"], "application/octet-stream");
  assertEquals(whl!.body, wheel.bytes);
  assertEquals(meta!.headers["content-type"], "text/plain; charset=utf-8");
  assertEquals(meta!.headers["x-content-type-options"], "nosniff");
  // byte for byte as hashed, even to a client that would take it compressed
  assertEquals(meta!.headers["content-encoding"], undefined);
  assertEquals(meta!.body, metadata);
  // fetch undoes the Content-Encoding, as a browser does
  const log = await fetch(`${base}/${BUILD_LOG}`);
  assertEquals(log.headers.get("content-encoding"), "gzip");
  assertStringIncludes(log.headers.get("content-type") ?? "", "text/plain");
  // a build writes its log: never to be sniffed into a page
  assertEquals(log.headers.get("x-content-type-options"), "nosniff");
  assertEquals(await log.text(), BUILD_OUTPUT);
  const pip = await run(PYTHON, [
    ...["-m", "pip", "download", "--no-deps", "--no-cache-dir"],
    ...["--index-url", `${base}/simple/`, "--dest", `${dir}/downloads`],
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

Deno.test("deploy: Apache with our site serves pip, wheels and metadata, and pipes its log", async () => {
  await inTempDir("piw-apache-", async (dir) => {
    const built = await site(dir);
    // in place of piw-logger: a script keeping what Apache pipes to it, and who it runs as (the
    // site's own command line, with nobody for piwheels: Apache would run it as root, with no
    // HOME for the binary to unpack itself under)
    await Deno.chmod(dir, 0o755);
    const piped = `${dir}/piped/log`;
    await Deno.mkdir(`${dir}/piped`, { mode: 0o777 });
    await Deno.chmod(`${dir}/piped`, 0o777);
    await Deno.writeTextFile(
      `${dir}/logger`,
      `#!/bin/sh\necho "as $(id -un) cache $PIWHEELS_CACHE_DIR" >>${piped}\nexec cat >>${piped}\n`,
      { mode: 0o755 },
    );
    await using apache = await startApache(
      `${dir}/apache`,
      await apacheSite(built.root, `${dir}/logger`, { user: "nobody", group: "nogroup" }),
    );
    await checkServer(apache.port, dir, built);
    const { filename } = built.wheel;
    const pipLine = async () =>
      (await Deno.readTextFile(piped).catch(() => "")).split("\n").find((l) =>
        l.includes(`"GET /simple/web-test/${filename} HTTP/1.1" 200`) && l.includes('"pip/')
      );
    await eventually(
      "Apache pipes pip's download to the logger in the combined format",
      async () => await pipLine() !== undefined,
    );
    const line = (await pipLine())!;
    assert(/^127\.0\.0\.1 - - \[[^\]]+\] "GET .+" 200 \d+ "-" "pip\/.+"$/.test(line), line);
    assertStringIncludes(await Deno.readTextFile(piped), "as nobody cache /var/cache/piwheels\n");
  });
});

Deno.test("deploy: nginx -t accepts our site in Debian's nginx, which serves pip, wheels and metadata", async () => {
  await inTempDir("piw-nginx-", async (dir) => {
    const built = await site(dir);
    const test = await (await configureNginx(`${dir}/check`, built.root)).test();
    assertEquals(test.code, 0, test.stderr);
    assertStringIncludes(test.stderr, "test is successful");
    assert(!test.stderr.includes("[warn]"), test.stderr);
    await using nginx = await startNginx(`${dir}/server`, built.root);
    await checkServer(nginx.port, dir, built);
  });
});
