/**
 * piw-sense's behaviour: follows the master into a {@linkcode FarmState}, draws the current
 * screen on the HAT every {@linkcode FRAME_MS} (writing only pictures that changed), and turns
 * joystick pushes into moves between screens and into control messages.
 *
 * @module
 */

import { FarmState } from "../farm_state.ts";
import type { Control, Controller, LinkEvents } from "../master_link.ts";
import type { Hat } from "./hat.ts";
import { type Image, rgb565 } from "./image.ts";
import {
  type Action,
  MainScreen,
  type Screen,
  type SenseContext,
  type SenseSettings,
} from "./screens.ts";

/** Time between two pictures. */
export const FRAME_MS = 50;

/** The running piw-sense. */
export class SenseApp {
  readonly farm: FarmState = new FarmState();
  #screen: Screen = new MainScreen();
  #last = "";
  #drawing = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #done = Promise.withResolvers<void>();
  #master: Controller | undefined;

  /** A piw-sense on `hat`, reporting trouble with `warn`. */
  constructor(
    readonly hat: Hat,
    readonly settings: SenseSettings,
    readonly warn: (text: string) => void,
  ) {}

  /** What the master link reports. */
  readonly events: LinkEvents = {
    message: (m) => this.farm.apply(m),
    connection: (connected) => {
      if (connected) this.farm.reset();
      this.farm.setConnected(connected);
    },
    warning: (text) => this.warn(text),
  };

  /** Runs until Quit (from the quit screen, or the virtual HAT's q), controlling `master`. */
  run(master: Controller): Promise<void> {
    this.#master = master;
    this.hat.listen((event) => {
      if (event === "quit") return this.#done.resolve();
      const move = this.#screen.move(event, this.#context());
      this.#screen = move.screen;
      if (move.action) this.#act(move.action);
      this.#frame();
    });
    this.#timer = setInterval(() => this.#frame(), FRAME_MS);
    this.#frame();
    return this.#done.promise;
  }

  /** Stops drawing. */
  stop(): void {
    clearInterval(this.#timer);
  }

  #context(): SenseContext {
    return { farm: this.farm, now: Date.now(), settings: this.settings };
  }

  #frame(): void {
    if (this.#drawing) return; // the device is still taking the last picture
    this.farm.prune();
    const image = this.#screen.render(this.#context());
    const key = fingerprint(image);
    if (key === this.#last) return;
    this.#last = key;
    this.#drawing = true;
    this.hat.show(image).catch((e) => this.warn(`cannot draw: ${e}`)).finally(() => {
      this.#drawing = false;
    });
  }

  #act(action: Action): void {
    switch (action.kind) {
      case "quit":
        return this.#done.resolve();
      case "kill":
        return this.#control({ msg: "KILL", slaveId: action.slaveId });
      case "terminate":
        return this.#control({ msg: "QUIT" });
    }
  }

  #control(control: Control): void {
    this.#master!.send(control).catch((e) =>
      this.warn(`cannot send ${control.msg} to the master: ${e}`)
    );
  }
}

/** What the device would show, as a string to compare frames by. */
function fingerprint(image: Image): string {
  return String.fromCharCode(...image.map(rgb565));
}
