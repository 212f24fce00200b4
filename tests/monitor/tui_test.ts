/**
 * piw-monitor in a real terminal (tmux) against the real master (PostgreSQL) with test slaves:
 * what it shows, its keys and the mouse driving the master, a master that dies and comes back,
 * and `--once --json` checked against what the master itself reports.
 */

import { Duration } from "../../shared/duration.ts";
import { assert, assertEquals } from "../assert.ts";
import { MasterRun, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { Tmux } from "../tmux.ts";
import { masterReport, monitorArgs, once } from "./monitors.ts";

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
  await using farm = await startFarm();
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
    assertEquals((doc.master as Record<string, unknown>).connected, true);
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

  await t.step("p pauses the master: a slave asking for work is told SLEEP", async () => {
    await tmux.keys("mon", "p");
    await master.waitForLog(/slave_driver: paused/);
    await pypi.release("tui-two", "1.0"); // seen only once resumed
    assertEquals(await bravo.request("IDLE"), { msg: "SLEEP" });
    await tmux.waitFor("mon", (s) => / sleeping /.test(row(s, "bravo")));
  });

  await t.step("r resumes it: the release is found and handed out", async () => {
    await tmux.keys("mon", "r");
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
    assertEquals(await bravo.request("IDLE"), { msg: "DIE" });
    await tmux.waitFor("mon", (s) => / gone /.test(row(s, "bravo")));
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
