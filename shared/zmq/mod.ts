/**
 * ZeroMQ in pure TypeScript: ZMTP 3.1 (RFC 37, speaking to 3.0 peers as RFC 23) with the NULL
 * and CURVE (RFC 26) mechanisms, interoperable with libzmq, in the line of JeroMQ, NetMQ and
 * go-zeromq/zmq4.
 *
 * Sockets: {@linkcode Request}/{@linkcode Reply} (REQ/REP), {@linkcode Dealer},
 * {@linkcode Router}, {@linkcode Push}/{@linkcode Pull}, {@linkcode Publisher}/
 * {@linkcode Subscriber} (PUB/SUB) and {@linkcode Pair}, with an async API shaped like
 * zeromq.js: `bind`/`unbind`/`connect`/`disconnect`, `send(frames)`, `receive()` resolving to
 * all frames of one message, `for await` over the messages, and `close()`.
 *
 * ```ts
 * import { Reply, Request } from "./mod.ts";
 *
 * const rep = new Reply();
 * const endpoint = await rep.bind("tcp://127.0.0.1:0"); // e.g. "tcp://127.0.0.1:39513"
 * const req = new Request({ receiveTimeout: 5000 });
 * req.connect(endpoint);
 * await req.send(["hello", new Uint8Array([1, 2])]);
 * const [a, b] = await rep.receive(); // Uint8Array frames
 * await rep.send("world");
 * const [reply] = await req.receive();
 * await Promise.all([req.close(), rep.close()]);
 * ```
 *
 * ## Transports and the permissions they need
 * - `tcp://host:port`, `tcp://[::1]:port`, `tcp://*:port` (every interface, IPv6 and IPv4; only
 *   IPv4 with `ipv6: false` or where the host has no IPv6), port 0 for an ephemeral port
 *   (`bind` resolves to the endpoint
 *   actually bound, also in `lastEndpoint`): `--allow-net=<host>:<port>`.
 * - `ipc:///path` (unix socket; a stale socket file is replaced on bind and removed on close):
 *   `--allow-read=<path> --allow-write=<path> --allow-net=unix:<path>`.
 * - `inproc://name`, within the process, across Workers: no permission at all.
 *
 * ## Security: CURVE
 * Without CURVE options a socket speaks NULL (no authentication, no encryption), as before.
 * With them, every tcp:// and ipc:// connection is authenticated and encrypted as libzmq's
 * CURVE is (CurveZMQ: X25519 keys, XSalsa20-Poly1305 boxes; `curve.ts` has the bytes); inproc://
 * needs no mechanism and has none. Keys are 40 characters of Z85 or 32 bytes
 * ({@linkcode curveKeyPair} makes a pair; `shared/curve_keys.ts` reads and writes them as czmq
 * certificate files).
 * - A server (`curveServer: true`, `curveSecretKey`; `curvePublicKey` may be given, and must
 *   then match) takes only CURVE clients that know its public key. `curveAuthorize(clientKey,
 *   peer)` decides, by the client's long-term public key (proven in the handshake), who may in:
 *   a refused client gets ERROR "400" (libzmq reports HANDSHAKE_FAILED_AUTH) and is
 *   disconnected, and a warning names its address and key. Without the hook every client that
 *   knows the server's key gets in.
 * - A client (`curveServerKey`: the server's public key, `curveSecretKey`) refuses a server
 *   that cannot prove it holds that key.
 * - Either side refuses a peer speaking another mechanism (NULL, PLAIN), logged as a warning.
 *   A client's failed handshake (a wrong server key, its key refused) is retried on the
 *   reconnect schedule; a connector logs each kind of failure once as a warning (then as debug
 *   lines) until a handshake succeeds. Any fault in a peer's boxes (a replayed, reordered or
 *   tampered MESSAGE) closes that connection, logged.
 * - Metadata (Socket-Type, Identity, `metadata`) travels sealed in INITIATE and READY, so
 *   `peerMetadata`, filtered PUB sends and ROUTER `notifyDisconnect` work as under NULL.
 * - Cost: the handshake takes a few X25519 operations (about 1 ms each); every frame is sealed
 *   and opened (about 150 MB/s each way on one core here, libzmq 5 times that:
 *   `tests/bench/zmq_throughput.ts --curve`).
 *
 * ## inproc:// between Workers
 * In the thread that creates a Worker, call {@linkcode attachWorker} once, right after
 * `new Worker(...)` and before adding your own listeners. The Worker needs nothing but to import
 * this module statically (at the top of its module). inproc names are then shared by the whole
 * tree of threads: bind `inproc://db` in one Worker and connect to it from any other, in either
 * order. Each link is a MessageChannel between the two sockets; frames of 16 KiB or more that
 * span their whole ArrayBuffer are transferred, not copied (the sender's array is detached: do
 * not use a frame again after sending it). A Worker terminated without closing its sockets
 * leaves its peers' links open (MessagePorts tell nobody): close sockets before terminating.
 *
 * ## Semantics (as libzmq, with ZMQ_IMMEDIATE)
 * Messages are queued only for peers whose handshake completed: a send with no peer able to
 * take it waits (EAGAIN after `sendTimeout`). Multipart messages are atomic. High-water marks
 * count messages per peer. REQ alternates strictly (EFSM otherwise); ROUTER prefixes routing
 * ids; DEALER and PUSH round-robin, PULL, DEALER and ROUTER fair-queue; PUB drops for a peer at
 * its high-water mark. A peer that breaks the protocol (garbage, a wrong greeting or mechanism,
 * an incompatible socket type, an oversized message) loses its connection only; the socket
 * keeps serving the others. Errors are {@linkcode ZmqError}s with libzmq's codes.
 *
 * @module
 */

export { isZmqError, ZmqError, type ZmqErrorCode } from "./errors.ts";
export type { SocketOptions } from "./options.ts";
export type { Message, PeerInfo } from "./pipe.ts";
export type { SocketType } from "./socket_type.ts";
export { Duplex, type FrameLike, type MessageLike, Readable, Socket, Writable } from "./socket.ts";
export { adoptFrame, detachFrame, POOL_BYTES, releaseFrame } from "./frame_pool.ts";
export { Dealer, Pair } from "./sockets/dealer.ts";
export { MAX_PEER_TOPIC_BYTES, MAX_PEER_TOPICS, Publisher, Subscriber } from "./sockets/pub_sub.ts";
export { Pull, Push } from "./sockets/push_pull.ts";
export { Reply, Request } from "./sockets/req_rep.ts";
export { Router, type RouterOptions } from "./sockets/router.ts";
export { attachWorker } from "./transports/workers.ts";
export { curveKeyPair } from "./curve.ts";
export type { CurveKey } from "./options.ts";
export { z85Decode, z85Encode } from "./z85.ts";
