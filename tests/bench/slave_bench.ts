/**
 * piw-slave's figures:
 *
 * - transfer of a 30 MB wheel from the slave's file sender (`shared/file_sender.ts`) to the real
 *   master's File Juggler (credit-based FETCH/CHUNK, written at offsets), until the file queue's
 *   DONE, and until the Slave Driver's DONE (the file written, hashed and verified, the build
 *   logged), against raw loopback TCP between two Deno sockets moving the same bytes;
 * - the farm's per-build overhead for a tiny package: from the Slave Driver handing out the build
 *   to the build being logged (dispatch, the build, BUILT, transfer, verification, LOGBUILD),
 *   minus pip's own time for the same build run directly.
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno run -A tests/bench/slave_bench.ts
 *
 * @module
 */

import { Duration } from "../../shared/duration.ts";
import { sendFile } from "../../shared/file_sender.ts";
import { startFarm, startSlave } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PYTHON, run } from "../process.ts";
import { median } from "./median.ts";

const MB = 1_000_000;

async function rawTcp(bytes: Uint8Array): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const receiving = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(256 * 1024);
    let got = 0;
    while (got < bytes.length) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += n;
    }
    conn.close();
    return got;
  })();
  const start = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at, at + 256 * 1024));
  }
  const got = await receiving;
  const seconds = (performance.now() - start) / 1000;
  conn.close();
  listener.close();
  if (got !== bytes.length) throw new Error("short read");
  return bytes.length / MB / seconds;
}

async function transfer(
  rounds: number,
): Promise<{ queue: number[]; ours: number[]; raw: number[] }> {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "bench");
  await slave.hello();
  const queue: number[] = [];
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `big-${i}`;
    await pypi.release(name, "1.0");
    const reply = await slave.request("IDLE");
    if (reply.msg !== "BUILD") throw new Error(`expected BUILD, got ${reply.msg}`);
    const wheel = makeWheel(name, "1.0", { padding: 30 * MB });
    const path = await Deno.makeTempFile();
    await Deno.writeFile(path, wheel.bytes);
    const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
    if ((await slave.request("BUILT", [true, Duration.ZERO, "", files])).msg !== "SEND") {
      throw new Error("no SEND");
    }
    const start = performance.now();
    const rate = () => wheel.bytes.length / MB / ((performance.now() - start) / 1000);
    await sendFile(master.fileQueue, slave.slaveId, path);
    queue.push(rate());
    // the file queue's DONE says every byte arrived, not that the writing thread has caught up
    if ((await slave.request("SENT")).msg !== "DONE") throw new Error("no DONE");
    ours.push(rate());
    await Deno.remove(path);
    raw.push(await rawTcp(wheel.bytes));
  }
  await master.stop();
  return { queue, ours, raw };
}

async function overhead(rounds: number): Promise<{ farm: number[]; pip: number[] }> {
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/master.log`;
  await using started = await startFarm({
    args: ["-l", logFile],
  });
  const { pypi, master } = started;
  await using slave = await startSlave({ master, label: "bench", args: ["--sandbox", "bwrap"] });
  await slave.waitForLog(/connected to the master/);
  const farm: number[] = [];
  const pip: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `tiny-${i}`;
    await pypi.release(name, "1.0");
    await master.waitForLog(new RegExp(`logged build \\d+: ${name} 1\\.0`), 60_000);
    const log = await Deno.readTextFile(logFile);
    const at = (re: RegExp) => Date.parse(re.exec(log)![1]!);
    const dispatched = at(
      new RegExp(
        `^\\[(\\S+)\\] slave_driver (?:INFO|DEBUG): slave \\d+ \\(bench\\): build ${name} `,
        "m",
      ),
    );
    const logged = at(
      new RegExp(`^\\[(\\S+)\\] slave_driver (?:INFO|DEBUG): logged build \\d+: ${name} `, "m"),
    );
    farm.push(logged - dispatched);
    const out = await Deno.makeTempDir();
    const start = performance.now();
    const direct = await run(PYTHON, [
      "-m",
      "pip",
      "wheel",
      "--no-deps",
      "--no-cache-dir",
      "--no-build-isolation",
      "--no-binary",
      ":all:",
      "--disable-pip-version-check",
      "--index-url",
      pypi.simpleUrl,
      "--wheel-dir",
      out,
      `${name}==1.0`,
    ]);
    pip.push(performance.now() - start);
    if (direct.code !== 0) throw new Error(direct.stderr);
    await Deno.remove(out, { recursive: true });
  }
  await master.stop();
  await Deno.remove(dir, { recursive: true });
  return { farm, pip };
}

const t = await transfer(5);
const raw = median(t.raw);
console.log(
  `30 MB wheel, slave → master: ${median(t.ours).toFixed(0)} MB/s to DONE (verified, logged), ` +
    `${median(t.queue).toFixed(0)} MB/s to the file queue's DONE; raw Deno loopback TCP: ` +
    `${raw.toFixed(0)} MB/s (ratios ${(median(t.ours) / raw).toFixed(2)} and ` +
    `${(median(t.queue) / raw).toFixed(2)})`,
);
const o = await overhead(7);
const farmMs = median(o.farm);
const pipMs = median(o.pip);
console.log(
  `tiny package: dispatch → logged ${farmMs.toFixed(0)} ms; pip wheel alone ${
    pipMs.toFixed(0)
  } ms; farm overhead ${(farmMs - pipMs).toFixed(0)} ms per build`,
);
