/**
 * Socket options, named as zeromq.js names them, with libzmq's defaults and meanings. Times are
 * in milliseconds; -1 means "forever" where a time can be infinite.
 *
 * @module
 */

import { ZmqError } from "./errors.ts";
import { publicKeyOf } from "./nacl.ts";
import { z85Decode } from "./z85.ts";

/** Options every socket takes (all optional). */
export interface SocketOptions {
  /** This socket's routing id (ZMQ_ROUTING_ID), announced by REQ, DEALER and ROUTER; 1 to 255
   * bytes, not starting with a zero byte. Default: none (a ROUTER peer generates one). */
  routingId?: Uint8Array | string;
  /** At most this many messages are queued for one peer (0: no limit). Default 1000. */
  sendHighWaterMark?: number;
  /** At most this many received messages are queued from one peer before reading from it
   * stops, until half of them are read (0: no limit). Default 1000. */
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
  /**
   * Whether a message larger than `maxMessageSize` is read past and dropped (logged), the
   * connection kept, rather than the connection closed: for a peer that relays what others say
   * (a Python master's status queue), where closing only has it send the same again on the next
   * connection. A CURVE connection is closed all the same (where a sealed message ends is known
   * only once it is opened). Default false.
   */
  skipOversized?: boolean;
  /** A connection must complete the ZMTP handshake within this time (0: no limit).
   * Default 30000. */
  handshakeInterval?: number;
  /**
   * The most connections one bound endpoint keeps at once (-1: no limit). When it is full, a
   * newcomer from a place (an IPv4 address, an IPv6 /64) holding at least two fewer than the
   * place holding most takes that place's oldest connection; any other is closed as it is
   * accepted. Default -1.
   */
  maxConnections?: number;
  /**
   * The most bytes of unfinished messages (a frame still arriving, the frames of a message so
   * far) the connections of one bound endpoint hold together (-1: no limit). A connection that
   * would take more closes the one holding most of the place holding most (an IPv4 address, an
   * IPv6 /64), which may be itself. Default -1.
   */
  maxUnfinishedBytes?: number;
  /**
   * The most bytes of received messages the socket holds unread, all its peers together (-1: no
   * limit): past it, a connection stops reading once it has delivered the message it was
   * reading, until the application has read the socket below it again (the receive high-water
   * mark counts messages, whatever their size). Default -1.
   */
  maxUnreadBytes?: number;
  /** Send a PING this often (0: no heartbeats). Default 0. */
  heartbeatInterval?: number;
  /** With heartbeats, drop a connection that has sent nothing for this long. Default: the
   * heartbeat interval. */
  heartbeatTimeout?: number;
  /** The time-to-live our PINGs ask the peer to apply to us (0: none). Default 0. */
  heartbeatTimeToLive?: number;
  /**
   * Bind `tcp://*` on IPv6 as well (`::`, dual stack; IPv4 alone where the host has no IPv6).
   * Default true, as piwheels sets it on every socket: its peers connect with libzmq's `ipv6`,
   * which takes a name's IPv6 address first (`localhost` is `::1`). false binds IPv4 only, as
   * libzmq does by default.
   */
  ipv6?: boolean;
  /**
   * Properties announced to every peer in the handshake's metadata (as libzmq's ZMQ_METADATA):
   * names start with `X-` (RFC 37 application properties), values are text. A peer sees them
   * as its pipe's `peerMetadata`. Default: none.
   */
  metadata?: Record<string, string>;
  /**
   * Be a CURVE server (ZMQ_CURVE_SERVER): every tcp:// and ipc:// peer must be a CURVE client
   * that knows our public key; needs `curveSecretKey`. Default false.
   */
  curveServer?: boolean;
  /** Our long-term CURVE public key: 40 characters of Z85, or 32 bytes. Default: derived
   * from `curveSecretKey` (given both, they must match). */
  curvePublicKey?: CurveKey;
  /** Our long-term CURVE secret key: 40 characters of Z85, or 32 bytes. */
  curveSecretKey?: CurveKey;
  /** The server's CURVE public key: given, we are a CURVE client (needs `curveSecretKey`). */
  curveServerKey?: CurveKey;
  /**
   * For a CURVE server: whether a client may in, by its long-term public key (checked by the
   * handshake) and its address as log lines name it; a refused client gets ERROR "400" and is
   * disconnected (a warning names it and its key). Default: every client that knows our key.
   */
  curveAuthorize?: (clientKey: Uint8Array, peer: string) => boolean;
}

/** A CURVE key as the options take it: 40 characters of Z85, or 32 bytes. */
export type CurveKey = string | Uint8Array;

