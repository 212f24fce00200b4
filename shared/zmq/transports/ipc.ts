/**
 * The ipc:// transport: `ipc:///path/to/socket` over a unix domain socket. Binding replaces a
 * stale socket file (one nobody listens on); the file is removed when the endpoint closes.
 *
 * Permissions: `--allow-read=<path> --allow-write=<path> --allow-net=unix:<path>`.
 *
 * @module
 */

import { ZmqError } from "../errors.ts";
import type { PipeOwner } from "../pipe.ts";
import { type EndpointHandle, StreamConnector, StreamListener } from "./stream.ts";

/** Binds an ipc:// endpoint. */
export async function bindIpc(owner: PipeOwner, path: string): Promise<EndpointHandle> {
  return new StreamListener(owner, await listen(path), `ipc://${path}`);
}

/** Connects to an ipc:// endpoint (and keeps reconnecting). */
export function connectIpc(owner: PipeOwner, path: string): EndpointHandle {
  return new StreamConnector(
    owner,
    () => Deno.connect({ transport: "unix", path }),
    `ipc://${path}`,
  );
}

/** Listens on `path`; Deno removes the socket file when the listener closes. */
async function listen(path: string): Promise<Deno.Listener> {
  try {
    return Deno.listen({ transport: "unix", path });
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
  }
  if ((await Deno.lstat(path)).isSocket) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
    } catch (e) {
      if (!(e instanceof Deno.errors.ConnectionRefused)) throw e;
      await Deno.remove(path); // stale: its listener is gone
      return Deno.listen({ transport: "unix", path });
    }
  }
  throw new ZmqError("EADDRINUSE", `ipc://${path} is in use`);
}
