/**
 * piw-sense's screens (manual chapter 5.3) and the joystick's way between them.
 *
 * The main screen: row 0 is the time since the master's last message (white filling a blue
 * row, one pixel per eighth of the alert time; amber instead of blue while the master says it
 * is paused; pulsing red once the alert time has passed), row 1 the output's free disk space
 * (white = free), row 2 the build queue (one white pixel per 8 builds, a partial shade for the
 * rest); below, one pixel per slave, sorted by ABI then label, filling columns of five from
 * the top left. A pulsing white pixel is the cursor: Enter on a slave opens its screens (label,
 * ABI, task, kill); off the top are the statistics (ping, disk, queue, build rate, build time,
 * build size: scrolling text over a background fill); off the bottom, quit and terminate. Left
 * and right page through each; a row of dots at the bottom says which page is shown.
 *
 * @module
 */

import type { FarmState, SlaveRecord } from "../farm_state.ts";
import { age } from "../farm_state.ts";
import { describeActivity, describeQueue, formatAge, formatCount } from "../format.ts";
import { formatSize } from "../../shared/size.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { FONT_HEIGHT, textColumns } from "./font.ts";
import { blend, dim, type Direction, type Image, type Rgb, SIZE, solid } from "./image.ts";
import {
  AMBER,
  BLACK,
  BLUE,
  GRAY,
  GREEN,
  PURPLE,
  RED,
  slaveColour,
  TRANSFER_BLUE,
  WHITE,
  YELLOW,
} from "./palette.ts";

/** The first row of slaves, and how many rows of them there are. */
export const SLAVE_TOP = 3;
const SLAVE_ROWS = SIZE - SLAVE_TOP;
/** How long one column of scrolling text stays. */
export const SCROLL_MS = 80;
/** The cursor's pulse, and the ping row's. */
export const PULSE_MS = 1_200;

/** The thresholds piw-sense shows against. */
export interface SenseSettings {
  /**
   * Silence from the master after which the ping row pulses red; null: the master's own
   * limit ({@linkcode FarmState.silenceLimitMs}, from its STATS period).
   */
  readonly alertAfterMs: number | null;
  /** Building time after which a slave shows yellow (15 minutes). */
  readonly longBuildMs: number;
}

/** What a screen is drawn from. */
export interface SenseContext {
  readonly farm: FarmState;
  /** Now (ms). */
  readonly now: number;
  readonly settings: SenseSettings;
}

/** How long the master may be silent before the ping row alerts (ms). */
function alertAfter(ctx: SenseContext): number {
  return ctx.settings.alertAfterMs ?? ctx.farm.silenceLimitMs();
}

/** What the user asked for. */
export type Action =
  | { kind: "kill"; slaveId: number }
  | { kind: "quit" }
  | { kind: "terminate" };

/** Where a joystick push leads: the screen to show, and anything to do. */
export interface Move {
  readonly screen: Screen;
  readonly action?: Action;
}

/** One screen. */
export interface Screen {
  /** The picture at this moment. */
  render(ctx: SenseContext): Image;
  /** The effect of a joystick push. */
  move(direction: Direction, ctx: SenseContext): Move;
}

/** Where slave number `index` (in sorted order) is shown: columns of five from the top left. */
export function slavePosition(index: number): [number, number] {
  return [Math.floor(index / SLAVE_ROWS), SLAVE_TOP + index % SLAVE_ROWS];
}

/** How far through its pulse (0–1–0) the clock is. */
function pulse(now: number): number {
  return (1 - Math.cos(2 * Math.PI * (now % PULSE_MS) / PULSE_MS)) / 2;
}

/** A row of 8 pixels filled from the left with white over `ground`, `eighths` of the way. */
function bar(image: Image, y: number, eighths: number, ground: Rgb = BLUE): void {
  for (let x = 0; x < SIZE; x++) image[y * SIZE + x] = blend(ground, WHITE, eighths - x);
}

/** Whether a slave has been building for longer than the long-build time. */
function longBuild(slave: SlaveRecord, ctx: SenseContext): boolean {
  return slave.activity === "building" &&
    age(slave.since, Timestamp.fromEpochSeconds(ctx.now / 1000)) * 1000 >=
      ctx.settings.longBuildMs;
}

/** The main screen, with the cursor. */
export class MainScreen implements Screen {
  /** The cursor, within the slaves' rows. */
  x = 0;
  y = SLAVE_TOP;

