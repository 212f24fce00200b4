/** Endpoint addresses, as libzmq writes them. */

import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { parseEndpoint, tcpAddress } from "./endpoint.ts";
import { ZmqError } from "./errors.ts";

Deno.test("endpoint: tcp with IPv4, IPv6, host names, the wildcard and ephemeral ports", () => {
  assertEquals(parseEndpoint("tcp://127.0.0.1:5555"), {
    transport: "tcp",
    host: "127.0.0.1",
    port: 5555,
  });
  assertEquals(parseEndpoint("tcp://[::1]:0"), { transport: "tcp", host: "::1", port: 0 });
  assertEquals(parseEndpoint("tcp://*:*"), { transport: "tcp", host: "*", port: 0 });
  assertEquals(parseEndpoint("tcp://master.local:5556"), {
    transport: "tcp",
    host: "master.local",
    port: 5556,
  });
  assertEquals(tcpAddress("::", 80), "tcp://[::]:80");
  assertEquals(tcpAddress("0.0.0.0", 80), "tcp://0.0.0.0:80");
});

Deno.test("endpoint: ipc paths and inproc names", () => {
  assertEquals(parseEndpoint("ipc:///tmp/piw-import"), {
    transport: "ipc",
    path: "/tmp/piw-import",
  });
  assertEquals(parseEndpoint("inproc://db"), { transport: "inproc", name: "db" });
});

Deno.test("endpoint: malformed addresses and unknown transports are refused", () => {
  for (const bad of ["tcp://host", "tcp://:5555", "tcp://h:70000", "tcp://::1:5", "db", "ipc://"]) {
    assertEquals(assertThrows(() => parseEndpoint(bad), ZmqError).code, "EINVAL", bad);
  }
  assertEquals(assertThrows(() => parseEndpoint("pgm://x:1"), ZmqError).code, "EPROTONOSUPPORT");
});
