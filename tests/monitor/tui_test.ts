/**
 * piw-monitor in a real terminal (tmux) against the real master (PostgreSQL, `--dev-mode`) with
 * test slaves: what it shows, its keys and the mouse driving the master, PAUSED while the master
 * says so, a gone slave greyed then dropped, a master that stops answering (SIGSTOP) or dies and
 * comes back, and `--once --json` checked against what the master itself reports.
 */

import { Duration } from "../../shared/duration.ts";
import { assert, assertEquals } from "../assert.ts";
import { MasterRun, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { styleAt, Tmux } from "../tmux.ts";
import { GONE_LINGER_MS } from "../../monitor/farm_state.ts";
import { masterReport, monitorArgs, once, onceText } from "./monitors.ts";

/** The line of the screen that mentions `label`. */
function row(screen: string, label: string): string {
  return screen.split("\n").find((line) => line.includes(` ${label} `)) ?? "";
}

/** An SGR mouse click (press and release) on the cell at column x, row y (0-based). */
function click(x: number, y: number): string {
  return `\x1b[<0;${x + 1};${y + 1}M\x1b[<0;${x + 1};${y + 1}m`;
}

/** Where `text` is on the screen: [column, row]. */
function find(screen: string, text: string): [number, number] {
  const lines = screen.split("\n");
  const y = lines.findIndex((line) => line.includes(text));
  assert(y >= 0, `${text} is not on the screen:\n${screen}`);
  return [lines[y]!.indexOf(text), y];
}

Deno.test("piw-monitor: a real terminal, a real master, test slaves", async (t) => {
  await using farm = await startFarm({ abis: ["cp39", "cp311"] });
  const { pypi, db, master } = farm;
  const setup = { pypiXmlrpc: pypi.xmlrpcUrl, pypiSimple: pypi.simpleUrl, dsn: db.userDsn };
  await using alpha = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "alpha");
  await using bravo = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "bravo");
  // cp39 sorts before cp311, and a new release is offered to the lowest ABI first
  await using charlie = new TestSlave(master.slaveQueue, master.fileQueue, "cp39", "charlie");
  for (const slave of [bravo, alpha, charlie]) await slave.hello();
  await pypi.release("tui-one", "1.0");
  assertEquals(await charlie.request("IDLE"), { msg: "BUILD", data: ["tui-one", "1.0"] });

  await t.step("--once --json: the farm as the master reports it", async () => {
    const ids = [alpha.slaveId, bravo.slaveId, charlie.slaveId];
    const { code, doc, stderr } = await once("piw-monitor", master);
    assertEquals(code, 0, stderr);
    const report = await masterReport(master, ids);
    const slaves = doc.slaves as Record<string, unknown>[];
    assertEquals(
      slaves.map((s) => [s.slave_id, s.label, s.abi, s.state, s.package, s.version]),
      [
        [charlie.slaveId, "charlie", "cp39", "building", "tui-one", "1.0"],
        [alpha.slaveId, "alpha", "cp311", "idle", null, null],
        [bravo.slaveId, "bravo", "cp311", "idle", null, null],
      ],
    );
    assertEquals(report.slaves.get(charlie.slaveId), {
      reply: "BUILD",
      data: ["tui-one", "1.0"],
    });
    const stats = doc.stats as Record<string, unknown>;
    for (const [key, value] of Object.entries(report.stats)) {
      if (key === "disk_free") continue; // moves with everything written on this machine
      const expected = typeof value === "object" && value !== null && "totalSeconds" in value
        ? (value as { totalSeconds(): number }).totalSeconds()
        : value;
      assertEquals(stats[key], expected, key);
    }
    const said = doc.master as Record<string, unknown>;
    assertEquals([said.connected, said.paused, said.stats_every], [true, false, 10]);
    assert(typeof said.version === "string" && said.version !== "", String(said.version));
    const pending = Object.values(said.builds_pending_abi as Record<string, unknown>);
    assert(pending.every((n) => Number.isInteger(n)), JSON.stringify(said));
  });

  await t.step("--once: the master's state and its queue per ABI, as text", async () => {
    const { code, stdout, stderr } = await onceText("piw-monitor", master);
    assertEquals(code, 0, stderr);
    const [state, queue] = stdout.split("\n");
    assert(/^master: running \(piw-master \S+\)$/.test(state!), stdout);
    assert(/^queue: cp39 \d+, cp311 \d+$/.test(queue!), stdout); // the slaves' ABIs, in order
  });

  await using tmux = await Tmux.create();
  await tmux.start("mon", [Deno.execPath(), ...monitorArgs("piw-monitor", master)], {
    cols: 100,
    rows: 24,
    env: { HOME: master.dir },
  });

  await t.step("shows every slave, sorted by ABI then label, with what it is doing", async () => {
    const screen = await tmux.waitFor("mon", /charlie/);
    const lines = screen.split("\n");
    const order = ["charlie", "alpha", "bravo"].map((l) => lines.indexOf(row(screen, l)));
    assertEquals([...order].sort((a, b) => a - b), order, screen);
    assert(/charlie +cp39 +building tui-one 1\.0 +\d+s +\d+s +3h00m/.test(row(screen, "charlie")));
    assert(/alpha +cp311 +idle /.test(row(screen, "alpha")), screen);
    assert(/bravo +cp311 +idle /.test(row(screen, "bravo")), screen);
    assert(/connected · last message \d+s ago/.test(lines[0]!), lines[0]);
    await tmux.waitFor("mon", /Queue: .*Built in the last hour: \d+/);
    await tmux.waitFor("mon", /Disk: [\d.]+ \w+ free of [\d.]+ \w+ \(\d+%\) · Downloads: 0/);
  });

  await t.step("p pauses the master: PAUSED leads the title row and the title", async () => {
    const pressed = performance.now();
    await tmux.keys("mon", "p");
    const screen = await tmux.waitFor("mon", (s) => s.startsWith(" PAUSED "), {
      timeoutMs: 60_000,
    });
    const shown = performance.now() - pressed;
    console.log(`p → PAUSED on the screen (through tmux): ${shown.toFixed(0)} ms`);
    assert(/^ Queue: .*\(paused: nothing is handed out\)/m.test(screen), screen);
    const [title] = (await tmux.capture("mon", true)).split("\n");
    const style = styleAt(title!, "PAUSED");
    assertEquals([style?.reverse, style?.bold, style?.fg], [true, true, 3], "reverse yellow");
    assert((await tmux.title("mon")).startsWith("PAUSED · piw-monitor"));
    await master.waitForLog(/slave_driver: paused/);
  });

  await t.step("while paused, a slave asking for work is told SLEEP", async () => {
    await pypi.release("tui-two", "1.0"); // seen only once resumed
    assertEquals(await bravo.request("IDLE"), { msg: "SLEEP" });
    await tmux.waitFor("mon", (s) => / sleeping /.test(row(s, "bravo")));
  });

  await t.step("r resumes it: PAUSED goes; the release is found and handed out", async () => {
    await tmux.keys("mon", "r");
    await tmux.waitFor("mon", (s) => s.startsWith(" piw-monitor · connected"));
    assertEquals(await tmux.title("mon"), `piw-monitor ${master.statusQueue}`);
    await master.waitForLog(/slave_driver: resumed/);
    const failed = [false, Duration.of({ seconds: 5 }), "failed", []];
    assertEquals(await charlie.request("BUILT", failed), { msg: "DONE" });
    await tmux.waitFor("mon", (s) => / cleaning up /.test(row(s, "charlie")));
    assertEquals(await charlie.request("IDLE"), { msg: "BUILD", data: ["tui-two", "1.0"] });
    await tmux.waitFor("mon", (s) => / building tui-two 1\.0 /.test(row(s, "charlie")));
  });

  await t.step("k kills the selected slave: DIE at its next request", async () => {
    await tmux.keys("mon", "Down", "Down"); // charlie → alpha → bravo
    await tmux.waitFor("mon", (s) => row(s, "bravo").startsWith("\x1b[7m"), { escapes: true });
    await tmux.keys("mon", "k");
    await master.waitForLog(new RegExp(`slave ${bravo.slaveId} will be told DIE`));
    await tmux.keys("mon", "Up"); // the selection off bravo, onto alpha
    await tmux.waitFor("mon", (s) => row(s, "alpha").startsWith("\x1b[7m"), { escapes: true });
    const gone = performance.now(); // before the DIE: the monitor learns of it later
    assertEquals(await bravo.request("IDLE"), { msg: "DIE" });
    const screen = await tmux.waitFor("mon", (s) => / gone \(DIE\) /.test(row(s, "bravo")), {
      escapes: true,
    });
    for (const cell of ["bravo", "cp311", "gone (DIE)"]) {
      assertEquals(styleAt(row(screen, "bravo"), cell)?.dim, true, `${cell} is greyed`);
    }
    assertEquals(styleAt(row(screen, "charlie"), "charlie")?.dim, false);
    await tmux.waitFor("mon", (s) => row(s, "bravo") === "", { timeoutMs: 60_000 });
    const dropped = (performance.now() - gone) / 1000;
    console.log(`a gone slave: greyed, then dropped ${dropped.toFixed(1)} s after DIE`);
    assert(dropped >= GONE_LINGER_MS / 1000 - 1, `dropped after ${dropped} s, too soon`);
  });

  await t.step("the mouse: a click selects a row and presses a button", async () => {
    const screen = await tmux.capture("mon");
    const [, alphaRow] = find(screen, " alpha ");
    await tmux.literal("mon", click(10, alphaRow));
    await tmux.waitFor("mon", (s) => row(s, "alpha").startsWith("\x1b[7m"), { escapes: true });
    const [x, y] = find(screen, "Pause (p)");
    const pauses = master.stderr.match(/control: PAUSE/g)!.length;
    await tmux.literal("mon", click(x + 2, y));
    await master.waitForLog(new RegExp(`(control: PAUSE[^]*){${pauses + 1}}`));
    const [rx, ry] = find(screen, "Resume (r)");
    await tmux.literal("mon", click(rx + 2, ry));
    await master.waitForLog(/control: RESUME[^]*control: RESUME/);
  });

  await t.step("Tab and the arrow keys reach the buttons; resizing redraws", async () => {
    await tmux.keys("mon", "Tab", "Right", "Right", "Left", "Left", "Left", "Tab");
    await tmux.resize("mon", 80, 16);
    const screen = await tmux.waitFor("mon", (s) => {
      const lines = s.trimEnd().split("\n");
      return lines.length === 16 && lines[15]!.includes("Pause (p)");
    });
    assert(row(screen, "alpha").length <= 80, screen);
  });

  await t.step(
    "a master that stops answering (SIGSTOP) gets a banner; SIGCONT, it goes",
    async () => {
      const limit = 20; // s: the STATS period of --dev-mode (10 s) and 10 s
      master.process.kill("SIGSTOP");
      const stopped = performance.now();
      try {
        const screen = await tmux.waitFor("mon", /no word from the master for \d+s/, {
          timeoutMs: 120_000,
        });
        const after = (performance.now() - stopped) / 1000;
        console.log(`SIGSTOP → "no word from the master" after ${after.toFixed(1)} s`);
        assert(after >= limit - 10, `the banner came after ${after} s, before the STATS period`);
        assert(screen.startsWith(" no word from the master for "), screen);
        assert(/\(expected every 10s\)/.test(screen), screen);
        assert((await tmux.title("mon")).startsWith("NO WORD · piw-monitor"));
        const [line] = (await tmux.capture("mon", true)).split("\n");
        assertEquals(styleAt(line!, "no word")?.bg, 1, "white on red");
      } finally {
        master.process.kill("SIGCONT");
      }
      await tmux.waitFor("mon", (s) => s.startsWith(" piw-monitor · connected"), {
        timeoutMs: 60_000,
      });
      assertEquals(await tmux.title("mon"), `piw-monitor ${master.statusQueue}`);
    },
  );

  let restarted: MasterRun | undefined;
  try {
    await t.step(
      "a master that dies is shown as gone; back again, the monitor recovers",
      async () => {
        master.process.kill("SIGKILL");
        await master.status();
        await tmux.waitFor("mon", /MASTER GONE for \d+s · waiting for it at ipc:/);
        restarted = new MasterRun(master.dir, setup);
        await restarted.waitForLog(/piw-master: ready/, 120_000);
        await using delta = new TestSlave(
          restarted.slaveQueue,
          restarted.fileQueue,
          "cp311",
          "delta",
        );
        await delta.hello();
        const screen = await tmux.waitFor(
          "mon",
          (s) => row(s, "delta") !== "" && /connected/.test(s),
        );
        assertEquals(row(screen, "alpha"), "", "the dead master's slaves are forgotten");
      },
    );

    await t.step("t asks first; n keeps the master, y terminates it cleanly", async () => {
      await tmux.keys("mon", "t");
      await tmux.waitFor("mon", /Terminate the master\?/);
      await tmux.keys("mon", "n");
      await tmux.waitFor("mon", /the master was not terminated/);
      await tmux.keys("mon", "t");
      await tmux.waitFor("mon", /Terminate the master\?/);
      await tmux.keys("mon", "y");
      const status = await restarted!.status();
      assertEquals(status.code, 0, restarted!.stderr);
      await restarted!.waitForLog(/control: QUIT[^]*piw-master: stopped$/m);
      assertEquals(restarted!.stderr.match(/control: QUIT/g)?.length, 1);
    });
  } finally {
    await restarted?.stop();
  }

  await t.step("q quits the monitor", async () => {
    await tmux.keys("mon", "q");
    assertEquals(await tmux.exitCode("mon"), 0, await tmux.stderr("mon"));
  });
});