  render(ctx: SenseContext): Image {
    const image = solid(BLACK);
    const silence = ctx.farm.silenceMs(ctx.now);
    const limit = alertAfter(ctx);
    if (silence >= limit) {
      const red = dim(RED, 0.25 + 0.75 * pulse(ctx.now));
      for (let x = 0; x < SIZE; x++) image[x] = red;
    } else {
      bar(image, 0, SIZE * silence / limit, ctx.farm.paused ? AMBER : BLUE);
    }
    const stats = ctx.farm.stats;
    bar(image, 1, stats && stats.disk_size > 0 ? SIZE * stats.disk_free / stats.disk_size : 0);
    bar(image, 2, stats ? stats.builds_pending / 8 : 0);
    ctx.farm.sorted().slice(0, SIZE * SLAVE_ROWS).forEach((slave, i) => {
      const [x, y] = slavePosition(i);
      image[y * SIZE + x] = slaveColour(slave.activity, longBuild(slave, ctx));
    });
    const at = this.y * SIZE + this.x;
    image[at] = blend(image[at]!, WHITE, pulse(ctx.now));
    return image;
  }

  /** The slave under the cursor, if any. */
  selected(farm: FarmState): SlaveRecord | undefined {
    return farm.sorted()[this.x * SLAVE_ROWS + this.y - SLAVE_TOP];
  }

  move(direction: Direction, ctx: SenseContext): Move {
    switch (direction) {
      case "up":
        if (this.y === SLAVE_TOP) return { screen: new StatsScreen(this, ctx.now) };
        this.y--;
        break;
      case "down":
        if (this.y === SIZE - 1) return { screen: new QuitScreen(this, ctx.now) };
        this.y++;
        break;
      case "left":
        this.x = Math.max(0, this.x - 1);
        break;
      case "right":
        this.x = Math.min(SIZE - 1, this.x + 1);
        break;
      case "enter": {
        const slave = this.selected(ctx.farm);
        if (slave) return { screen: new SlaveScreen(this, slave.slaveId, ctx.now) };
      }
    }
    return { screen: this };
  }
}

/** A page of a paged screen: its text, text colour, and background. */
interface Page {
  text: string;
  colour: Rgb;
  background: (image: Image) => void;
}

/** A screen of pages, left and right, with scrolling text and page dots. */
abstract class PagedScreen implements Screen {
  page = 0;
  #shown: number;

  constructor(readonly main: MainScreen, now: number, readonly pages: number) {
    this.#shown = now;
  }

  /** The page shown. */
  abstract content(ctx: SenseContext): Page;

  render(ctx: SenseContext): Image {
    const image = solid(BLACK);
    const page = this.content(ctx);
    page.background(image);
    scrollText(image, page.text, page.colour, ctx.now - this.#shown);
    for (let i = 0; i < this.pages; i++) {
      image[(SIZE - 1) * SIZE + i] = i === this.page ? WHITE : dim(GRAY, 0.5);
    }
    return image;
  }

  /** Left and right turn the page (the text starts again). */
  turn(direction: Direction, now: number): void {
    const next = direction === "left" ? this.page - 1 : direction === "right" ? this.page + 1 : -1;
    if (next >= 0 && next < this.pages) {
      this.page = next;
      this.#shown = now;
    }
  }

  abstract move(direction: Direction, ctx: SenseContext): Move;
}

/** Draws text scrolling right to left through rows 1–5, `elapsed` ms after it appeared. */
function scrollText(image: Image, text: string, colour: Rgb, elapsed: number): void {
  const columns = textColumns(text);
  const offset = Math.floor(elapsed / SCROLL_MS) % (columns.length + SIZE);
  for (let x = 0; x < SIZE; x++) {
    const column = columns[offset + x - SIZE];
    for (let row = 0; row < FONT_HEIGHT; row++) {
      if (column?.[row]) image[(1 + row) * SIZE + x] = colour;
    }
  }
}

/** Fills the picture from the bottom left, row by row upwards, `fraction` of the way. */
function fill(colour: Rgb, fraction: number): (image: Image) => void {
  return (image) => {
    const lit = Math.max(0, Math.min(1, fraction)) * SIZE * SIZE;
    for (let k = 0; k < SIZE * SIZE; k++) {
      const y = SIZE - 1 - Math.floor(k / SIZE);
      image[y * SIZE + (k % SIZE)] = dim(colour, 0.35 * Math.max(0, Math.min(1, lit - k)));
    }
  };
}

/** A slave's screens: label, ABI, current task, kill. */
export class SlaveScreen extends PagedScreen {
  constructor(main: MainScreen, readonly slaveId: number, now: number) {
    super(main, now, 4);
  }

