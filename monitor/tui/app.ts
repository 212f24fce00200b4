/**
 * piw-monitor's behaviour: follows the master through a {@linkcode MasterLink} into a
 * {@linkcode FarmState}, draws it on a {@linkcode View} and acts on keys and the mouse.
 *
 * Hot-keys p, r, k, t, q work anywhere; Tab (or Shift+Tab) moves between the slave list and the
 * buttons; arrow keys, Home/End and Page Up/Down move the selection in the list or between the
 * buttons; Enter or Space presses the focused button; a click selects a row or presses a
 * button, the wheel scrolls. Terminate asks for confirmation first. Frames are drawn at once
 * for input, at most every {@linkcode FRAME_MS} for status messages, and every second for the
 * ages shown (and for the master's silence, and for forgetting gone slaves). The terminal's
 * title follows the title row.
 *
 * @module
 */

import { FarmState } from "../farm_state.ts";
import type { Control, Controller, LinkEvents } from "../master_link.ts";
import {
  BUTTONS,
  type Hit,
  initialUi,
  layout,
  listHeight,
  type Target,
  type UiState,
  windowTitle,
} from "./layout.ts";
import type { TerminalEvent } from "./terminal.ts";
import type { View } from "./view.ts";

/** The shortest time between two frames drawn for status messages. */
export const FRAME_MS = 100;
/** How often the screen is redrawn with nothing new (the ages move on). */
export const TICK_MS = 1_000;

/** The running monitor. */
export class MonitorApp {
  readonly farm: FarmState = new FarmState();
  readonly ui: UiState;
  /** Frames actually written. */
  frames = 0;
  readonly #done = Promise.withResolvers<void>();
  #hits: Hit[] = [];
  #drawn = 0;
  #pending: ReturnType<typeof setTimeout> | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;
  #stop: () => void = () => {};
  #master: Controller | undefined;
  #closed = false;

  /** A monitor drawing on `view`, for the master at `statusQueue`. */
  constructor(readonly view: View, statusQueue: string) {
    this.ui = initialUi(statusQueue);
  }

  /** What the master link reports goes to the monitor. */
  readonly events: LinkEvents = {
    message: (m) => {
      this.farm.apply(m);
      this.#schedule();
    },
    connection: (connected) => {
      if (connected) {
        this.farm.reset();
        this.ui.goneSince = null;
        this.#say("connected to the master; asked it for every slave");
      } else {
        this.ui.goneSince = Date.now();
        this.#say("the master went away; waiting for it to come back", true);
      }
      this.farm.setConnected(connected);
      this.draw();
    },
    warning: (text) => {
      this.#say(text, true);
      this.#schedule();
    },
  };

