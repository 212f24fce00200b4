/**
 * The one error type of the ZeroMQ sockets, with libzmq's error names as codes so that callers
 * can tell a timeout from a closed socket from a misuse.
 *
 * @module
 */

/**
 * What went wrong, as libzmq names it:
 * - `EAGAIN`: a send or receive timed out (or a zero timeout found nothing to do);
 * - `ETERM`: the socket is closed (also what pending operations reject with on close);
 * - `EFSM`: an operation out of the socket's order (REQ sending twice, REP replying unasked);
 * - `EHOSTUNREACH`: a ROUTER with `routerMandatory` was given an unknown routing id;
 * - `EADDRINUSE`: the endpoint is bound already;
 * - `ENOENT`: unbind or disconnect of an endpoint the socket does not have;
 * - `EINVAL`: an invalid endpoint, option or message;
 * - `EPROTONOSUPPORT`: a transport other than tcp, ipc and inproc;
 * - `EPROTO`: a peer broke ZMTP (only ever logged: it closes that connection, never the socket).
 */
export type ZmqErrorCode =
  | "EAGAIN"
  | "ETERM"
  | "EFSM"
  | "EHOSTUNREACH"
  | "EADDRINUSE"
  | "ENOENT"
  | "EINVAL"
  | "EPROTONOSUPPORT"
  | "EPROTO";

/** Whether `e` is a {@linkcode ZmqError} with this code (a timeout, a closed socket, ...). */
export function isZmqError(e: unknown, code: ZmqErrorCode): e is ZmqError {
  return e instanceof ZmqError && e.code === code;
}

/** An error from a ZeroMQ socket; `code` says which. */
export class ZmqError extends Error {
  override name = "ZmqError";

  /** Makes an error with a code and a message for humans. */
  constructor(readonly code: ZmqErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}
