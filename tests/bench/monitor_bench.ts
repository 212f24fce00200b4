/**
 * piw-monitor under a flooded status queue: 200 slaves each changing state every second (200
 * SLAVE messages a second, spread evenly) and a STATS every second, from a PUB socket standing
 * in for the master (it also answers HELLO with a replay). piw-monitor runs with its shipped
 * flags in a real terminal (tmux, 160×60). Measured over `--seconds` (default 30): its CPU time
 * from /proc/<pid>/stat, the frames it drew (its own count, logged at -v on exit), and how
 * long a key press takes to show on the screen while flooded.
 *
 *     deno run -A tests/bench/monitor_bench.ts [--seconds 30] [--slaves 200]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Duration } from "../../shared/duration.ts";
import { encodeMessage, masterControl, monitorStats, NO_DATA } from "../../shared/protocols.ts";
import { decodeMessage } from "../../shared/protocols.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { Publisher, Pull } from "../../shared/zmq/mod.ts";
import { TOOLS } from "../../shared/flags.ts";
import { ROOT, run } from "../process.ts";
import { Tmux } from "../tmux.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    slaves: { type: "string", default: "200" },
  },
});
const SECONDS = Number(values.seconds);
const SLAVES = Number(values.slaves);

const dir = await Deno.makeTempDir({ prefix: "piw-monitor-bench-" });
const statusQueue = `ipc://${dir}/status`;
const controlQueue = `ipc://${dir}/control`;
const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
await pub.bind(statusQueue);
const control = new Pull();
await control.bind(controlQueue);

const CYCLE: [string, (i: number, n: number) => unknown][] = [
  ["BUILD", (i, n) => [`package-${i}`, `${n}.0`]],
  ["SEND", (i, n) => `package_${i}-${n}.0-cp311-cp311-linux_armv7l.whl`],
  ["DONE", () => NO_DATA],
  ["SLEEP", () => NO_DATA],
];
const step = new Array(SLAVES).fill(0);
const hello = (i: number) =>
  encodeMessage(monitorStats, "SLAVE", [
    i + 1,
    Timestamp.now(),
    "HELLO",
    [Duration.of({ hours: 3 }), "311", i % 2 ? "cp311" : "cp39", "linux_armv7l", `slave-${i}`],
  ]);
const change = (i: number) => {
  const [msg, data] = CYCLE[step[i]++ % CYCLE.length]!;
  return encodeMessage(monitorStats, "SLAVE", [
    i + 1,
    Timestamp.now(),
    msg,
    data(i, step[i]) as never,
  ]);
};
const stats = () =>
  encodeMessage(monitorStats, "STATS", {
    packages_built: 1000,
    builds_count: 5000,
    builds_last_hour: 120,
    builds_success: 4000,
    builds_time: Duration.of({ hours: 500 }),
    builds_size: 1 << 30,
    builds_pending: 4321,
    files_count: 4000,
    disk_free: 40 << 30,
    disk_size: 100 << 30,
    downloads_last_month: 123456,
    downloads_all: 9876543,
  });
const master = () =>
  encodeMessage(monitorStats, "MASTER", {
    paused: false,
    builds_pending_abi: { cp39: 1234, cp311: 3087 },
    stats_every: Duration.of({ seconds: 60 }),
    version: "bench",
  });

// HELLO: replay every slave, then STATS (as the master does)
const answering = (async () => {
  for await (const [frame] of control) {
    if (decodeMessage(masterControl, frame!).msg !== "HELLO") continue;
    for (let i = 0; i < SLAVES; i++) await pub.send(hello(i));
    await pub.send(stats());
    await pub.send(master());
  }
})().catch(() => {});

await using tmux = await Tmux.create();
const tool = TOOLS["piw-monitor"];
const log = `${dir}/monitor.log`;
await tmux.start("bench", [
  Deno.execPath(),
  "run",
  ...tool.flags,
  `${ROOT}/${tool.entry}`,
  "--status-queue",
  statusQueue,
  "--control-queue",
  controlQueue,
  "-v",
  "-l",
  log,
], { cols: 160, rows: 60, env: { HOME: dir } });
await tmux.waitFor("bench", /Queue: cp39 1,234[^]* slave-0 /, { timeoutMs: 60_000 });

const shell = Number(
  (await run("tmux", ["-S", tmux.socket, "display", "-p", "-t", "bench", "#{pane_pid}"])).stdout,
);
const children = (await Deno.readTextFile(`/proc/${shell}/task/${shell}/children`)).trim();
const pid = Number(children.split(/\s+/)[0]);
const ticksPerSecond = Number((await run("getconf", ["CLK_TCK"])).stdout.trim());
const cpuTicks = async () => {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime, stime
};
const rss = async () =>
  Number(/VmRSS:\s+(\d+)/.exec(await Deno.readTextFile(`/proc/${pid}/status`))![1]) / 1024;

// the flood: one slave's change every 1000/SLAVES ms, a STATS every second
let flooding = true;
let sent = 0;
const flood = (async () => {
  const start = performance.now();
  for (let k = 0; flooding; k++) {
    const due = start + k * (1000 / SLAVES);
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await pub.send(change(k % SLAVES));
    if (k % SLAVES === 0) await pub.send(stats());
    sent++;
  }
})();

await new Promise((r) => setTimeout(r, 2000)); // settle
const t0 = performance.now();
const c0 = await cpuTicks();
const s0 = sent;
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const c1 = await cpuTicks();
const wall = (performance.now() - t0) / 1000;
const messages = sent - s0;

// responsiveness under the flood: Down moves the selection; time until the screen shows it
const selectedRow = (screen: string) =>
  screen.split("\n").findIndex((line) => line.startsWith("\x1b[7m"));
const latencies: number[] = [];
for (let i = 0; i < 10; i++) {
  const before = selectedRow(await tmux.capture("bench", true));
  const t = performance.now();
  await tmux.keys("bench", "Down");
  await tmux.waitFor("bench", (s) => selectedRow(s) !== before, { escapes: true });
  latencies.push(performance.now() - t);
}
const memory = await rss();
flooding = false;
await flood;
await tmux.keys("bench", "q");
await tmux.exitCode("bench");
const drew = /drew (\d+) frames in ([\d.]+) s/.exec(await Deno.readTextFile(log));
await control.close();
await pub.close();
await answering;
await Deno.remove(dir, { recursive: true });

latencies.sort((a, b) => a - b);
const cpu = (c1 - c0) / ticksPerSecond / wall;
console.log(`piw-monitor, ${SLAVES} slaves each changing every second, ${wall.toFixed(1)} s:`);
console.log(`  status messages published to it: ${(messages / wall).toFixed(0)}/s`);
console.log(`  CPU: ${(cpu * 100).toFixed(1)}% of one core`);
if (drew) {
  console.log(
    `  frames drawn: ${(Number(drew[1]) / Number(drew[2])).toFixed(1)}/s over the whole run`,
  );
}
console.log(
  `  key press → on screen (through tmux): median ${latencies[5]!.toFixed(0)} ms, max ${
    latencies.at(-1)!.toFixed(0)
  } ms`,
);
console.log(`  RSS: ${memory.toFixed(0)} MiB`);
