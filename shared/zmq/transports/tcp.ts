/**
 * The tcp:// transport: `tcp://host:port` over IPv4 or IPv6 (`tcp://[::1]:5555`), host names,
 * `tcp://*:port` to bind every interface (dual-stack `::`, as libzmq with its `ipv6` option,
 * which falls back to IPv4 where the host has no IPv6; IPv4 only with `ipv6: false`; `::` takes
 * IPv4 as well only where `net.ipv6.bindv6only` is 0, the kernel's default, since Deno cannot
 * clear `IPV6_V6ONLY`), and port 0 for an ephemeral port (the bound endpoint reports the actual
 * one).
 *
 * Permissions: `--allow-net=<host>:<port>` for the address bound or connected to.
 *
 * @module
 */

import { tcpAddress } from "../endpoint.ts";
import { ZmqError } from "../errors.ts";
import type { PipeOwner } from "../pipe.ts";
import { type EndpointHandle, StreamConnector, StreamListener } from "./stream.ts";

/** Binds a tcp:// endpoint. */
export function bindTcp(owner: PipeOwner, host: string, port: number): EndpointHandle {
  const dual = host === "*" && owner.options.ipv6;
  let hostname = host === "*" ? (dual ? "::" : "0.0.0.0") : host;
  let listener: Deno.Listener;
  for (;;) {
    try {
      listener = Deno.listen({ hostname, port, transport: "tcp" });
      break;
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new ZmqError("EADDRINUSE", `${tcpAddress(hostname, port)} is in use`);
      }
      if (!dual || hostname !== "::" || e instanceof Deno.errors.PermissionDenied) throw e;
      hostname = "0.0.0.0"; // no IPv6 here
    }
  }
  const bound = listener.addr as Deno.NetAddr;
  return new StreamListener(owner, listener, tcpAddress(bound.hostname, bound.port));
}

/** Connects to a tcp:// endpoint (and keeps reconnecting). */
export function connectTcp(owner: PipeOwner, host: string, port: number): EndpointHandle {
  if (host === "*") throw new ZmqError("EINVAL", "cannot connect to tcp://*");
  return new StreamConnector(
    owner,
    (signal) => Deno.connect({ hostname: host, port, signal }),
    tcpAddress(host, port),
  );
}
