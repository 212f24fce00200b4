/**
 * `piw-slave --no-network` with the real master: a package whose setup.py tries to connect to a
 * listener of the test's and to the master's slave queue, whenever pip runs it (egg_info for its
 * metadata, then bdist_wheel), reaches neither; it still builds, and so does a plain package.
 */

import { gunzipSync } from "node:zlib";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm, startSlave } from "../farm.ts";

/** A setup.py that reports, for each phase pip runs it in, whether it reached the two ports. */
function probingSetup(ports: Record<string, number>): string {
  return `import socket, sys
from setuptools import setup
phase = " ".join(sys.argv[1:2])
for name, port in ${JSON.stringify(ports)}.items():
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        print("PROBE", phase, name, "reached", flush=True)
    except OSError as e:
        print("PROBE", phase, name, "unreachable", type(e).__name__, flush=True)
setup(name="net-probe", version="1.0", py_modules=[])
`;
}

Deno.test("slave: --no-network runs no package code with network, and builds", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })();
  try {
    const ports = {
      listener: (listener.addr as Deno.NetAddr).port,
      master: Number(new URL(master.slaveQueue.replace("tcp:", "http:")).port),
    };
    await pypi.release("net-probe", "1.0", { setupPy: probingSetup(ports) });
    await pypi.release("net-plain", "1.0");
    await using slave = await startSlave({
      master,
      label: "offline",
      args: ["--sandbox", "bwrap", "--no-network"],
    });
    await master.waitForFile(
      "simple/net-plain/index.html",
      "net_plain-1.0-py3-none-any.whl",
      120_000,
    )
      .catch((e) => {
        throw new Error(`${e.message}\nthe slave:\n${slave.stderr}`);
      });
    const project = await master.waitForFile("project/net-probe/index.html", "built in", 120_000);
    const log = /href="(\/logs\/[^"]+)">built in/.exec(project)![1]!;
    const output = new TextDecoder().decode(
      gunzipSync(await Deno.readFile(`${master.output}${log}`)),
    );
    assertStringIncludes(output, "net-probe-1.0.tar.gz matches the index's SHA-256");
    const probes = output.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("PROBE "));
    assert(probes.some((p) => p.startsWith("PROBE egg_info listener")), output);
    assert(probes.some((p) => p.startsWith("PROBE bdist_wheel master")), output);
    assertEquals(probes.filter((p) => !p.includes(" unreachable ")), [], output);
    assertEquals(connections, 0, "the listener saw nothing");
    await master.waitForFile("simple/net-probe/index.html", "net_probe-1.0-py3-none-any.whl");
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});
