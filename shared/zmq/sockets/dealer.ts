/**
 * DEALER and PAIR: a DEALER sends round-robin to its peers and fair-queues what they send, with
 * no envelope of its own; a PAIR does the same with exactly one peer (a second is refused).
 *
 * @module
 */

import type { SocketOptions } from "../options.ts";
import type { Pipe } from "../pipe.ts";
import { Duplex } from "../socket.ts";

/** A DEALER socket. */
export class Dealer extends Duplex {
  /** Makes a DEALER socket. */
  constructor(options: SocketOptions = {}) {
    super("DEALER", options);
  }
}

/** A PAIR socket. */
export class Pair extends Duplex {
  /** Makes a PAIR socket. */
  constructor(options: SocketOptions = {}) {
    super("PAIR", options);
  }

  /** Only one peer at a time. */
  protected override attached(pipe: Pipe): boolean {
    return this.pipes.size === 0 && super.attached(pipe);
  }
}
