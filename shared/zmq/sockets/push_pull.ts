/**
 * PUSH and PULL (RFC 30): a PUSH sends each message to one PULL peer in turn (waiting while all
 * are at their high-water mark); a PULL fair-queues what its PUSH peers send.
 *
 * @module
 */

import type { SocketOptions } from "../options.ts";
import { Readable, Writable } from "../socket.ts";

/** A PUSH socket. */
export class Push extends Writable {
  /** Makes a PUSH socket. */
  constructor(options: SocketOptions = {}) {
    super("PUSH", options);
  }

  /** A PULL peer sends nothing; anything it does send is dropped. */
  protected override filter(): undefined {
    return undefined;
  }
}

/** A PULL socket. */
export class Pull extends Readable {
  /** Makes a PULL socket. */
  constructor(options: SocketOptions = {}) {
    super("PULL", options);
  }
}