  /** Runs until Quit; resolves then. */
  run(master: Controller): Promise<void> {
    this.#master = master;
    this.#stop = this.view.listen((event) => this.#handle(event));
    this.#tick = setInterval(() => {
      this.farm.prune();
      this.draw();
    }, TICK_MS);
    this.draw();
    return this.#done.promise;
  }

  /** Draws a frame now. */
  draw(): void {
    if (this.#closed) return;
    clearTimeout(this.#pending);
    this.#pending = undefined;
    const { cols, rows } = this.view.size();
    this.#fixSelection();
    const now = Date.now();
    const screen = layout(this.farm, this.ui, cols, rows, now);
    this.#hits = screen.hits;
    this.#drawn = now;
    this.view.title(windowTitle(this.farm, this.ui, now));
    if (this.view.show(screen.canvas)) this.frames++;
  }

  /** Stops listening and drawing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#pending);
    clearInterval(this.#tick);
    this.#stop();
  }

  #schedule(): void {
    if (this.#pending !== undefined) return;
    const wait = Math.max(0, this.#drawn + FRAME_MS - Date.now());
    this.#pending = setTimeout(() => this.draw(), wait);
  }

  #say(text: string, warning = false): void {
    this.ui.message = { text, warning };
  }

  /** Keeps the selection on a listed slave (the first, when there was none). */
  #fixSelection(): void {
    if (this.ui.selected !== null && this.farm.slaves.has(this.ui.selected)) return;
    this.ui.selected = this.farm.sorted()[0]?.slaveId ?? null;
  }

  #handle(event: TerminalEvent): void {
    if (event.type === "eof") return this.#quit();
    if (event.type === "mouse") this.#mouse(event.button, event.x, event.y, event.press);
    else if (event.type === "key") this.#key(event.key);
    this.draw();
  }

  #key(key: string): void {
    if (key === "ctrl-c") return this.#quit();
    if (this.ui.dialog) {
      if (key === "y") return this.#confirm(true);
      if (key === "n" || key === "escape") return this.#confirm(false);
      if (key === "left" || key === "right" || key === "tab" || key === "backtab") {
        this.ui.dialog.yes = !this.ui.dialog.yes;
      }
      if (key === "enter" || key === " ") this.#confirm(this.ui.dialog.yes);
      return;
    }
    const hot = BUTTONS.findIndex((b) => b.key === key.toLowerCase());
    if (hot >= 0) return this.#press(hot);
    if (key === "tab" || key === "backtab") {
      this.ui.focus = this.ui.focus === "list" ? "controls" : "list";
    } else if (this.ui.focus === "controls") {
      if (key === "left") this.ui.button = Math.max(0, this.ui.button - 1);
      if (key === "right") this.ui.button = Math.min(BUTTONS.length - 1, this.ui.button + 1);
      if (key === "enter" || key === " ") this.#press(this.ui.button);
    } else {
      const page = listHeight(this.view.size().rows);
      const moves: Record<string, number> = {
        up: -1,
        down: 1,
        pageup: -page,
        pagedown: page,
        home: -Infinity,
        end: Infinity,
      };
      if (key in moves) this.#move(moves[key]!);
    }
  }

  #mouse(button: number, x: number, y: number, press: boolean): void {
    if (button === 64 || button === 65) return this.#move(button === 64 ? -1 : 1);
    if (button !== 0 || !press) return;
    const hit = this.#hits.findLast((h) => h.y === y && h.x0 <= x && x < h.x1);
    if (hit) this.#target(hit.target);
  }

  #target(target: Target): void {
    if (this.ui.dialog) {
      if (target.kind === "dialog") this.#confirm(target.yes);
      return;
    }
    if (target.kind === "slave") {
      this.ui.focus = "list";
      this.ui.selected = target.slaveId;
    } else if (target.kind === "button") {
      this.ui.focus = "controls";
      this.ui.button = target.index;
      this.#press(target.index);
    }
  }

  #move(by: number): void {
    const slaves = this.farm.sorted();
    if (slaves.length === 0) return;
    const index = slaves.findIndex((s) => s.slaveId === this.ui.selected);
    const next = Math.max(0, Math.min(slaves.length - 1, index + by));
    this.ui.selected = slaves[next]!.slaveId;
  }

  #press(index: number): void {
    this.ui.button = index;
    switch (BUTTONS[index]!.key) {
      case "p":
        return this.#send({ msg: "PAUSE" }, "asked the master to pause", true);
      case "r":
        return this.#send({ msg: "RESUME" }, "asked the master to resume", true);
      case "k": {
        const slave = this.ui.selected === null
          ? undefined
          : this.farm.slaves.get(this.ui.selected);
        if (!slave) return this.#say("select a slave to kill first", true);
        return this.#send(
          { msg: "KILL", slaveId: slave.slaveId },
          `asked the master to kill slave ${slave.slaveId} (${slave.label}) at its next request`,
        );
      }
      case "t":
        this.ui.dialog = { yes: false };
        return;
      case "q":
        return this.#quit();
    }
  }

  #confirm(yes: boolean): void {
    this.ui.dialog = null;
    if (yes) this.#send({ msg: "QUIT" }, "asked the master to terminate");
    else this.#say("the master was not terminated");
  }

  /** Sends `control`, then says `done` (and, for `pausing`, whether the master will tell). */
  #send(control: Control, done: string, pausing = false): void {
    this.#master!.send(control).then(
      () =>
        this.#say(
          pausing && this.farm.master === null
            ? `${done} (this master does not say whether it is paused)`
            : done,
        ),
      (e) => this.#say(`cannot reach the master: ${e instanceof Error ? e.message : e}`, true),
    ).finally(() => this.draw());
  }

  #quit(): void {
    this.#done.resolve();
  }
}
