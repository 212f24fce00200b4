/**
 * Where inproc:// names are bound, across the Workers of one process.
 *
 * Each thread keeps the names bound in it and, for each name bound in a Worker it attached
 * (or in that Worker's own Workers), which Worker leads there. A connecting socket makes a
 * MessageChannel, keeps one port and sends the other towards the name: to the local binding,
 * down to the Worker that leads to it, or up to the parent; the topmost thread keeps a port
 * whose name nobody has bound yet until someone does (connect before bind works, as in libzmq).
 * After that the two sockets talk over their own ports, with no thread in between.
 *
 * The registry's own messages travel over the Worker's message channel, tagged, and are hidden
 * from the application's listeners, so they add nothing that would keep a process alive after
 * `worker.terminate()`.
 *
 * @module
 */

import { ZmqError } from "../errors.ts";
import { log } from "../pipe.ts";

/** What a bound inproc endpoint does with a connecting peer's port. */
export type Acceptor = (port: MessagePort) => void;

const TAG = "piwheels.zmq.inproc";

type Request =
  | { op: "wire" }
  | { op: "bind" | "unbind" | "refused"; name: string }
  | { op: "connect"; name: string; port: MessagePort };

type Tagged = { [TAG]?: Request } | null | undefined;

const bound = new Map<string, Acceptor>();
const routes = new Map<string, Worker>();
const waiting = new Map<string, MessagePort[]>();
let wired = false;

/** This thread's channel to its parent (only meaningful inside a Worker). */
const parent = globalThis as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
};

function toParent(request: Request): void {
  parent.postMessage({ [TAG]: request }, request.op === "connect" ? [request.port] : []);
}

function toChild(worker: Worker, request: Request): void {
  worker.postMessage({ [TAG]: request }, request.op === "connect" ? [request.port] : []);
}

/** Binds `name` in this thread (EADDRINUSE if this thread knows it to be bound). */
export function register(name: string, accept: Acceptor): void {
  if (bound.has(name) || routes.has(name)) {
    throw new ZmqError("EADDRINUSE", `inproc://${name} is bound already`);
  }
  bound.set(name, accept);
  if (wired) toParent({ op: "bind", name });
  release(name);
}

/** Unbinds `name` in this thread. */
export function unregister(name: string): void {
  if (bound.delete(name) && wired) toParent({ op: "unbind", name });
}

/** Sends a connecting peer's port towards wherever `name` is bound. */
export function dial(name: string, port: MessagePort): void {
  route(name, port, false);
}

function route(name: string, port: MessagePort, fromParent: boolean): void {
  const accept = bound.get(name);
  const child = routes.get(name);
  if (accept) {
    accept(port);
  } else if (child) {
    toChild(child, { op: "connect", name, port });
  } else if (fromParent) {
    port.postMessage(null); // unbound meanwhile: the connecting side's pipe ends
    port.close();
  } else if (wired) {
    toParent({ op: "connect", name, port });
  } else {
    waiting.set(name, [...waiting.get(name) ?? [], port]);
  }
}

function release(name: string): void {
  const ports = waiting.get(name);
  waiting.delete(name);
  for (const port of ports ?? []) route(name, port, false);
}

function tagged(event: MessageEvent): Request | undefined {
  const request = (event.data as Tagged)?.[TAG];
  if (request) event.stopImmediatePropagation();
  return request;
}

/**
 * Shares inproc:// endpoints between this thread and `worker`: call it once, right after
 * `new Worker(...)` and before adding your own message listeners. The Worker needs nothing
 * but to import this module statically.
 */
export function attachWorker(worker: Worker): void {
  worker.addEventListener("message", (event) => {
    const request = tagged(event);
    if (request && request.op !== "wire") fromChild(worker, request);
  });
  toChild(worker, { op: "wire" });
}

function fromChild(worker: Worker, request: Exclude<Request, { op: "wire" }>): void {
  const { name } = request;
  switch (request.op) {
    case "bind":
      if (bound.has(name) || (routes.get(name) ?? worker) !== worker) {
        toChild(worker, { op: "refused", name });
        return;
      }
      routes.set(name, worker);
      if (wired) toParent(request);
      release(name);
      return;
    case "unbind":
      if (routes.get(name) !== worker) return;
      routes.delete(name);
      if (wired) toParent(request);
      return;
    case "connect":
      route(name, request.port, false);
  }
}

function fromParent(request: Request): void {
  switch (request.op) {
    case "wire":
      wired = true;
      for (const name of [...bound.keys(), ...routes.keys()]) toParent({ op: "bind", name });
      for (const [name, ports] of waiting) {
        for (const port of ports) toParent({ op: "connect", name, port });
      }
      waiting.clear();
      return;
    case "connect":
      route(request.name, request.port, true);
      return;
    case "refused": {
      const child = routes.get(request.name);
      if (child) {
        routes.delete(request.name);
        toChild(child, request);
      } else if (bound.has(request.name)) {
        log.warning(
          `inproc://${request.name} is bound in another thread already; ` +
            "this binding is reachable from this thread only",
        );
      }
      return;
    }
    case "bind":
    case "unbind":
  }
}

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  parent.addEventListener("message", (event) => {
    const request = tagged(event);
    if (request) fromParent(request);
  });
}
