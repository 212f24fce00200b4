/**
 * The master's metrics file (`--metrics-file`), read by the text parser of Debian's
 * python3-prometheus-client as node_exporter's textfile collector would read it, while a real
 * slave builds for a real master on PostgreSQL: the values follow the farm (a build that
 * succeeds and one that fails, the file received, the slave idle, the queue emptied, the
 * database's latencies, the pause), and each of the many times it is read, the parser takes it
 * whole. A peer on a stats queue an operator has opened to the network cannot write the figures
 * only the master knows.
 */

import { assert, assertEquals } from "../assert.ts";
import { eventually, freePort, startFarm, startSlave } from "../farm.ts";
import { bigBrother, encodeMessage, reverse } from "../../shared/protocols.ts";
import { Push } from "../../shared/zmq/mod.ts";
import { metricValue as value, parseMetrics as parse } from "../fixtures/metrics.ts";

Deno.test("metrics: the Prometheus file follows the farm, and the real parser takes it", async () => {
  await using farm = await startFarm({ metrics: true });
  const { pypi, master } = farm;
  const file = master.metricsFile!;
  // before any build: every family the master promises, parsed
  await eventually(
    "the metrics file is written",
    () => Deno.stat(file).then(() => true, () => false),
  );
  let p = await parse(file);
  for (
    const [name, type] of Object.entries({
      piwheels_builds: "counter", // the parser drops _total
      piwheels_slaves: "gauge",
      piwheels_received_bytes: "counter",
      piwheels_received_files: "counter",
      piwheels_build_queue: "gauge",
      piwheels_db_request_seconds: "histogram",
      piwheels_page_rewrites_pending: "gauge",
      piwheels_paused: "gauge",
      piwheels_disk_free_bytes: "gauge",
      piwheels_worker_heap_bytes: "gauge",
    })
  ) {
    await eventually(`${name} is in the file`, async () => {
      p = await parse(file);
      return p.families[name] === type;
    });
  }

  await pypi.release("metrics-pure", "1.0");
  await pypi.release("metrics-broken", "1.0", {
    setupPy: 'raise SystemExit("broken on purpose")\n',
  });
  await using slave = await startSlave({ master, label: "counted" });
  await master.waitForFile("project/metrics-broken/index.html", "failed after", 120_000);
  await master.waitForFile(
    "simple/metrics-pure/index.html",
    "metrics_pure-1.0-py3-none-any.whl",
    120_000,
  );
  const wheel = await Deno.stat(
    `${master.output}/simple/metrics-pure/metrics_pure-1.0-py3-none-any.whl`,
  );
  // each task's figures arrive on their own: wait until all of them have caught up
  const expected: [string, Record<string, string>, number][] = [
    ["piwheels_builds_total", { result: "success" }, 1],
    ["piwheels_builds_total", { result: "failure" }, 1],
    ["piwheels_slaves", { state: "idle" }, 1],
    ["piwheels_slaves", { state: "building" }, 0],
    ["piwheels_received_files_total", { result: "verified" }, 1],
    ["piwheels_received_bytes_total", {}, wheel.size],
    ["piwheels_build_queue", { abi: "cp311" }, 0],
    // two builds logged: LOGBUILD answered twice, each counted up to the +Inf bucket
    ["piwheels_db_request_seconds_count", { request: "LOGBUILD" }, 2],
    ["piwheels_db_request_seconds_bucket", { request: "LOGBUILD", le: "+Inf" }, 2],
    ["piwheels_paused", {}, 0],
  ];
  const wrong = () =>
    expected.filter(([name, labels, want]) => value(p, name, labels) !== want)
      .map(([name, labels, want]) =>
        `${name}${JSON.stringify(labels)} is ${value(p, name, labels)}, not ${want}`
      );
  await eventually("the metrics follow the builds", async () => {
    p = await parse(file);
    return wrong().length === 0;
  }, 60_000).catch((e) => {
    throw new Error(`${e.message}: ${wrong().join("; ")}`);
  });
  assert(value(p, "piwheels_db_request_seconds_sum", { request: "LOGBUILD" })! > 0);
  // each Worker's heap, from one task of each: a few MiB used, within what is reserved
  for (const worker of ["database", "slaves", "web"]) {
    const used = value(p, "piwheels_worker_heap_bytes", { worker, kind: "used" });
    const total = value(p, "piwheels_worker_heap_bytes", { worker, kind: "total" });
    assert(used! > 1e6 && used! <= total!, `${worker}: heap used ${used} of ${total}`);
  }
  assertEquals(p.samples.filter(([n]) => n === "piwheels_worker_heap_bytes").length, 9);

  await master.control("PAUSE");
  await eventually("the metrics show the pause", async () => {
    p = await parse(file);
    return value(p, "piwheels_paused") === 1;
  });
  // the wheel's name was new: publishing it asked the database nothing about whose it is
  assertEquals(value(p, "piwheels_db_request_seconds_count", { request: "FILEVERS" }), undefined);
  assertEquals((await slave.stop()).code, 0, slave.stderr);
});

Deno.test("metrics: METRICS from a peer cannot write the master's own figures", async () => {
  const statsQueue = `tcp://127.0.0.1:${freePort()}`;
  await using farm = await startFarm({ metrics: true, args: ["--stats-queue", statsQueue] });
  const file = farm.master.metricsFile!;
  const push = new Push({ linger: 5000 });
  push.connect(statsQueue);
  const gauge = (name: string, value: number) => ({
    name,
    help: "from a peer",
    type: "gauge" as const,
    series: [{ labels: [] as [string, string][], value }],
  });
  await push.send(encodeMessage(reverse(bigBrother), "METRICS", ["intruder", [
    gauge("piwheels_paused", 7),
    gauge("piwheels_build_queue", 1e9),
    gauge("piwheels_database_builds", 1e9),
    gauge("piwheels_intruder", 1),
  ]]));
  await push.close();
  let p = await parse(file).catch(() => undefined);
  await eventually("the peer's own family is in the file", async () => {
    p = await parse(file).catch(() => undefined);
    return p !== undefined && value(p, "piwheels_intruder") === 1 &&
      value(p, "piwheels_database_builds") !== undefined;
  });
  assertEquals(value(p!, "piwheels_paused"), 0);
  assertEquals(value(p!, "piwheels_database_builds"), 0);
  assertEquals(p!.samples.filter(([n]) => n === "piwheels_build_queue").length, 1);
  assertEquals(value(p!, "piwheels_build_queue", { abi: "cp311" }), 0);
});
