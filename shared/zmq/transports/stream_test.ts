import { assertEquals } from "../../../tests/assert.ts";
import { peerGroup } from "./stream.ts";

const tcp = (hostname: string): Deno.Addr => ({ transport: "tcp", hostname, port: 5555 });

Deno.test("peerGroup: an IPv4 address is its own place, mapped into IPv6 or not", () => {
  assertEquals(peerGroup(tcp("192.0.2.7")), "192.0.2.7");
  assertEquals(peerGroup(tcp("::ffff:192.0.2.7")), "192.0.2.7");
  assertEquals(peerGroup(tcp("::FFFF:192.0.2.8")), "192.0.2.8");
});

Deno.test("peerGroup: IPv6 addresses count by their /64, however written", () => {
  const group = "2001:db8:0:1::/64";
  assertEquals(peerGroup(tcp("2001:db8:0:1::1")), group);
  assertEquals(peerGroup(tcp("2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd")), group);
  assertEquals(peerGroup(tcp("2001:DB8::1:0:0:0:2")), group);
  assertEquals(peerGroup(tcp("fe80::1%eth0")), "fe80:0:0:0::/64");
  assertEquals(peerGroup(tcp("::1")), "0:0:0:0::/64");
  // the next /64 is another place
  assertEquals(peerGroup(tcp("2001:db8:0:2::1")), "2001:db8:0:2::/64");
});

Deno.test("peerGroup: every Unix socket peer is one place", () => {
  assertEquals(peerGroup({ transport: "unix", path: "/run/piwheels/slave" }), "a unix socket");
});
