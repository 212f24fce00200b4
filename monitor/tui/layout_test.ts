import { assert, assertEquals } from "../../tests/assert.ts";
import { Duration } from "../../shared/duration.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { FarmState, type StatusMessage } from "../farm_state.ts";
import { initialUi, layout, type UiState } from "./layout.ts";

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
