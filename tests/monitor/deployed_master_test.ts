/**
 * Our monitors against a master that never sends MASTER, as piwheels 0.16 does not: its status
 * queue a libzmq PUB (Debian's python3-zmq, which knows nothing of `X-Piwheels-Status`)
 * publishing STATS and a slave's SLAVE HELLO, its control queue a libzmq PULL. What only MASTER
 * says is left unknown, never guessed: `--once --json` has it null, piw-monitor shows the queue
 * as the STATS total and no PAUSED, and says so when `p` is pressed.
 */

import { encode } from "../../shared/cbor.ts";
import { Duration } from "../../shared/duration.ts";
import {
  decodeMessage,
  encodeMessage,
  masterControl,
  monitorStats,
  type StatsMessage,
} from "../../shared/protocols.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { assert, assertEquals } from "../assert.ts";
import { Tmux } from "../tmux.ts";
import { LibzmqPeer } from "../zmq_support.ts";
import { monitorArgs, once, onceText } from "./monitors.ts";

const STATS: StatsMessage = {
  packages_built: 10,
  builds_count: 20,
  builds_last_hour: 3,
  builds_success: 18,
  builds_time: Duration.of({ hours: 2 }),
  builds_size: 1 << 20,
  builds_pending: 1234,
  files_count: 18,
  disk_free: 1 << 30,
  disk_size: 4 << 30,
  downloads_last_month: 5,
  downloads_all: 50,
};

