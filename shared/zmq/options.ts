/**
 * Socket options, named as zeromq.js names them, with libzmq's defaults and meanings. Times are
 * in milliseconds; -1 means "forever" where a time can be infinite.
 *
 * @module
 */

import { ZmqError } from "./errors.ts";

/** Options every socket takes (all optional). */
export interface SocketOptions {
  /** This socket's routing id (ZMQ_ROUTING_ID), announced by REQ, DEALER and ROUTER; 1 to 255
   * bytes, not starting with a zero byte. Default: none (a ROUTER peer generates one). */
  routingId?: Uint8Array | string;
  /** At most this many messages are queued for one peer (0: no limit). Default 1000. */
  sendHighWaterMark?: number;
  /** At most this many received messages are queued from one peer before reading from it
   * stops (0: no limit). Default 1000. */
  receiveHighWaterMark?: number;
  /** How long a send may wait for a peer to take the message before failing with EAGAIN
   * (-1: forever, 0: never wait). Default -1. */
  sendTimeout?: number;
  /** How long a receive may wait before failing with EAGAIN (-1: forever). Default -1. */
  receiveTimeout?: number;
  /** How long `close()` (also `unbind`, `disconnect`) waits for queued messages to be written
   * (-1: until they are, 0: drop them). Default -1, as libzmq. */
  linger?: number;
  /** The wait before reconnecting a lost or refused connection (-1: never reconnect). A random
   * part of up to the same again is added, so that many peers do not reconnect at once.
   * Default 100. */
  reconnectInterval?: number;
  /** When above `reconnectInterval`, each failed attempt doubles the wait up to this (0: no
   * backoff). Default 0. */
  reconnectMaxInterval?: number;
  /** A peer sending a message larger than this many bytes (all frames together) is
   * disconnected (-1: no limit). Default -1. */
  maxMessageSize?: number;
  /** A connection must complete the ZMTP handshake within this time (0: no limit).
   * Default 30000. */
  handshakeInterval?: number;
  /** Send a PING this often (0: no heartbeats). Default 0. */
  heartbeatInterval?: number;
  /** With heartbeats, drop a connection that has sent nothing for this long. Default: the
   * heartbeat interval. */
  heartbeatTimeout?: number;
  /** The time-to-live our PINGs ask the peer to apply to us (0: none). Default 0. */
  heartbeatTimeToLive?: number;
  /** Bind `tcp://*` on IPv6 as well (`::`, dual stack) instead of IPv4 only. Default false. */
  ipv6?: boolean;
  /**
   * Properties announced to every peer in the handshake's metadata (as libzmq's ZMQ_METADATA):
   * names start with `X-` (RFC 37 application properties), values are text. A peer sees them
   * as its pipe's `peerMetadata`. Default: none.
   */
  metadata?: Record<string, string>;
}

/** The options with every default filled in and the routing id as bytes. */
export interface ResolvedOptions extends Required<Omit<SocketOptions, "routingId" | "metadata">> {
  /** This socket's routing id (empty: none). */
  routingId: Uint8Array;
  /** The application properties announced in the handshake, checked. */
  metadata: Readonly<Record<string, string>>;
}

const DEFAULTS: Omit<ResolvedOptions, "routingId" | "heartbeatTimeout" | "metadata"> = {
  sendHighWaterMark: 1000,
  receiveHighWaterMark: 1000,
  sendTimeout: -1,
  receiveTimeout: -1,
  linger: -1,
  reconnectInterval: 100,
  reconnectMaxInterval: 0,
  maxMessageSize: -1,
  handshakeInterval: 30000,
  heartbeatInterval: 0,
  heartbeatTimeToLive: 0,
  ipv6: false,
};

/** Fills in the defaults and checks every value. */
export function resolveOptions(options: SocketOptions): ResolvedOptions {
  const { routingId, metadata = {}, ...rest } = options;
  const resolved: ResolvedOptions = {
    ...DEFAULTS,
    heartbeatTimeout: options.heartbeatInterval ?? 0,
    ...rest,
    routingId: typeof routingId === "string"
      ? new TextEncoder().encode(routingId)
      : routingId ?? new Uint8Array(0),
    metadata: { ...metadata },
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value === "number" && !(Number.isInteger(value) && value >= -1)) {
      throw new ZmqError("EINVAL", `option ${name} must be an integer >= -1, not ${value}`);
    }
  }
  if (resolved.heartbeatTimeToLive > 6553500) {
    throw new ZmqError("EINVAL", "heartbeatTimeToLive is at most 6553500 ms");
  }
  const id = resolved.routingId;
  if (routingId !== undefined && (id.length < 1 || id.length > 255 || id[0] === 0)) {
    throw new ZmqError("EINVAL", "routingId must be 1 to 255 bytes, not starting with a zero");
  }
  for (const [name, value] of Object.entries(resolved.metadata)) {
    if (!/^X-[A-Za-z0-9._+-]{1,253}$/i.test(name) || typeof value !== "string") {
      throw new ZmqError(
        "EINVAL",
        `metadata property ${JSON.stringify(name)} must be named X-… (letters, digits, '.', ` +
          "'_', '+', '-') and have a text value",
      );
    }
  }
  return resolved;
}
