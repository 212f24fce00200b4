/**
 * piw-sense (manual chapter 5): watches and controls piw-master on a Raspberry Pi Sense HAT's
 * LED matrix and joystick, or on a virtual HAT in the terminal (`--virtual`), or on any
 * framebuffer file and input-event FIFO (`--framebuffer`, `--joystick`). `--once` prints the
 * farm's status and exits instead.
 *
 * Run with the flags `TOOLS["piw-sense"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { InvalidArgumentError } from "commander";
import { configureLogging, currentLogSettings, errorMessage, Logger } from "../../shared/log.ts";
import { MasterLink } from "../master_link.ts";
import { Duration } from "../../shared/duration.ts";
import { monitorCommand, type MonitorOptions, positiveDuration, runMonitor } from "../options.ts";
import { NoTerminalError } from "../tui/terminal.ts";
import { SenseApp } from "./app.ts";
import { findFramebuffer } from "./framebuffer.ts";
import { DeviceHat, type Hat } from "./hat.ts";
import type { Rotation } from "./image.ts";
import { findJoystick } from "./joystick.ts";
import { VirtualHat } from "./virtual.ts";

const log = new Logger("piw-sense");

/** piw-sense's options. */
interface SenseOptions extends MonitorOptions {
  rotate: Rotation;
  virtual?: boolean;
  framebuffer?: string;
  joystick?: string;
  joystickRecord: 16 | 24;
  alertAfter?: Duration;
  longBuild: Duration;
}

function rotation(value: string): Rotation {
  const n = Number(value);
  if (n !== 0 && n !== 90 && n !== 180 && n !== 270) {
    throw new InvalidArgumentError("must be 0, 90, 180 or 270");
  }
  return n;
}

function recordSize(value: string): 16 | 24 {
  if (value !== "16" && value !== "24") throw new InvalidArgumentError("must be 16 or 24");
  return Number(value) as 16 | 24;
}

async function openHat(opts: SenseOptions): Promise<Hat> {
  if (opts.virtual) return new VirtualHat(opts.rotate);
  const framebuffer = opts.framebuffer ?? await findFramebuffer();
  const joystick = opts.joystick ?? await findJoystick();
  if (!framebuffer || !joystick) {
    throw new Error(
      `no Sense HAT found (no ${framebuffer ? "joystick" : "framebuffer"} device with its name ` +
        "under /sys); use --virtual to draw it in the terminal",
    );
  }
  return await DeviceHat.open(framebuffer, joystick, opts.rotate, opts.joystickRecord);
}

async function main(): Promise<number> {
  const cmd = monitorCommand(
    "piw-sense",
    "The piw-sense application is an alternative monitor for the piw-master script that uses " +
      "the Raspberry Pi Sense HAT (or a virtual one in the terminal) as its user interface.",
  )
    .option(
      "-r, --rotate <DEGREES>",
      "the rotation of the HAT in degrees; must be 0 (the default), 90, 180, or 270",
      rotation,
      0,
    )
    .option("--virtual", "draw a virtual HAT in this terminal (arrow keys and Enter: joystick)")
    .option(
      "--framebuffer <PATH>",
      "the LED matrix's framebuffer (default: the one named RPi-Sense FB)",
    )
    .option(
      "--joystick <PATH>",
      "the joystick's input events (default: the device named Raspberry Pi Sense HAT Joystick)",
    )
    .option(
      "--joystick-record <BYTES>",
      "the size of one input event record: 24 on 64-bit systems, 16 on 32-bit",
      recordSize,
      24,
    )
    .option(
      "--alert-after <DURATION>",
      "how long the master may be silent before the ping row pulses red (default: its STATS " +
        "period and a quarter, at least 10 s more: 75s, or 20s for a master in --dev-mode)",
      positiveDuration,
    )
    .option(
      "--long-build <DURATION>",
      "how long a build may run before its slave shows yellow",
      positiveDuration,
      Duration.of({ minutes: 15 }),
    );
  return await runMonitor(cmd, interactive);
}

async function interactive(opts: SenseOptions): Promise<number> {
  let hat: Hat;
  try {
    hat = await openHat(opts);
  } catch (e) {
    const why = e instanceof NoTerminalError
      ? `${e.message} (for --virtual)`
      : e instanceof Deno.errors.NotCapable
      ? `${e.message} (Deno opens /dev and /sys only with --allow-all, as shared/flags.ts has it)`
      : errorMessage(e);
    console.error(`piw-sense: error: ${why}`);
    return 1;
  }
  if (opts.virtual) configureLogging({ ...currentLogSettings(), consoleLevel: "silent" });
  const app = new SenseApp(
    hat,
    {
      alertAfterMs: opts.alertAfter?.totalMillis() ?? null,
      longBuildMs: opts.longBuild.totalMillis(),
    },
    (text) => log.warning(text),
  );
  const link = new MasterLink(opts.statusQueue, opts.controlQueue, app.events);
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const quit = Promise.withResolvers<void>();
  const onSignal = () => quit.resolve();
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    await Promise.race([app.run(link), quit.promise]);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    app.stop();
    await link.close();
    await hat.close();
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
