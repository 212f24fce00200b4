/**
 * The quick-start demo (`deno task demo`): a local fake PyPI publishing a few tiny packages, the
 * real piw-master following it on an embedded database, a real piw-slave building them (under
 * bubblewrap when it is installed), and a web server over the site the master writes. Each tool
 * runs with the flags it ships with. Open the printed URL and watch the packages appear and get
 * built; the printed piw-monitor command line watches and controls the farm; stop with Ctrl+C.
 * As an operator would, the demo names the ABI its slave builds for with piw-abi.
 * Nothing outside the demo directory is touched (default: a new temporary one).
 *
 * `deno task demo [--slave-port PORT] [--file-port PORT] [DIR]`: the master's queues for slaves
 * are on 127.0.0.1, ports 5555 and 5556 unless given.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { TOOLS } from "../shared/flags.ts";
import { probeInterpreter } from "../slave/interpreter.ts";
import { FakePyPI } from "../tests/fixtures/fake_pypi.ts";
import { serveDirectory } from "../tests/fixtures/static_server.ts";
import { shellQuote } from "../tests/process.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    "slave-port": { type: "string", default: "5555" },
    "file-port": { type: "string", default: "5556" },
  },
  allowPositionals: true,
});
const dir = positionals[0] ?? await Deno.makeTempDir({ prefix: "piwheels-demo-" });
await Deno.mkdir(dir, { recursive: true });
const root = new URL("..", import.meta.url).pathname;
const slaveQueue = `tcp://127.0.0.1:${values["slave-port"]}`;
const fileQueue = `tcp://127.0.0.1:${values["file-port"]}`;
const statusQueue = `ipc://${dir}/status`;
const controlQueue = `ipc://${dir}/control`;

/** The command line that runs a tool from this checkout with its flags, as a shell takes it. */
function commandLine(name: keyof typeof TOOLS, args: string[]): string {
  const words = [Deno.execPath(), "run", ...TOOLS[name].flags, `${root}${TOOLS[name].entry}`];
  return [...words, ...args].map((w) => /^[\w.\/:=,@%+-]+$/.test(w) ? w : shellQuote(w)).join(" ");
}

const pypi = new FakePyPI();
const web = serveDirectory(`${dir}/www`);
const site = `http://127.0.0.1:${web.addr.port}`;
console.log(`piwheels demo in ${dir}`);
console.log(`  fake PyPI:      ${pypi.url}/simple/`);
console.log(`  the web site:   ${site}/`);
const join = values["slave-port"] === "5555" && values["file-port"] === "5556"
  ? "-m 127.0.0.1"
  : `--slave-queue ${slaveQueue} --file-queue ${fileQueue}`;
console.log(`  build slaves:   ${slaveQueue} (one is started; more: piw-slave ${join})`);
console.log(
  `  piw-monitor:    ${
    commandLine("piw-monitor", ["--status-queue", statusQueue, "--control-queue", controlQueue])
  }`,
);
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
    "--base-url",
    site,
    "--slave-queue",
    slaveQueue,
    "--file-queue",
    fileQueue,
    "--status-queue",
    statusQueue,
    "--control-queue",
    controlQueue,
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
    "--slave-queue",
    slaveQueue,
    "--file-queue",
    fileQueue,
    "--label",
    "demo-slave",
    "--build-dir",
    `${dir}/build`,
    "--sleep",
    "2s",
  ],
  stdin: "null",
}).spawn();

let stopped = false;
// the operator's part: the farm builds for the ABI of the slave's Python (its default one)
const abi = (await probeInterpreter("/usr/bin/python3")).abiTag;
const abiTool = TOOLS["piw-abi"];
const addAbi = (async () => {
  const args = ["run", ...abiTool.flags, `${root}${abiTool.entry}`, "-q", "--timeout", "5s"];
  for (;;) {
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: [...args, "--import-queue", `ipc://${dir}/import`, "add", abi],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    if (code === 0) return console.log(`demo: the farm builds for ${abi} (piw-abi add ${abi})`);
    if (stopped) return;
    await new Promise((r) => setTimeout(r, 1000)); // the master is not ready yet
  }
})();

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
  stopped = true;
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
// the master ending (told to QUIT by piw-monitor, or unable to start) ends the demo
const { code } = await master.status;
stop();
await slave.status;
await publishing;
await addAbi;
await web.shutdown();
await pypi.close();
Deno.exit(code);