  content(ctx: SenseContext): Page {
    const slave = ctx.farm.slaves.get(this.slaveId);
    if (!slave) return { text: "GONE", colour: RED, background: fill(RED, 1) };
    const colour = slaveColour(slave.activity, longBuild(slave, ctx));
    const background = fill(colour, 1);
    const since = age(slave.since, Timestamp.fromEpochSeconds(ctx.now / 1000));
    switch (this.page) {
      case 0:
        return { text: slave.label, colour: WHITE, background };
      case 1:
        return { text: `ABI ${slave.abi}`, colour: WHITE, background };
      case 2:
        return {
          text: `${describeActivity(slave)} ${formatAge(since)}`,
          colour: WHITE,
          background,
        };
      default:
        return { text: "KILL?", colour: RED, background: fill(RED, 0.25) };
    }
  }

  move(direction: Direction, ctx: SenseContext): Move {
    if (direction !== "enter") {
      this.turn(direction, ctx.now);
      return { screen: this };
    }
    if (this.page === 3 && ctx.farm.slaves.has(this.slaveId)) {
      return { screen: this.main, action: { kind: "kill", slaveId: this.slaveId } };
    }
    return { screen: this.main };
  }
}

/** The statistics: ping, disk, queue, build rate, build time, build size. */
export class StatsScreen extends PagedScreen {
  constructor(main: MainScreen, now: number) {
    super(main, now, 6);
  }

  content(ctx: SenseContext): Page {
    const s = ctx.farm.stats;
    if (this.page === 0) {
      const silence = ctx.farm.silenceMs(ctx.now);
      const f = silence / alertAfter(ctx);
      return {
        text: `${ctx.farm.paused ? "PAUSED " : ""}PING ${formatAge(silence / 1000)}`,
        colour: WHITE,
        background: fill(blend(GREEN, RED, f), f),
      };
    }
    if (!s) return { text: "NO STATISTICS YET", colour: WHITE, background: fill(GRAY, 0) };
    switch (this.page) {
      case 1: {
        const f = s.disk_size > 0 ? s.disk_free / s.disk_size : 0;
        return {
          text: `DISK ${Math.round(100 * f)}% FREE ${formatSize(s.disk_free)}`,
          colour: WHITE,
          background: fill(blend(RED, GREEN, f), f),
        };
      }
      case 2:
        return {
          text: `QUEUE ${describeQueue(ctx.farm)}${ctx.farm.paused ? " PAUSED" : ""}`,
          colour: WHITE,
          background: fill(BLUE, s.builds_pending / (SIZE * SIZE * 8)),
        };
      case 3:
        return {
          text: `BUILT ${formatCount(s.builds_last_hour)} IN THE LAST HOUR`,
          colour: WHITE,
          background: fill(GREEN, s.builds_last_hour / (SIZE * SIZE)),
        };
      case 4: {
        const hours = s.builds_time.totalSeconds() / 3600;
        return {
          text: `BUILD TIME ${formatAge(s.builds_time.totalSeconds())}`,
          colour: WHITE,
          // one decade of hours per quarter: 10,000 hours fill the screen
          background: fill(PURPLE, Math.log10(1 + hours) / 4),
        };
      }
      default:
        return {
          text: `BUILD SIZE ${formatSize(s.builds_size)}`,
          colour: WHITE,
          background: fill(TRANSFER_BLUE, s.disk_size > 0 ? s.builds_size / s.disk_size : 0),
        };
    }
  }

  move(direction: Direction, ctx: SenseContext): Move {
    if (direction === "down" || direction === "enter") return { screen: this.main };
    this.turn(direction, ctx.now);
    return { screen: this };
  }
}

/** Quit piw-sense, or terminate the master. */
export class QuitScreen extends PagedScreen {
  constructor(main: MainScreen, now: number) {
    super(main, now, 2);
  }

  content(): Page {
    return this.page === 0
      ? { text: "QUIT", colour: WHITE, background: fill(YELLOW, 0.25) }
      : { text: "TERMINATE MASTER", colour: RED, background: fill(RED, 0.25) };
  }

  move(direction: Direction, ctx: SenseContext): Move {
    if (direction === "up") return { screen: this.main };
    if (direction === "enter") {
      return { screen: this.main, action: { kind: this.page === 0 ? "quit" : "terminate" } };
    }
    this.turn(direction, ctx.now);
    return { screen: this };
  }
}