/** The CURVE settings of a socket, checked, keys as bytes. */
export interface CurveSettings {
  /** Whether we are the server. */
  server: boolean;
  /** Our long-term public key. */
  publicKey: Uint8Array;
  /** Our long-term secret key. */
  secretKey: Uint8Array;
  /** The server's public key (for a server: our own). */
  serverKey: Uint8Array;
  /** A server's authorisation hook, if any. */
  authorize: ((clientKey: Uint8Array, peer: string) => boolean) | undefined;
}

/** The names of the options that are not plain values with defaults. */
type Special =
  | "routingId"
  | "metadata"
  | "curveServer"
  | "curvePublicKey"
  | "curveSecretKey"
  | "curveServerKey"
  | "curveAuthorize";

/** The options with every default filled in and the routing id as bytes. */
export interface ResolvedOptions extends Required<Omit<SocketOptions, Special>> {
  /** This socket's routing id (empty: none). */
  routingId: Uint8Array;
  /** The application properties announced in the handshake, checked. */
  metadata: Readonly<Record<string, string>>;
  /** The CURVE settings; undefined for the NULL mechanism. */
  curve: CurveSettings | undefined;
}

const DEFAULTS: Omit<ResolvedOptions, "routingId" | "heartbeatTimeout" | "metadata" | "curve"> = {
  sendHighWaterMark: 1000,
  receiveHighWaterMark: 1000,
  sendTimeout: -1,
  receiveTimeout: -1,
  linger: -1,
  reconnectInterval: 100,
  reconnectMaxInterval: 0,
  maxMessageSize: -1,
  skipOversized: false,
  handshakeInterval: 30000,
  maxConnections: -1,
  maxUnfinishedBytes: -1,
  maxUnreadBytes: -1,
  heartbeatInterval: 0,
  heartbeatTimeToLive: 0,
  ipv6: true,
};

/** Fills in the defaults and checks every value. */
export function resolveOptions(options: SocketOptions): ResolvedOptions {
  const {
    routingId,
    metadata = {},
    // the CURVE options are checked by resolveCurve, not kept as they are
    curveServer: _server,
    curvePublicKey: _public,
    curveSecretKey: _secret,
    curveServerKey: _serverKey,
    curveAuthorize: _authorize,
    ...rest
  } = options;
  const resolved: ResolvedOptions = {
    ...DEFAULTS,
    heartbeatTimeout: options.heartbeatInterval ?? 0,
    ...rest,
    routingId: typeof routingId === "string"
      ? new TextEncoder().encode(routingId)
      : routingId ?? new Uint8Array(0),
    metadata: { ...metadata },
    curve: resolveCurve(options),
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

/** A CURVE key option as 32 bytes (a copy). */
function curveKey(name: string, key: CurveKey): Uint8Array {
  if (typeof key === "string") {
    if (key.length !== 40) {
      throw new ZmqError("EINVAL", `${name} must be 40 characters of Z85, not ${key.length}`);
    }
    return z85Decode(key);
  }
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new ZmqError("EINVAL", `${name} must be 32 bytes or 40 characters of Z85`);
  }
  return key.slice();
}

/** Checks the CURVE options: none (NULL), a server's, or a client's. */
function resolveCurve(options: SocketOptions): CurveSettings | undefined {
  const { curveServer, curvePublicKey, curveSecretKey, curveServerKey, curveAuthorize } = options;
  if (curveServer && curveServerKey !== undefined) {
    throw new ZmqError("EINVAL", "a CURVE server takes no curveServerKey (a client does)");
  }
  if (curveAuthorize !== undefined && !curveServer) {
    throw new ZmqError("EINVAL", "curveAuthorize is for a CURVE server (curveServer: true)");
  }
  if (!curveServer && curveServerKey === undefined) {
    if (curvePublicKey !== undefined || curveSecretKey !== undefined) {
      throw new ZmqError(
        "EINVAL",
        "CURVE keys without curveServer (a server) or curveServerKey (a client)",
      );
    }
    return undefined;
  }
  if (curveSecretKey === undefined) {
    throw new ZmqError("EINVAL", "CURVE needs our curveSecretKey");
  }
  const secretKey = curveKey("curveSecretKey", curveSecretKey);
  const publicKey = publicKeyOf(secretKey);
  if (curvePublicKey !== undefined) {
    const given = curveKey("curvePublicKey", curvePublicKey);
    if (given.some((byte, i) => byte !== publicKey[i])) {
      throw new ZmqError("EINVAL", "curvePublicKey is not the public key of curveSecretKey");
    }
  }
  if (curveAuthorize !== undefined && typeof curveAuthorize !== "function") {
    throw new ZmqError("EINVAL", "curveAuthorize must be a function");
  }
  return {
    server: Boolean(curveServer),
    publicKey,
    secretKey,
    serverKey: curveServerKey === undefined
      ? publicKey
      : curveKey("curveServerKey", curveServerKey),
    authorize: curveAuthorize,
  };
}
