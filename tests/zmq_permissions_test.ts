/**
 * The Deno permissions each transport needs, checked by running one message over it in a
 * subprocess with exactly those flags (it works) and with each one left out (it is refused):
 * tcp needs `--allow-net=<host>`; ipc needs `--allow-read`, `--allow-write` and
 * `--allow-net=unix:` on the socket path; inproc needs nothing, not even in the Worker.
 */

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { type Finished, ROOT, run } from "./process.ts";
import { endpoint } from "./zmq_support.ts";

const FIXTURE = `${ROOT}/tests/fixtures/zmq_permissions.ts`;

function withFlags(flags: string[], transport: string, address: string): Promise<Finished> {
  return run(Deno.execPath(), ["run", "--no-prompt", ...flags, FIXTURE, transport, address], {
    env: { NO_COLOR: "1" },
  });
}

async function works(flags: string[], transport: string, address: string): Promise<void> {
  const out = await withFlags(flags, transport, address);
  assertEquals([out.code, out.stdout], [0, "ok\n"], out.stderr);
}

async function refused(flags: string[], transport: string, address: string, needs: string) {
  const out = await withFlags(flags, transport, address);
  assertEquals(out.code, 1, out.stdout);
  assertStringIncludes(out.stderr, `NotCapable: Requires ${needs}`);
}

Deno.test("permissions: tcp needs --allow-net for the host, nothing else", async () => {
  await works(["--allow-net=127.0.0.1"], "tcp", "tcp://127.0.0.1:0");
  await refused([], "tcp", "tcp://127.0.0.1:0", 'net access to "127.0.0.1:0"');
});

Deno.test("permissions: ipc needs read, write and net=unix: on the socket path", async () => {
  const address = endpoint("ipc");
  const path = address.slice("ipc://".length);
  const read = `--allow-read=${path}`;
  const write = `--allow-write=${path}`;
  const net = `--allow-net=unix:${path}`;
  await works([read, write, net], "ipc", address);
  await refused([write, net], "ipc", address, `read access to "${path}"`);
  await refused([read, net], "ipc", address, `write access to "${path}"`);
  await refused([read, write], "ipc", address, `net access to "unix:${path}"`);
});

Deno.test("permissions: inproc needs none, even across a Worker that has none", async () => {
  // Reading the Worker's modules is what loading a Worker needs; inproc itself needs nothing.
  const modules = `--allow-read=${ROOT}/tests/fixtures/zmq_worker.ts,${ROOT}/shared`;
  await works(["--unstable-worker-options", modules], "inproc", endpoint("inproc"));
});
