/**
 * The quick-start demo (`deno task demo`): a local fake PyPI publishing a few tiny packages, the
 * real piw-master (with the flags it ships with) following it on an embedded database, and a
 * web server over the site it writes. Open the printed URL and watch the packages appear; stop
 * with Ctrl+C. Nothing outside the demo directory is touched (default: a new temporary one).
 *
 * @module
 */

import { TOOLS } from "../shared/flags.ts";
import { FakePyPI } from "../tests/fixtures/fake_pypi.ts";
import { serveDirectory } from "../tests/fixtures/static_server.ts";

const dir = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "piwheels-demo-" });
await Deno.mkdir(dir, { recursive: true });
const root = new URL("..", import.meta.url).pathname;

const pypi = new FakePyPI();
const web = serveDirectory(`${dir}/www`);
console.log(`piwheels demo in ${dir}`);
console.log(`  fake PyPI:      ${pypi.url}/simple/`);
console.log(`  the web site:   http://127.0.0.1:${web.addr.port}/`);
console.log(`  build slaves:   tcp://127.0.0.1:5555 (piw-slave -m 127.0.0.1)`);
console.log("Stop with Ctrl+C.\n");

const tool = TOOLS["piw-master"];
const master = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    ...tool.flags,
    `${root}${tool.entry}`,
    "--dev-mode",
    "-d",
    `pglite://${dir}/db`,
    "-o",
    `${dir}/www`,
    "--pypi-xmlrpc",
    pypi.xmlrpcUrl,
    "--pypi-simple",
    pypi.simpleUrl,
    "--slave-queue",
    "tcp://127.0.0.1:5555",
    "--file-queue",
    "tcp://127.0.0.1:5556",
    "--status-queue",
    `ipc://${dir}/status`,
    "--control-queue",
    `ipc://${dir}/control`,
    "--import-queue",
    `ipc://${dir}/import`,
    "--log-queue",
    `ipc://${dir}/logger`,
  ],
  stdin: "null",
}).spawn();

const releases: [string, string][] = [["hello-piwheels", "1.0"], ["Tiny.Demo", "0.1"], [
  "tiny-demo",
  "0.2",
]];
const publishing = (async () => {
  for (const [name, version] of releases) {
    await new Promise((r) => setTimeout(r, 3000));
    await pypi.release(name, version);
    console.log(`demo: PyPI published ${name} ${version}`);
  }
})();

const stop = () => master.kill("SIGTERM");
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
const { code } = await master.status;
await publishing;
await web.shutdown();
await pypi.close();
Deno.exit(code);
