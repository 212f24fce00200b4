import { assert, assertEquals, assertInstanceOf } from "../../tests/assert.ts";
import { Duration } from "../../shared/duration.ts";
import { NO_DATA } from "../../shared/protocols.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { FarmState, type StatusMessage } from "../farm_state.ts";
import type { Image, Rgb } from "./image.ts";
import {
  MainScreen,
  QuitScreen,
  type Screen,
  type SenseContext,
  SlaveScreen,
  StatsScreen,
} from "./screens.ts";

const NOW = Date.parse("2026-01-02T03:04:05Z");

function farm(): FarmState {
  const farm = new FarmState();
  const when = Timestamp.fromEpochSeconds(NOW / 1000 - 60);
  const hello = [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", "pi1"];
  farm.apply({ msg: "SLAVE", data: [1, when, "HELLO", hello] } as StatusMessage, NOW);
  farm.apply({ msg: "SLAVE", data: [1, when, "SLEEP", NO_DATA] } as StatusMessage, NOW);
  farm.apply({
    msg: "STATS",
    data: {
      packages_built: 1,
      builds_count: 1,
      builds_last_hour: 32,
      builds_success: 1,
      builds_time: Duration.of({ hours: 2 }),
      builds_size: 1 << 20,
      builds_pending: 20,
      files_count: 1,
      disk_free: 3,
      disk_size: 4,
      downloads_last_month: 0,
      downloads_all: 0,
    },
  }, NOW);
  return farm;
}

const ctx = (f: FarmState, now = NOW): SenseContext => ({
  farm: f,
  now,
  settings: { alertAfterMs: 30_000, longBuildMs: 900_000 },
});

const at = (image: Image, x: number, y: number): Rgb => image[y * 8 + x]!;

Deno.test("sense screens: the main screen's statistics rows", () => {
  const f = farm();
  const image = new MainScreen().render(ctx(f, NOW + 15_000)); // half the alert time
  assertEquals([0, 1, 2, 3, 4, 5, 6, 7].map((x) => at(image, x, 0)[0] === 255), [
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
  assertEquals(at(image, 5, 1), [255, 255, 255], "disk: 3/4 free is six white pixels");
  assertEquals(at(image, 6, 1), [0, 0, 255]);
  assertEquals(at(image, 1, 2), [255, 255, 255], "queue: 20 builds are two pixels and a half");
  assertEquals(at(image, 2, 2), [128, 128, 255]);
  assertEquals(at(image, 3, 2), [0, 0, 255]);
});

Deno.test("sense screens: up to the statistics, down to quit, Enter on a slave", () => {
  const f = farm();
  const main = new MainScreen();
  let screen: Screen = main.move("up", ctx(f)).screen;
  assertInstanceOf(screen, StatsScreen);
  for (let page = 0; page < 6; page++) {
    const image = screen.render(ctx(f, NOW + 2_000)); // text well into the screen
    const white = image.slice(8, 48).filter((c) => c.join() === "255,255,255").length;
    assert(white > 0, `statistics page ${page} shows text`);
    assertEquals(at(image, page, 7), [255, 255, 255], `page dot ${page}`);
    screen = screen.move("right", ctx(f)).screen;
  }
  assertEquals(screen.move("down", ctx(f)).screen, main);
  screen = main;
  for (let i = 0; i < 4; i++) screen = screen.move("down", ctx(f)).screen;
  assertEquals(screen, main, "the cursor went down to the last row");
  const quit = main.move("down", ctx(f));
  assertInstanceOf(quit.screen, QuitScreen);
  assertEquals(quit.screen.move("enter", ctx(f)).action, { kind: "quit" });
  quit.screen.move("right", ctx(f));
  assertEquals(quit.screen.move("enter", ctx(f)).action, { kind: "terminate" });
  for (let i = 0; i < 4; i++) main.move("up", ctx(f));
  const slave = main.move("enter", ctx(f)).screen;
  assertInstanceOf(slave, SlaveScreen);
  assertEquals(slave.move("enter", ctx(f)), { screen: main }, "Enter on the label: back");
  const again = main.move("enter", ctx(f)).screen;
  for (let i = 0; i < 5; i++) again.move("right", ctx(f)); // stops at the last page
  assertEquals(again.move("enter", ctx(f)), {
    screen: main,
    action: { kind: "kill", slaveId: 1 },
  });
});

Deno.test("sense screens: a paused master turns the ping row's ground amber; silence still alerts", () => {
  const f = farm();
  const says = (paused: boolean, at: number) =>
    f.apply({
      msg: "MASTER",
      data: {
        paused,
        builds_pending_abi: { cp311: 20 },
        stats_every: Duration.of({ seconds: 10 }), // 20 s of silence allowed
        version: "0.2.0",
      },
    }, at);
  const auto = (now: number): SenseContext => ({
    farm: f,
    now,
    settings: { alertAfterMs: null, longBuildMs: 900_000 },
  });
  says(true, NOW);
  const paused = new MainScreen().render(auto(NOW + 5_000)); // a quarter of the 20 s
  assertEquals([0, 1, 2, 3, 4, 5, 6, 7].map((x) => at(paused, x, 0)), [
    [255, 255, 255],
    [255, 255, 255],
    [255, 128, 0],
    [255, 128, 0],
    [255, 128, 0],
    [255, 128, 0],
    [255, 128, 0],
    [255, 128, 0],
  ]);
  const silent = new MainScreen().render(auto(NOW + 20_000));
  assertEquals(at(silent, 7, 0)[1], 0, "silent for the master's limit: red, paused or not");
  assertEquals(at(silent, 7, 0)[2], 0);
  says(false, NOW);
  const resumed = new MainScreen().render(auto(NOW + 5_000));
  assertEquals(at(resumed, 7, 0), [0, 0, 255]);
});