/** A slave's HELLO data, as a 0.16 master replays it. */
const HELLO = [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", "old-pi"];

/** A stand-in master of libzmq peers, publishing `frames` every second, until `fn` is done. */
async function deployedMaster(
  frames: Uint8Array[],
  fn: (
    master: { statusQueue: string; controlQueue: string; dir: string },
    control: LibzmqPeer,
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "piw-deployed-master-" });
  const statusQueue = `ipc://${dir}/status`;
  const controlQueue = `ipc://${dir}/control`;
  const status = await LibzmqPeer.start("PUB", "bind", statusQueue);
  const control = await LibzmqPeer.start("PULL", "bind", controlQueue);
  try {
    await status.repeat(frames.map((f) => [f]), 1000);
    await fn({ statusQueue, controlQueue, dir }, control);
  } finally {
    await status.close();
    await control.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("monitors: a master that never sends MASTER (libzmq, as piwheels 0.16)", async (t) => {
  // every second: --once takes the answer as whole after half a second of quiet
  await deployedMaster([
    encodeMessage(monitorStats, "SLAVE", [7, Timestamp.now(), "HELLO", HELLO]),
    encodeMessage(monitorStats, "STATS", STATS),
  ], async (master, control) => {
    for (const tool of ["piw-monitor", "piw-sense"] as const) {
      await t.step(`${tool} --once --json: what MASTER would say is null`, async () => {
        const { code, doc, stderr } = await once(tool, master);
        assertEquals(code, 0, stderr);
        const said = doc.master as Record<string, unknown>;
        assertEquals({ ...said, last_message_age: null }, {
          connected: true,
          last_message_age: null,
          paused: null,
          builds_pending_abi: null,
          stats_every: null,
          version: null,
        });
        assertEquals((doc.stats as Record<string, unknown>).builds_pending, 1234);
        assertEquals((doc.slaves as { label: string }[]).map((s) => s.label), ["old-pi"]);
      });
    }

    await t.step("piw-monitor --once: says what it does not know", async () => {
      const { code, stdout, stderr } = await onceText("piw-monitor", master);
      assertEquals(code, 0, stderr);
      const lines = stdout.split("\n");
      assertEquals(lines.slice(0, 2), [
        "master: does not say whether it is paused",
        "queue: 1,234 (all ABIs)",
      ]);
    });

    await using tmux = await Tmux.create();
    await t.step("piw-monitor: the total queue as such, no PAUSED, even after p", async () => {
      await tmux.start("mon", [Deno.execPath(), ...monitorArgs("piw-monitor", master)], {
        cols: 120,
        rows: 12,
        env: { HOME: master.dir },
      });
      const screen = await tmux.waitFor("mon", /Queue: 1,234 \(all ABIs\)[^]* old-pi /);
      assert(screen.startsWith(" piw-monitor · connected"), screen);
      await tmux.keys("mon", "p");
      for (;;) { // HELLO (once or more), then the PAUSE
        const [frame] = await control.receive();
        if (decodeMessage(masterControl, frame!).msg === "PAUSE") break;
      }
      const told = await tmux.waitFor("mon", /this master does not say whether it is paused/);
      assert(told.startsWith(" piw-monitor · connected"), told);
      assert(!/PAUSED|paused: nothing/.test(told), told);
      await tmux.keys("mon", "q");
      assertEquals(await tmux.exitCode("mon"), 0, await tmux.stderr("mon"));
    });
  });
});

Deno.test("monitors: a status message over the limit is skipped, the connection kept", async () => {
  // a 0.16 master relays a slave's label of any length: our monitors dropped the connection for
  // it, connected again, were sent it again, and showed the master gone half the time
  const huge = [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", "x".repeat(70_000)];
  await deployedMaster([
    encodeMessage(monitorStats, "SLAVE", [8, Timestamp.now(), "HELLO", huge]),
    encodeMessage(monitorStats, "SLAVE", [7, Timestamp.now(), "HELLO", HELLO]),
    encodeMessage(monitorStats, "STATS", STATS),
  ], async (master) => {
    const { code, doc, stderr } = await once("piw-monitor", master);
    assertEquals(code, 0, stderr);
    assertEquals((doc.slaves as { label: string }[]).map((s) => s.label), ["old-pi"]);
    assert(stderr.includes("skipped a message larger than maxMessageSize"), stderr);
    assert(!stderr.includes("closing the connection"), stderr);
  });
});

Deno.test("piw-monitor: slaves' labels of wide, combining and zero-width characters keep to their column", async () => {
  // one code point a cell: a label of 12 CJK characters made its row 12 columns too wide, and
  // each redraw of it spilled its end onto the start of the next slave's row
  const hello = (
    label: string,
  ) => [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", label];
  await deployedMaster([
    encodeMessage(monitorStats, "SLAVE", [
      8,
      Timestamp.now(),
      "HELLO",
      hello(`aaa-${"漢".repeat(12)}`),
    ]),
    encodeMessage(monitorStats, "SLAVE", [
      9,
      Timestamp.now(),
      "HELLO",
      hello(`ab${"\u0301".repeat(11)}`),
    ]),
    encodeMessage(monitorStats, "SLAVE", [
      10,
      Timestamp.now(),
      "HELLO",
      hello(`ac${"\u200b".repeat(12)}`),
    ]),
    encodeMessage(monitorStats, "SLAVE", [7, Timestamp.now(), "HELLO", HELLO]),
    encodeMessage(monitorStats, "STATS", STATS),
  ], async (master) => {
    await using tmux = await Tmux.create();
    await tmux.start("mon", [Deno.execPath(), ...monitorArgs("piw-monitor", master)], {
      cols: 80,
      rows: 14,
      env: { HOME: master.dir },
    });
    // each row redrawn a few times (its ages count up)
    const screen = await tmux.waitFor("mon", (s) => / old-pi /.test(s) && /\b[4-9]s\b/.test(s));
    const rows = screen.split("\n").filter((line) => line.includes("cp311"));
    assertEquals(rows.length, 4, screen);
    for (const line of rows) {
      assert(/^ a|^ old-pi /.test(line), `a row starts ${JSON.stringify(line)}`);
    }
    // the ABI column where the honest row has it, in every row
    const abiAt = (line: string) => {
      const before = line.slice(0, line.indexOf("cp311"));
      return [...before].reduce((n, c) => n + (/\p{Mn}/u.test(c) ? 0 : /[漢]/.test(c) ? 2 : 1), 0);
    };
    const honest = abiAt(rows.find((line) => line.includes("old-pi"))!);
    for (const line of rows) assertEquals(abiAt(line), honest, line);
    await tmux.keys("mon", "q");
    assertEquals(await tmux.exitCode("mon"), 0, await tmux.stderr("mon"));
  });
});

Deno.test("monitors: --once quotes what a status queue said with its escapes made visible", async () => {
  // a frame whose message name is a terminal escape: --once printed the warning as it was,
  // retitling and clearing the operator's terminal
  await deployedMaster([
    encode(["\x1b]2;OWNED\x07\x1b[2J", 1, 2]),
    encodeMessage(monitorStats, "STATS", STATS),
  ], async (master) => {
    const { code, stderr } = await onceText("piw-monitor", master);
    assertEquals(code, 0, stderr);
    assert(stderr.includes("OWNED"), stderr);
    assert(!stderr.includes("\x1b"), "an ESC reached the terminal");
  });
});

Deno.test("monitors: --once answers from a replay alone, as piwheels 0.16 sends STATS every 30 s", async () => {
  // it used to wait for a STATS, and so failed its 10 s wait against most 0.16 masters
  await deployedMaster([
    encodeMessage(monitorStats, "SLAVE", [7, Timestamp.now(), "HELLO", HELLO]),
  ], async (master) => {
    const { code, stdout, stderr } = await onceText("piw-monitor", master);
    assertEquals(code, 0, stderr);
    assert(stdout.includes("statistics: not sent yet"), stdout);
    assert(/^ {2}7\told-pi\tcp311\t/m.test(stdout), stdout);
    const json = await once("piw-sense", master);
    assertEquals(json.code, 0, json.stderr);
    assertEquals(json.doc.stats, null);
  });
});
