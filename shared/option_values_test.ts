import { InvalidArgumentError } from "commander";
import { assertEquals, assertThrows } from "../tests/assert.ts";
import { Duration } from "./duration.ts";
import {
  absolutePath,
  baseUrlValue,
  dsnValue,
  endpointValue,
  hostValue,
  MAX_TIMER,
  nonEmpty,
  nonNegativeDuration,
  positiveDuration,
  urlValue,
} from "./option_values.ts";

/** `parse(text)` is refused as a usage error whose message includes `says`. */
function refuses(parse: (text: string) => unknown, text: string, says: string): void {
  const e = assertThrows(() => parse(text), InvalidArgumentError, undefined, text);
  assertEquals((e as Error).message.includes(says), true, `${text}: ${(e as Error).message}`);
}

Deno.test("option values: durations above 0 and within a timer's reach, or 0 or more", () => {
  assertEquals(positiveDuration("90s"), Duration.of({ seconds: 90 }));
  assertEquals(positiveDuration("24d"), MAX_TIMER);
  refuses(positiveDuration, "-5s", "expected a duration above 0");
  refuses(positiveDuration, "0", "expected a duration above 0");
  refuses(positiveDuration, "24d 1s", "at most 24d");
  refuses(positiveDuration, "3 fortnights", "expected a duration (e.g. 90s");
  assertEquals(nonNegativeDuration("0"), Duration.ZERO);
  assertEquals(nonNegativeDuration("400d"), Duration.of({ days: 400 }));
  refuses(nonNegativeDuration, "-1s", "expected a duration of 0 or more");
});

Deno.test("option values: ZeroMQ addresses, as bound or connected", () => {
  const bind = endpointValue("bind");
  const connect = endpointValue("connect");
  const internal = endpointValue("internal");
  for (
    const ok of ["tcp://*:5555", "tcp://*:0", "tcp://[::1]:5555", "ipc:///run/x", "inproc://a"]
  ) {
    assertEquals(bind(ok), ok);
  }
  for (const ok of ["tcp://master.example:5555", "tcp://10.0.0.1:1", "ipc:///run/piwheels/x"]) {
    assertEquals(connect(ok), ok);
  }
  assertEquals(internal("inproc://db"), "inproc://db");
  refuses(bind, "5555", "expected tcp://HOST:PORT, ipc://PATH or inproc://NAME");
  refuses(bind, "udp://h:1", "expected tcp://HOST:PORT");
  refuses(bind, "tcp://h:65536", "expected tcp://HOST:PORT");
  refuses(bind, "tcp://bad host:1", "HOST a host name, an IP address or *");
  refuses(connect, "tcp://*:5555", "HOST a host name or IP address");
  refuses(connect, "tcp://master:0", "PORT from 1 to 65535");
  refuses(connect, "inproc://db", "inproc:// reaches only within piw-master");
  refuses(internal, "tcp://*:7000", "HOST a host name or IP address");
});

Deno.test("option values: hosts, DSNs, URLs, paths and names", () => {
  assertEquals(hostValue("pi4.local"), "pi4.local");
  assertEquals(hostValue("::1"), "[::1]");
  assertEquals(hostValue("[fe80::1]"), "[fe80::1]");
  refuses(hostValue, "bad host", "expected a host name or IP address");
  refuses(hostValue, "", "expected a host name or IP address");

  for (
    const ok of [
      "postgres:///piwheels",
      "postgres://piwheels:secret@db.example.org:5433/piwheels",
      "postgresql://piwheels@%2Frun%2Fpostgresql/piwheels",
      "postgres:///piwheels?host=/run/postgresql",
      "pglite:///var/lib/piwheels/db",
    ]
  ) {
    assertEquals(dsnValue(ok), ok);
  }
  refuses(dsnValue, "mysql://foo", "expected postgres://[USER[:PASSWORD]@][HOST][:PORT]/DATABASE");
  refuses(dsnValue, "pglite://", "or pglite:///DIRECTORY");
  refuses(dsnValue, "postgres://exa mple/x", "exa mple is not a host name or IP address");
  refuses(dsnValue, "postgres://db:99999/x", "the port must be from 1 to 65535");

  assertEquals(urlValue("http://127.0.0.1:8080/pypi"), "http://127.0.0.1:8080/pypi");
  refuses(urlValue, "pypi.org", "expected an http:// or https:// URL");
  refuses(urlValue, "ftp://pypi.org/", "expected an http:// or https:// URL");
  assertEquals(baseUrlValue("https://pi.example.org/"), "https://pi.example.org");
  assertEquals(baseUrlValue("https://example.org/piwheels//"), "https://example.org/piwheels");
  assertEquals(baseUrlValue(""), "");
  refuses(baseUrlValue, "https://pi.example.org/?x=1", "without ? or #");
  refuses(baseUrlValue, "pi.example.org", "expected an http:// or https:// URL");

  assertEquals(absolutePath("/usr/bin/python3"), "/usr/bin/python3");
  refuses(absolutePath, "python3", "expected an absolute path");
  assertEquals(nonEmpty("pi-1"), "pi-1");
  refuses(nonEmpty, " ", "expected a value that is not empty");
});
