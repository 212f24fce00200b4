/**
 * The socket types and which of them may talk to which (RFC 37's compatibility table, with the
 * XPUB/XSUB peers libzmq proxies use).
 *
 * @module
 */

/** The socket types this implementation provides. */
export type SocketType =
  | "PAIR"
  | "PUB"
  | "SUB"
  | "REQ"
  | "REP"
  | "DEALER"
  | "ROUTER"
  | "PULL"
  | "PUSH";

const PEERS: Record<SocketType, readonly string[]> = {
  PAIR: ["PAIR"],
  PUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
  DEALER: ["REP", "DEALER", "ROUTER"],
  ROUTER: ["REQ", "DEALER", "ROUTER"],
  PULL: ["PUSH"],
  PUSH: ["PULL"],
};

/** Whether a socket of type `ours` may talk to a peer announcing `theirs`. */
export function compatible(ours: SocketType, theirs: string): boolean {
  return PEERS[ours].includes(theirs);
}

/** Whether a socket of this type announces its routing id (RFC 37: REQ, DEALER and ROUTER do). */
export function sendsIdentity(type: SocketType): boolean {
  return type === "REQ" || type === "DEALER" || type === "ROUTER";
}
