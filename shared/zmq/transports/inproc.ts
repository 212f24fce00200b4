/**
 * The inproc:// transport: two sockets of one process, in the same thread or in different
 * Workers, linked by a MessageChannel (see `workers.ts` for how the two find each other).
 *
 * The high-water marks hold as in libzmq: a sender posts at most the receiver's receive
 * high-water mark of messages ahead of what the receiver has read (the receiver returns credit
 * as it reads), the rest waits in the sender's outbox up to its send high-water mark.
 *
 * Frames of `TRANSFER_SIZE` bytes or more are transferred, not copied, when they span their
 * whole ArrayBuffer: the sender's array is detached by `send` (as with zeromq.js, a frame must
 * not be used again after sending it). PUB copies, since it may send one message to many.
 *
 * Two ends that find, by their hellos, that they live in the same thread stop using the
 * channel for messages: each hands its messages straight to the other's inbox (the frames are
 * not copied), within the same high-water marks; only the close still goes over the channel.
 *
 * Permissions: none.
 *
 * @module
 */

import { errorMessage } from "../../log.ts";
import { EMPTY, log, type Message, Pipe, type PipeOwner, subscriptionMessage } from "../pipe.ts";
import { sendsIdentity, type SocketType } from "../socket_type.ts";
import type { EndpointHandle } from "./stream.ts";
import { dial, register, unregister } from "./workers.ts";

/** Frames at least this large are transferred rather than copied. */
const TRANSFER_SIZE = 16 * 1024;

/** What the two ends of a link post: a hello, a message, credit, or null for "closed". */
type Post =
  | {
    type: SocketType;
    id: Uint8Array;
    hwm: number;
    metadata: Record<string, string>;
    /** The thread the end lives in, and its number there (see THREAD). */
    thread: string;
    pipe: number;
  }
  | Message
  | number
  | null;

/** This thread, as inproc ends tell each other (to find a peer in the same thread). */
const THREAD = crypto.randomUUID();
/** This thread's inproc ends, by number (until they close), for a peer here to find. */
const ends = new Map<number, InprocPipe>();
let nextEnd = 1;

/** One end of an inproc link. */
class InprocPipe extends Pipe {
  readonly #port: MessagePort;
  readonly #done = Promise.withResolvers<void>();
  #window = 0;
  #inFlight = 0;
  #unacked = 0;
  #destroyed = false;
  readonly #number = nextEnd++;
  /** The other end, when it lives in this thread. */
  #local: InprocPipe | null = null;

  constructor(owner: PipeOwner, port: MessagePort, peer: string) {
    super(owner, peer);
    this.#port = port;
    port.onmessage = (event) => this.#receive(event.data as Post);
    const id = sendsIdentity(owner.type) ? owner.options.routingId : EMPTY;
    const metadata = owner.options.metadata;
    ends.set(this.#number, this);
    port.postMessage(
      {
        type: owner.type,
        id,
        hwm: owner.options.receiveHighWaterMark,
        metadata,
        thread: THREAD,
        pipe: this.#number,
      } as Post,
    );
  }

  get done(): Promise<void> {
    return this.#done.promise;
  }

  subscribe(topic: Uint8Array, on: boolean): void {
    this.outbox.push(subscriptionMessage(topic, on));
    this.flush();
  }

  protected get busy(): boolean {
    return !this.#destroyed && this.outbox.length > 0;
  }

  protected flush(): void {
    if (this.#destroyed || !this.peerType) return;
    if (this.#local) return this.#flushLocal(this.#local);
    let taken = 0;
    while (this.outbox.length > 0 && (this.#window === 0 || this.#inFlight < this.#window)) {
      const message = this.outbox.shift()!;
      const transfer: ArrayBuffer[] = [];
      taken++;
      try {
        this.#port.postMessage(this.#prepare(message, transfer), transfer);
        this.#inFlight++;
      } catch (e) { // e.g. a frame whose buffer an earlier send transferred
        log.warning(`${this.peer}: dropped a message that cannot be posted: ${errorMessage(e)}`);
      }
    }
    if (taken === 0) return;
    if (this.outbox.length === 0) this.settled();
    this.owner.writable(this);
  }

  /** Hands what the outbox holds to the peer in this thread, while its inbox has room. */
  #flushLocal(peer: InprocPipe): void {
    if (!peer.attached) return; // it has not had our hello yet: it flushes us when it has
    let taken = 0;
    while (this.outbox.length > 0 && !peer.full && !peer.#destroyed) {
      peer.deliver([...this.outbox.shift()!]);
      taken++;
    }
    if (taken === 0) return;
    if (this.outbox.length === 0) this.settled();
    this.owner.writable(this);
  }

  protected consumed(): void {
    if (this.#local) {
      this.#local.flush(); // room in our inbox: the peer may go on
      return;
    }
    const hwm = this.owner.options.receiveHighWaterMark;
    if (hwm === 0 || this.#destroyed || ++this.#unacked < Math.ceil(hwm / 2)) return;
    this.#port.postMessage(this.#unacked);
    this.#unacked = 0;
  }

  protected destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    ends.delete(this.#number);
    this.#port.postMessage(null);
    this.#port.close();
    this.outbox.clear();
    this.settled();
    this.#done.resolve();
  }

  #receive(post: Post): void {
    if (this.#destroyed) return;
    if (Array.isArray(post)) {
      this.deliver(post);
    } else if (typeof post === "number") {
      this.#inFlight -= post;
      this.flush();
    } else if (post === null) {
      this.detach();
      this.destroy();
    } else {
      this.#window = post.hwm;
      const metadata = new Map(
        Object.entries(post.metadata).map(([name, value]) => [name.toLowerCase(), value]),
      );
      const peer = post.thread === THREAD ? ends.get(post.pipe) : undefined;
      // local before the handshake: joining the socket may send at once
      if (peer && !peer.#destroyed) this.#local = peer;
      const refused = this.handshake(post.type, post.id, metadata);
      if (refused) return this.abort(refused);
      peer?.flush(); // it may have been waiting for us to be attached
      this.flush();
    }
  }

  /** The frames to post: large ones we may hand over are transferred, views are cut out. */
  #prepare(message: Message, transfer: ArrayBuffer[]): Message {
    const mayTransfer = this.owner.type !== "PUB";
    return message.map((frame) => {
      const whole = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength;
      if (frame.byteLength < TRANSFER_SIZE || !mayTransfer) return whole ? frame : frame.slice();
      const own = whole && frame.buffer instanceof ArrayBuffer ? frame : frame.slice();
      if (!transfer.includes(own.buffer as ArrayBuffer)) transfer.push(own.buffer as ArrayBuffer);
      return own;
    });
  }
}

/** Binds an inproc:// name. */
export function bindInproc(owner: PipeOwner, name: string): EndpointHandle {
  const address = `inproc://${name}`;
  const pipes = new Set<InprocPipe>();
  register(name, (port) => {
    const pipe = new InprocPipe(owner, port, address);
    pipes.add(pipe);
    pipe.done.then(() => pipes.delete(pipe));
  });
  return {
    address,
    async close(linger) {
      unregister(name);
      await Promise.all([...pipes].map((pipe) => pipe.close(linger)));
    },
  };
}

/** Connects to an inproc:// name (bound now or later, in this thread or another Worker). */
export function connectInproc(owner: PipeOwner, name: string): EndpointHandle {
  const address = `inproc://${name}`;
  const { port1, port2 } = new MessageChannel();
  const pipe = new InprocPipe(owner, port1, address);
  dial(name, port2);
  return { address, close: (linger) => pipe.close(linger) };
}
