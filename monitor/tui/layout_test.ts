import { assert, assertEquals } from "../../tests/assert.ts";
import { Duration } from "../../shared/duration.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { FarmState, type StatusMessage } from "../farm_state.ts";
import { initialUi, layout, type UiState, windowTitle } from "./layout.ts";

const NOW = Date.parse("2026-01-02T03:04:05Z");

function ui(overrides: Partial<UiState> = {}): UiState {
  return { ...initialUi("ipc:///tmp/piw-status"), ...overrides };
}

function farmOf(count: number): FarmState {
  const farm = new FarmState();
  farm.setConnected(true);
  const when = Timestamp.fromEpochSeconds(NOW / 1000 - 75);
  for (let id = 1; id <= count; id++) {
    const hello = [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", `pi${id}`];
    farm.apply({ msg: "SLAVE", data: [id, when, "HELLO", hello] } as StatusMessage, NOW);
  }
  return farm;
}

Deno.test("layout: every button and row can be hit where it is drawn", () => {
  const { canvas, hits } = layout(farmOf(3), ui({ selected: 2 }), 100, 20, NOW);
  for (const hit of hits) {
    const text = canvas.plainRow(hit.y).slice(hit.x0, hit.x1);
    if (hit.target.kind === "button") assert(/ \w[\w ]+ \(\w\) /.test(text), text);
    if (hit.target.kind === "slave") assert(text.includes(`pi${hit.target.slaveId} `), text);
  }
  assertEquals(hits.filter((h) => h.target.kind === "button").length, 5);
  assert(/pi2 +cp311 +idle +1m15s +1m15s +3h00m/.test(canvas.plainRow(5)), canvas.plainRow(5));
});

Deno.test("layout: the list scrolls to the selection; the dialog's buttons are on top", () => {
  const state = ui({ selected: 40, dialog: { yes: false } });
  const { canvas, hits } = layout(farmOf(40), state, 60, 12, NOW); // 6 rows of slaves
  assertEquals(state.scroll, 34);
  assert(canvas.plainRow(9).includes("pi40 "), canvas.plainRow(9));
  const dialog = hits.filter((h) => h.target.kind === "dialog");
  assertEquals(dialog.map((h) => h.target), [
    { kind: "dialog", yes: true },
    { kind: "dialog", yes: false },
  ]);
  assertEquals(hits.at(-1), dialog[1], "the dialog comes last, so a click finds it first");
  assert(canvas.plainRow(dialog[0]!.y).includes("Yes (y)"));
  assertEquals(canvas.plainRow(0).length, 60, "nothing drawn beyond the width");
});

Deno.test("layout: a master that went away is said plainly", () => {
  const farm = farmOf(1);
  farm.setConnected(false);
  const { canvas } = layout(farm, ui({ goneSince: NOW - 12_000 }), 100, 10, NOW);
  assert(
    /MASTER GONE for 12s · waiting for it at ipc:\/\/\/tmp\/piw-status/.test(canvas.plainRow(0)),
  );
});

function masterSays(farm: FarmState, paused: boolean, at: number): void {
  farm.apply({
    msg: "MASTER",
    data: {
      paused,
      builds_pending_abi: { cp311: 1, cp39: 0 },
      stats_every: Duration.of({ seconds: 60 }),
      version: "0.2.0",
    },
  }, at);
}

Deno.test("layout: a paused master leads the title row in reverse yellow, and the title", () => {
  const farm = farmOf(1);
  masterSays(farm, true, NOW);
  const { canvas } = layout(farm, ui(), 120, 10, NOW);
  assert(canvas.plainRow(0).startsWith(" PAUSED  piw-monitor · connected"), canvas.plainRow(0));
  assert(canvas.renderRow(0).startsWith("\x1b[0;1;7;33m PAUSED \x1b[0;1;7m"));
  assert(
    canvas.plainRow(1).startsWith(" Queue: cp39 0, cp311 1 (paused: nothing is handed out) ·"),
    canvas.plainRow(1),
  );
  assertEquals(windowTitle(farm, ui(), NOW), "PAUSED · piw-monitor ipc:///tmp/piw-status");
  masterSays(farm, false, NOW);
  const resumed = layout(farm, ui(), 120, 10, NOW).canvas;
  assert(resumed.plainRow(0).startsWith(" piw-monitor · connected"), resumed.plainRow(0));
  assert(!resumed.plainRow(1).includes("paused"), resumed.plainRow(1));
  assertEquals(windowTitle(farm, ui(), NOW), "piw-monitor ipc:///tmp/piw-status");
});

Deno.test("layout: silence beyond the STATS period and its margin is a red banner", () => {
  const farm = farmOf(1); // last heard at NOW; no MASTER: 60 s STATS assumed
  const calm = layout(farm, ui(), 140, 10, NOW + 75_000).canvas;
  assert(!calm.plainRow(0).includes("no word"), calm.plainRow(0));
  const later = NOW + 130_000;
  const { canvas } = layout(farm, ui(), 140, 10, later);
  assert(
    canvas.plainRow(0).startsWith(
      " no word from the master for 2m10s (expected every 1m00s)  piw-monitor · connected · " +
        "last message 2m10s ago",
    ),
    canvas.plainRow(0),
  );
  assert(canvas.renderRow(0).startsWith("\x1b[0;1;37;41m no word"), canvas.renderRow(0));
  assertEquals(windowTitle(farm, ui(), later), "NO WORD · piw-monitor ipc:///tmp/piw-status");
  farm.setConnected(false);
  assertEquals(
    windowTitle(farm, ui({ goneSince: later }), later),
    "MASTER GONE · piw-monitor ipc:///tmp/piw-status",
  );
});

Deno.test("layout: a gone slave's row is greyed (dim), selected or not", () => {
  const farm = farmOf(2);
  const when = Timestamp.fromEpochSeconds(NOW / 1000);
  farm.apply({ msg: "SLAVE", data: [1, when, "BYE", null] } as StatusMessage, NOW);
  for (
    const state of [
      ui({ selected: 2 }),
      ui({ selected: 1 }),
      ui({ selected: 1, focus: "controls" }),
    ]
  ) {
    const { canvas } = layout(farm, state, 100, 10, NOW);
    assert(/^ pi1 +cp311 +gone \(BYE\) /.test(canvas.plainRow(4)), canvas.plainRow(4));
    const row = canvas.renderRow(4);
    const styles = row.split("\x1b[").slice(1, -1).map((s) => s.slice(0, s.indexOf("m")));
    assert(
      styles.length > 0 && styles.every((c) => c.split(";").includes("2")),
      JSON.stringify(row),
    );
    assert(!canvas.renderRow(5).includes(";2"), "the live slave is not dim");
  }
});

Deno.test("layout: a master that does not say its queue per ABI shows the total as such", () => {
  const farm = farmOf(1);
  farm.apply({
    msg: "STATS",
    data: {
      packages_built: 1,
      builds_count: 1,
      builds_last_hour: 0,
      builds_success: 1,
      builds_time: Duration.of({ seconds: 1 }),
      builds_size: 1,
      builds_pending: 1234,
      files_count: 1,
      disk_free: 1,
      disk_size: 2,
      downloads_last_month: 0,
      downloads_all: 0,
    },
  }, NOW);
  const { canvas } = layout(farm, ui(), 100, 10, NOW);
  assert(canvas.plainRow(1).startsWith(" Queue: 1,234 (all ABIs) ·"), canvas.plainRow(1));
  assert(canvas.plainRow(0).startsWith(" piw-monitor · connected"), "paused is not guessed");
});
