/**
 * piw-sense through its real Sense HAT driver, on framebuffer files and input-event FIFOs,
 * against the real master (PostgreSQL) with test slaves: the manual's colours at the right
 * pixels for each rotation, the joystick (turned with the HAT) reaching a slave's kill screen
 * and the master killing that slave, the ping row amber while the master is paused and red
 * when the master is silent (with a shortened alert time), terminate and quit, and
 * `--once --json`.
 */

import { Duration } from "../../shared/duration.ts";
import { assert, assertEquals } from "../assert.ts";
import { type MasterRun, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { encodeMessage, reverse, slaveDriver } from "../../shared/protocols.ts";
import { Collected, reap, run } from "../process.ts";
import { masterReport, monitorArgs, once } from "./monitors.ts";

type Rgb = [number, number, number];
type Rotation = 0 | 90 | 180 | 270;
type Push = "up" | "down" | "left" | "right" | "enter";

/** Where the picture's (x, y) is on the device (the Python sense-hat library's rotation). */
const DEVICE: Record<Rotation, (x: number, y: number) => [number, number]> = {
  0: (x, y) => [x, y],
  90: (x, y) => [7 - y, x],
  180: (x, y) => [7 - x, 7 - y],
  270: (x, y) => [y, 7 - x],
};

/** evdev key codes of the joystick. */
const CODES: Record<Push, number> = { up: 103, down: 108, left: 105, right: 106, enter: 28 };
const VECTORS: [Exclude<Push, "enter">, [number, number]][] = [
  ["up", [0, -1]],
  ["down", [0, 1]],
  ["left", [-1, 0]],
  ["right", [1, 0]],
];

/** The manual's colour a pixel shows (by hue, as a person would name it). */
function colourName([r, g, b]: Rgb): string {
  if (r < 40 && g < 40 && b < 40) return "black";
  if (r > 200 && g > 200 && b > 200) return "white";
  if (r > 200 && g > 200 && b < 60) return "yellow";
  if (g > 200 && r < 60 && b < 60) return "green";
  if (r > 150 && b > 150 && g < 60) return "purple";
  if (b > 200 && r < 60 && g < 100) return "blue";
  if (r >= 48 && g < 40 && b < 40) return "red";
  if (Math.abs(r - g) < 16 && Math.abs(g - b) < 16) return "gray";
  return "other";
}

/** A statistics pixel: blue, white, or a shade between. */
function blueToWhite([r, g, b]: Rgb): boolean {
  return b > 200 && Math.abs(r - g) < 16 && r <= b;
}

/** A piw-sense process on a framebuffer file and a joystick FIFO. */
class Sense implements AsyncDisposable {
  readonly framebuffer: string;
  readonly fifo: string;
  process!: Deno.ChildProcess;
  #joystick!: Deno.FsFile;
  #log!: Collected;

  private constructor(readonly dir: string, readonly rotation: Rotation) {
    this.framebuffer = `${dir}/fb`;
    this.fifo = `${dir}/events`;
  }

  static async start(master: MasterRun, rotation: Rotation, extra: string[]): Promise<Sense> {
    const sense = new Sense(await Deno.makeTempDir({ prefix: "piw-sense-test-" }), rotation);
    await Deno.writeFile(sense.framebuffer, new Uint8Array(128));
    assertEquals((await run("mkfifo", [sense.fifo])).code, 0);
    // read-write: opening a FIFO so never waits for the other end
    sense.#joystick = await Deno.open(sense.fifo, { read: true, write: true });
    sense.process = new Deno.Command(Deno.execPath(), {
      args: monitorArgs("piw-sense", master, [
        "--framebuffer",
        sense.framebuffer,
        "--joystick",
        sense.fifo,
        "-r",
        String(rotation),
        ...extra,
      ]),
      env: { NO_COLOR: "1", HOME: sense.dir },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    sense.#log = new Collected(sense.process.stderr, "piw-sense");
    return sense;
  }

  /** What piw-sense has logged so far. */
  get stderr(): string {
    return this.#log.text;
  }

  /** The picture's pixel (x, y) as the framebuffer holds it, in 8-bit channels. */
  async pixels(): Promise<(x: number, y: number) => Rgb> {
    const bytes = await Deno.readFile(this.framebuffer);
    const view = new DataView(bytes.buffer);
    return (x, y) => {
      const [dx, dy] = DEVICE[this.rotation](x, y);
      const v = view.getUint16((dy * 8 + dx) * 2, true);
      return [(v >> 11) << 3, ((v >> 5) & 63) << 2, (v & 31) << 3];
    };
  }

  /** Waits until the picture satisfies `test` (returning why not, or null). */
  async waitFor(
    what: string,
    test: (at: (x: number, y: number) => Rgb) => string | null,
    timeoutMs = 30_000,
  ): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const why = test(await this.pixels());
      if (why === null) return;
      if (Date.now() > until) {
        throw new Error(`rotation ${this.rotation}: never ${what}: ${why}\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Pushes the joystick, each push in the picture's directions (turned for the device). */
  async push(...pushes: Push[]): Promise<void> {
    for (const push of pushes) {
      let device: Push = "enter";
      if (push !== "enter") {
        const [vx, vy] = VECTORS.find(([name]) => name === push)![1];
        const [ax, ay] = DEVICE[this.rotation](3, 3);
        const [bx, by] = DEVICE[this.rotation](3 + vx, 3 + vy);
        device = VECTORS.find(([, [x, y]]) => x === bx - ax && y === by - ay)![0];
      }
      for (const value of [1, 0]) { // press, release
        const record = new Uint8Array(24);
        const view = new DataView(record.buffer);
        view.setUint16(16, 1, true); // EV_KEY
        view.setUint16(18, CODES[device], true);
        view.setInt32(20, value, true);
        await this.#joystick.write(record);
      }
    }
  }

  /** The exit status, once it has ended. */
  async status(): Promise<Deno.CommandStatus> {
    const status = await this.process.status;
    await this.#log.ended;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await reap(this.process, { signal: "SIGTERM" });
    await this.#log.ended;
    this.#joystick.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** The slaves by sorted position: label → the manual's colour. */
const FARM: [string, string][] = [
  ["a-idle", "gray"],
  ["b-build", "green"],
  ["c-send", "blue"],
  ["d-clean", "purple"],
  ["e-long", "yellow"],
  ["f-gone", "red"],
];

/** Where slave number i is: columns of five from (0, 3). */
const position = (i: number): [number, number] => [Math.floor(i / 5), 3 + (i % 5)];

function farmShown(at: (x: number, y: number) => Rgb, cursor: [number, number]): string | null {
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 8; x++) {
      if (!blueToWhite(at(x, y))) return `statistics pixel (${x}, ${y}) is ${at(x, y)}`;
    }
  }
  for (let i = 0; i < 40; i++) {
    const [x, y] = position(i);
    if (x === cursor[0] && y === cursor[1]) continue;
    const want = FARM[i]?.[1] ?? "black";
    const got = colourName(at(x, y));
    if (got !== want) return `pixel (${x}, ${y}) is ${got} (${at(x, y)}), not ${want}`;
  }
  return null;
}

Deno.test("piw-sense: the real HAT driver on files, a real master, test slaves", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  const slaves = new Map<string, TestSlave>();
  for (const [label] of FARM) {
    slaves.set(label, new TestSlave(master.slaveQueue, master.fileQueue, "cp311", label));
  }
  const slave = (label: string) => slaves.get(label)!;
  try {
    for (const s of slaves.values()) await s.hello();
    for (const name of ["sense-1", "sense-2", "sense-3", "sense-4"]) {
      await pypi.release(name, "1.0");
    }
    const built = new Map<string, string>(); // slave → package it was told to build
    const build = async (label: string) => {
      const reply = await slave(label).request("IDLE");
      assertEquals(reply.msg, "BUILD", master.stderr);
      built.set(label, (reply.data as [string, string])[0]);
    };
    await build("e-long");

    // every rotation; long builds after 8 s; a master silent for 2 minutes (never, here)
    await using r0 = await Sense.start(master, 0, ["--long-build", "8s", "--alert-after", "2m"]);
    await using r90 = await Sense.start(master, 90, ["--long-build", "8s", "--alert-after", "2m"]);
    await using r180 = await Sense.start(master, 180, [
      "--long-build",
      "8",
      "--alert-after",
      "120",
    ]);
    await using r270 = await Sense.start(master, 270, [
      "--long-build",
      "8",
      "--alert-after",
      "120",
    ]);
    const all = [r0, r90, r180, r270];

    await t.step("each state in the manual's colour, at its place, for each rotation", async () => {
      for (const sense of all) { // the cursor, from the first slave to the far corner
        await sense.push(...Array(7).fill("right"), ...Array(4).fill("down"));
      }
      for (const sense of all) {
        await sense.waitFor("e-long yellow", (at) => {
          const got = colourName(at(...position(4)));
          return got === "yellow" ? null : `e-long is ${got}`;
        });
      }
      await build("b-build");
      await build("c-send");
      const wheel = makeWheel(built.get("c-send")!, "1.0");
      const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
      const sent = await slave("c-send").request("BUILT", [
        true,
        Duration.of({ seconds: 3 }),
        "",
        files,
      ]);
      assertEquals(sent, { msg: "SEND", data: wheel.filename });
      await build("d-clean");
      const done = await slave("d-clean").deliver([makeWheel(built.get("d-clean")!, "1.0")]);
      assertEquals(done, { msg: "DONE" });
      await slave("f-gone").req.send(encodeMessage(reverse(slaveDriver), "BYE")); // no reply
      for (const sense of all) {
        await sense.waitFor("the farm", (at) => farmShown(at, [7, 7]));
      }
    });

    await t.step("--once --json: the farm as the master reports it", async () => {
      const { code, doc, stderr } = await once("piw-sense", master);
      assertEquals(code, 0, stderr);
      const alive = FARM.slice(0, 5).map(([label]) => slave(label).slaveId);
      const report = await masterReport(master, alive);
      const shown = (doc.slaves as Record<string, unknown>[]).filter((s) => s.state !== "gone");
      assertEquals(
        shown.map((s) => [s.slave_id, s.label, s.state]),
        FARM.slice(0, 5).map(([label], i) => [
          slave(label).slaveId,
          label,
          ["idle", "building", "sending", "cleaning", "building"][i],
        ]),
      );
      assertEquals(
        shown.map((s) => report.slaves.get(s.slave_id as number)?.reply),
        ["HELLO", "BUILD", "SEND", "DONE", "BUILD"],
      );
      assertEquals((doc.stats as Record<string, unknown>).disk_size, report.stats.disk_size);
    });

    await t.step("the joystick (turned with the HAT) kills a slave from its screen", async () => {
      const target = slave("b-build");
      await r90.push(...Array(7).fill("left"), "up", "up", "up"); // the cursor onto b-build
      await r90.push("enter");
      const dots = (page: number) => (at: (x: number, y: number) => Rgb) => {
        const lit = [0, 1, 2, 3].map((x) => colourName(at(x, 7)) === "white");
        return lit.every((on, x) => on === (x === page)) ? null : `page dots ${lit}`;
      };
      await r90.waitFor("the slave's first page", dots(0));
      await r90.push("right", "right", "right");
      await r90.waitFor("the kill page", dots(3));
      await r90.push("enter");
      await master.waitForLog(new RegExp(`slave ${target.slaveId} will be told DIE`));
      const failed = [false, Duration.of({ seconds: 1 }), "", []];
      assertEquals(await target.request("BUILT", failed), { msg: "DONE" });
      assertEquals(await target.request("IDLE"), { msg: "DIE" });
      await r90.waitFor("b-build red", (at) => {
        const got = colourName(at(...position(1)));
        return got === "red" ? null : `b-build is ${got}`;
      });
    });

    await t.step("PAUSE turns the ping row's ground amber on every HAT; RESUME, blue", async () => {
      const ground = (want: "amber" | "blue") => (at: (x: number, y: number) => Rgb) => {
        const [r, g, b] = at(7, 0); // the last pixel of the row fills white last
        const is = r > 200 && g > 96 && g < 160 && b < 60
          ? "amber"
          : blueToWhite([r, g, b])
          ? "blue"
          : `${[r, g, b]}`;
        return is === want ? null : `row 0 ends ${is}`;
      };
      await master.control("PAUSE");
      for (const sense of all) await sense.waitFor("amber", ground("amber"));
      await master.control("RESUME");
      for (const sense of all) await sense.waitFor("blue", ground("blue"));
    });

    await t.step("the ping row pulses red when the master is silent too long", async () => {
      await using ping = await Sense.start(master, 0, ["--alert-after", "2"]);
      const row = (test: (c: Rgb) => boolean) => (at: (x: number, y: number) => Rgb) =>
        [...Array(8).keys()].every((x) => test(at(x, 0))) ? null : `row 0: ${at(0, 0)}`;
      await ping.waitFor("red", row((c) => colourName(c) === "red"));
      await master.control("HELLO"); // the replay and a STATS: the master speaks again
      await ping.waitFor("blue and white again", row(blueToWhite));
      await ping.waitFor("red again", row((c) => colourName(c) === "red"));
    });

    await t.step(
      "quit: the quit screen ends piw-sense; SIGTERM too, blanking the HAT",
      async () => {
        await r0.push("down", "enter"); // off the bottom: quit
        assertEquals((await r0.status()).code, 0, r0.stderr);
        r180.process.kill("SIGTERM");
        assertEquals((await r180.status()).code, 0, r180.stderr);
        assertEquals(await Deno.readFile(r180.framebuffer), new Uint8Array(128));
      },
    );

    await t.step("terminate: the master is told to QUIT and stops cleanly", async () => {
      await r270.push("down", "right", "enter");
      assertEquals((await master.status()).code, 0, master.stderr);
      assert(/control: QUIT/.test(master.stderr));
    });
  } finally {
    for (const s of slaves.values()) await s.close();
  }
});
