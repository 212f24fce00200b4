/**
 * The build slave's Worker runs with `slavePermissions` (slave/permissions.ts), what
 * slave/main.ts gives it: the master's two ports, its build directory, the interpreter and the
 * sandbox's tools. Access outside them — another host or port, a file outside the build
 * directory, another program — fails cleanly with NotCapable.
 */

import { assertEquals } from "../assert.ts";
import { slavePermissions } from "../../slave/permissions.ts";

Deno.test("slave: its Worker's permissions admit its job and refuse the rest", async () => {
  const dir = await Deno.makeTempDir();
  const master = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const files = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l: Deno.Listener) => (l.addr as Deno.NetAddr).port;
  const accepting = [master, files, other].map(async (l) => {
    for await (const conn of l) conn.close();
  });
  try {
    await Deno.mkdir(`${dir}/build`);
    await Deno.writeTextFile(`${dir}/build/mine`, "a build's file");
    await Deno.writeTextFile(`${dir}/secret`, "not the slave's");
    const worker = new Worker(new URL("../fixtures/probe_worker.ts", import.meta.url), {
      type: "module",
      deno: {
        permissions: slavePermissions({
          slaveQueue: `tcp://127.0.0.1:${port(master)}`,
          fileQueue: `tcp://127.0.0.1:${port(files)}`,
          python: "/usr/bin/python3",
          buildDir: `${dir}/build`,
          sandbox: "bwrap",
        }),
      },
    });
    const results = new Promise<string[]>((resolve) => (worker.onmessage = (e) => resolve(e.data)));
    worker.postMessage([
      { kind: "connect", hostname: "127.0.0.1", port: port(master) },
      { kind: "connect", hostname: "127.0.0.1", port: port(files) },
      { kind: "read", path: `${dir}/build/mine` },
      { kind: "write", path: `${dir}/build/new` },
      { kind: "run", command: "/usr/bin/python3" },
      { kind: "connect", hostname: "127.0.0.1", port: port(other) },
      { kind: "connect", hostname: "example.org", port: 443 },
      { kind: "read", path: `${dir}/secret` },
      { kind: "write", path: `${dir}/elsewhere` },
      { kind: "read", path: `${Deno.env.get("HOME") ?? "/root"}/.bashrc` },
      { kind: "run", command: "/usr/bin/curl" },
    ]);
    assertEquals(await results, [
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
      "NotCapable",
      "NotCapable",
      "NotCapable",
      "NotCapable",
      "NotCapable",
      "NotCapable",
    ]);
    worker.terminate();
  } finally {
    for (const l of [master, files, other]) l.close();
    await Promise.allSettled(accepting);
    await Deno.remove(dir, { recursive: true });
  }
});
