/**
 * The real piw-master's control and status queues (ipc:// sockets) are group-writable once bound,
 * as a deployed master makes them (PIWHEELS-0.16.md §2): a monitor run by another user of the
 * master's group (`runuser -u nobody -g <group>`: the tests run as root) connects to both, while
 * a user outside the group cannot. The monitor is `tests/fixtures/python_monitor.py` (Debian's
 * python3-zmq and python3-cbor2), so libzmq does the connecting.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { PYTHON, PythonPeer, run } from "../process.ts";

/** Connects a Unix stream socket to the path given, as a ZeroMQ ipc:// connect does. */
const CONNECT = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])";

/** What the Python monitor answers to `until`. */
interface Seen {
  slave?: [number, string, string, unknown];
  stats?: Record<string, number>;
  error?: string;
}

Deno.test("compat: the control and status sockets are group-writable, and a monitor of the master's group uses them", async () => {
  await using farm = await startFarm();
  const { master } = farm;
  const paths = [master.statusQueue, master.controlQueue].map((q) => q.slice("ipc://".length));
  let gid = -1;
  for (const path of paths) {
    const info = await Deno.stat(path);
    assertEquals(info.isSocket, true, path);
    // srwxrwx: the owner's and the group's read, write and search; others may not write
    assertEquals((info.mode! & 0o770).toString(8), "770", `${path}: ${info.mode!.toString(8)}`);
    assertEquals(info.mode! & 0o002, 0, `${path}: ${info.mode!.toString(8)}`);
    gid = info.gid!;
  }
  const entry = await run("getent", ["group", String(gid)]);
  assertEquals(entry.code, 0, entry.stderr);
  const group = entry.stdout.split(":")[0]!;
  // the directory is open to anyone: the sockets' own modes decide who may connect
  await Deno.chmod(master.dir, 0o755);

  // nobody, outside the master's group: refused by both sockets
  for (const path of paths) {
    const outsider = await run("runuser", ["-u", "nobody", "--", PYTHON, "-c", CONNECT, path]);
    assertEquals(outsider.code, 1, outsider.stderr);
    assertStringIncludes(outsider.stderr, "PermissionError");
  }

  // nobody in the master's group: a monitor that pushes HELLO (control) and hears the replay
  // of a slave and the STATS (status)
  const monitor = new PythonPeer("python_monitor.py", [master.statusQueue, master.controlQueue], {
    user: "nobody",
    group,
  });
  try {
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "grouped");
    assertEquals((await slave.hello()).msg, "ACK");
    const seen = await monitor.call<Seen>({
      op: "until",
      label: "grouped",
      message: "HELLO",
      timeout: 30_000,
    });
    assertEquals(seen.error, undefined);
    assertEquals(seen.slave![0], slave.slaveId);
    assertEquals(typeof seen.stats!.builds_count, "number");
  } finally {
    await monitor.call({ op: "close" }).catch(() => {});
    await monitor.finish();
  }
});
