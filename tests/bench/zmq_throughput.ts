/**
 * ZeroMQ throughput, side by side on this machine: our sockets, pyzmq (libzmq 4.3 through
 * Debian's python3-zmq) and raw Deno streams (the ceiling), each pair of peers in two separate
 * processes, over tcp and ipc. Prints a Markdown table: the median of `--runs` runs per cell, and
 * as ratios the median of the per-run ratios (the implementations take turns within each run, so
 * that this machine's speed drifting meanwhile does not favour one of them).
 *
 * Run: deno run -A tests/bench/zmq_throughput.ts [--runs 3]
 *
 * With `--curve`, it measures what CURVE costs instead: PUSH/PULL of 64 KiB and 1 MiB frames
 * over tcp, NULL against CURVE, ours against pyzmq.
 *
 * @module
 */

import { curveKeyPair } from "../../shared/zmq/mod.ts";
import { PYTHON, ROOT } from "../process.ts";

interface Row {
  name: string;
  pattern: "push" | "req";
  count: number;
  size: number;
  unit: string;
  /** Turns operations per second into the unit shown. */
  scale: (perSecond: number) => number;
}

const ROWS: Row[] = [
  {
    name: "PUSH/PULL 100 B",
    pattern: "push",
    count: 1_000_000,
    size: 100,
    unit: "msg/s",
    scale: (n) => n,
  },
  {
    name: "PUSH/PULL 64 KiB",
    pattern: "push",
    count: 20_000,
    size: 65536,
    unit: "MB/s",
    scale: (n) => (n * 65536) / 1e6,
  },
  {
    name: "REQ/REP 100 B",
    pattern: "req",
    count: 20_000,
    size: 100,
    unit: "round trips/s",
    scale: (n) => n,
  },
];
/** The rows of `--curve`. */
const CURVE_ROWS: Row[] = [
  {
    name: "PUSH/PULL 64 KiB",
    pattern: "push",
    count: 5_000,
    size: 65536,
    unit: "MB/s",
    scale: (n) => (n * 65536) / 1e6,
  },
  {
    name: "PUSH/PULL 1 MiB",
    pattern: "push",
    count: 400,
    size: 1 << 20,
    unit: "MB/s",
    scale: (n) => (n * (1 << 20)) / 1e6,
  },
];
const IMPLS = ["ours", "pyzmq", "raw"] as const;
type Impl = typeof IMPLS[number];

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 3;
let sequence = 0;
/** The keys of CURVE runs, for both sides (`zmq_peer.ts` and `zmq_bench.py` read them). */
const CURVE_KEYS = JSON.stringify({ server: curveKeyPair(), client: curveKeyPair() });

function command(impl: Impl, args: string[], curve: boolean): Deno.Command {
  const [program, ...prefix] = impl === "pyzmq"
    ? [PYTHON, `${ROOT}/tests/fixtures/zmq_bench.py`]
    : [Deno.execPath(), "run", "-A", `${ROOT}/tests/bench/zmq_peer.ts`, impl];
  const env: Record<string, string> = curve ? { PIW_BENCH_CURVE: CURVE_KEYS } : {};
  return new Deno.Command(program!, { args: [...prefix, ...args], stdout: "piped", env });
}

async function lines(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  return (await new Response(stream).text()).split("\n");
}

/** One run: server and client in their own processes; returns operations per second. */
async function once(
  impl: Impl,
  row: Row,
  transport: "tcp" | "ipc",
  curve = false,
): Promise<number> {
  const endpoint = transport === "tcp"
    ? "tcp://127.0.0.1:0"
    : `ipc://${Deno.makeTempDirSync()}/bench-${Deno.pid}-${sequence++}.sock`;
  const args = [String(row.count), String(row.size)];
  const server = command(impl, [row.pattern, "server", endpoint, ...args], curve).spawn();
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let head = "";
  while (!head.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${impl} server did not start`);
    head += value;
  }
  const bound = /^ready (\S+)/.exec(head)![1]!;
  const client = command(impl, [row.pattern, "client", bound, ...args], curve).spawn();
  const rest = (async () => {
    const parts = [head];
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    return parts.join("").split("\n");
  })();
  const [serverLines, clientLines] = await Promise.all([rest, lines(client.stdout)]);
  const [serverStatus, clientStatus] = await Promise.all([server.status, client.status]);
  if (!serverStatus.success || !clientStatus.success) throw new Error(`${impl} run failed`);
  const result = [...serverLines, ...clientLines].find((line) => line.startsWith("result "));
  if (transport === "ipc") {
    Deno.removeSync(endpoint.slice(6).replace(/\/[^/]+$/, ""), { recursive: true });
  }
  return Number(result!.slice(7));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** The default table: ours, pyzmq and raw streams, over tcp and ipc. */
async function throughput(): Promise<string[]> {
  const table = [
    "| row | transport | ours | pyzmq (libzmq) | raw Deno stream | ours / pyzmq | ours / raw |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const transport of ["tcp", "ipc"] as const) {
    for (const row of ROWS) {
      const runs: Record<Impl, number[]> = { ours: [], pyzmq: [], raw: [] };
      for (let i = 0; i < RUNS; i++) {
        for (const impl of IMPLS) runs[impl].push(row.scale(await once(impl, row, transport)));
      }
      for (const impl of IMPLS) {
        console.error(
          `${row.name} ${transport} ${impl}: ${runs[impl].map(format).join(", ")} ${row.unit}`,
        );
      }
      const [ours, pyzmq, raw] = IMPLS.map((impl) => median(runs[impl])) as [
        number,
        number,
        number,
      ];
      const ratio = (other: Impl) => median(runs.ours.map((value, i) => value / runs[other][i]!));
      table.push(
        `| ${row.name} (${row.unit}) | ${transport} | ${format(ours)} | ${format(pyzmq)} | ` +
          `${format(raw)} | ${ratio("pyzmq").toFixed(2)} | ${ratio("raw").toFixed(2)} |`,
      );
    }
  }
  return table;
}

/** `--curve`: NULL against CURVE, ours against pyzmq, over tcp. */
async function curveCost(): Promise<string[]> {
  const table = [
    "| row (tcp) | ours NULL | ours CURVE | pyzmq NULL | pyzmq CURVE | ours CURVE / NULL | " +
    "pyzmq CURVE / NULL | ours / pyzmq, CURVE |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const cells = ["ours NULL", "ours CURVE", "pyzmq NULL", "pyzmq CURVE"] as const;
  for (const row of CURVE_ROWS) {
    const runs: Record<string, number[]> = Object.fromEntries(cells.map((c) => [c, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const cell of cells) {
        const [impl, mechanism] = cell.split(" ") as [Impl, string];
        runs[cell]!.push(row.scale(await once(impl, row, "tcp", mechanism === "CURVE")));
      }
    }
    for (const cell of cells) {
      console.error(`${row.name} ${cell}: ${runs[cell]!.map(format).join(", ")} ${row.unit}`);
    }
    const ratio = (a: string, b: string) =>
      median(runs[a]!.map((value, i) => value / runs[b]![i]!)).toFixed(2);
    table.push(
      `| ${row.name} (${row.unit}) | ${cells.map((c) => format(median(runs[c]!))).join(" | ")} | ` +
        `${ratio("ours CURVE", "ours NULL")} | ${ratio("pyzmq CURVE", "pyzmq NULL")} | ` +
        `${ratio("ours CURVE", "pyzmq CURVE")} |`,
    );
  }
  return table;
}

console.log((Deno.args.includes("--curve") ? await curveCost() : await throughput()).join("\n"));
