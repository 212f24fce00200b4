/**
 * The quick-start demo (`deno task demo`): a local fake PyPI publishing a few tiny packages, the
 * real piw-master following it on an embedded database, a real piw-slave building them (under
 * bubblewrap when it is installed), and a web server over the site the master writes. Each tool
 * runs with the flags it ships with. Open the printed URL and watch the packages appear and get
 * built; stop with Ctrl+C. Nothing outside the demo directory is touched (default: a new
 * temporary one).
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
console.log(`  build slaves:   tcp://127.0.0.1:5555 (one is started: piw-slave -m 127.0.0.1)`);
console.log("Stop with Ctrl+C.\n");

const tool = TOOLS["piw-master"];
const slaveTool = TOOLS["piw-slave"];
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

const slave = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    ...slaveTool.flags,
    `${root}${slaveTool.entry}`,
    "-m",
    "127.0.0.1",
    "--label",
    "demo-slave",
    "--build-dir",
    `${dir}/build`,
    "--sleep",
    "2s",
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

const stop = () => {
  for (const child of [slave, master]) {
    try {
      child.kill("SIGTERM");
    } catch {
      // ended already
    }
  }
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
await slave.status;
const { code } = await master.status;
await publishing;
await web.shutdown();
await pypi.close();
Deno.exit(code);
