/**
 * The slave's session against a stand-in master (our ROUTER) and a builder that does what a
 * hostile build can: what goes wrong in one build or session is logged, and the slave carries on.
 */

import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { encode } from "../shared/cbor.ts";
import { Duration } from "../shared/duration.ts";
import { Logger } from "../shared/log.ts";
import {
  decodeMessage,
  encodeNamedMessage,
  MAX_SLAVE_DRIVER_REPLY,
  slaveDriver,
} from "../shared/protocols.ts";
import { FileState } from "../shared/states.ts";
import { parseWheelFilename } from "../shared/wheel.ts";
import { Router } from "../shared/zmq/mod.ts";
import { RecordingLogger } from "../tests/fixtures/builds.ts";
import { type Builder, type BuildOutcome, runSession } from "./session.ts";

/**
 * A master stand-in: answers each request with what `answer` says (raw bytes go as they are),
 * and records them.
 */
async function standIn(answer: (msg: string, data: unknown) => [string, unknown?] | Uint8Array) {
  const router = new Router();
  const address = await router.bind("tcp://127.0.0.1:0");
  const heard: { msg: string; data: unknown }[] = [];
  const serving = (async () => {
    for (;;) {
      const [id, , payload] = await router.receive().catch(() => []);
      if (!id) return;
      const m = decodeMessage(slaveDriver, payload!) as { msg: string; data: unknown };
      heard.push(m);
      const reply = answer(m.msg, m.data);
      const answered = reply instanceof Uint8Array
        ? reply
        : encodeNamedMessage(slaveDriver, reply[0], reply[1]);
      await router.send([id, new Uint8Array(), answered]);
    }
  })();
  return {
    address,
    heard,
    async [Symbol.asyncDispose]() {
      await router.close();
      await serving;
    },
  };
}

function builder(build: () => Promise<BuildOutcome>): Builder {
  return {
    tags: () =>
      Promise.resolve({ pyVersionTag: "311", abiTag: "cp311", platformTag: "linux_x86_64" }),
    build,
    cleanup: () => Promise.resolve(),
  };
}

const settings = (address: string) => ({
  slaveQueue: address,
  fileQueue: address,
  timeout: Duration.of({ hours: 1 }),
  label: "session-test",
  masterTimeout: Duration.of({ seconds: 60 }),
  sleep: Duration.of({ seconds: 1 }),
});

Deno.test("slave session: a build whose files no BUILT can name is reported as failed", async () => {
  // a build's own code can leave any file in the wheel directory: a name too long for the
  // protocol used to throw from encoding BUILT and stop the slave
  const name = `${"a".repeat(210)}-1.0-py3-none-any.whl`;
  const wheel = FileState.fromTags(name, 10, "0".repeat(64), parseWheelFilename(name), {});
  let idle = 0;
  await using master = await standIn((msg) => {
    if (msg === "HELLO") return ["ACK", [1, "http://127.0.0.1:1/simple"]];
    if (msg === "IDLE") return idle++ === 0 ? ["BUILD", ["foo", "1.0"]] : ["DIE"];
    return ["DONE"];
  });
  const outcome = { status: true, duration: Duration.ZERO, output: "built\n" };
  const why = await runSession(
    settings(master.address),
    builder(() => Promise.resolve({ ...outcome, files: [{ path: "/nonexistent", state: wheel }] })),
    new AbortController().signal,
    new Logger("session-test"),
  );
  assertEquals(why, "DIE");
  const built = master.heard.filter((m) => m.msg === "BUILT").map((m) => m.data as unknown[]);
  assertEquals(built.length, 1);
  assertEquals([built[0]![0], built[0]![3]], [false, []]);
  assertStringIncludes(built[0]![2] as string, "built\n\n\npiwheels: the build's files cannot be");
  assertEquals(master.heard.map((m) => m.msg), ["HELLO", "IDLE", "BUILT", "IDLE"]);
});

Deno.test("slave session: an error in one session starts another, not the end", async () => {
  let builds = 0;
  let idle = 0;
  await using master = await standIn((msg) => {
    if (msg === "HELLO") return ["ACK", [1, "http://127.0.0.1:1/simple"]];
    if (msg === "IDLE") return idle++ === 0 ? ["BUILD", ["foo", "1.0"]] : ["DIE"];
    return ["DONE"];
  });
  const why = await runSession(
    settings(master.address),
    builder(() => {
      builds++;
      return Promise.reject(new Error("the workspace cannot be made"));
    }),
    new AbortController().signal,
    new Logger("session-test"),
  );
  assertEquals(why, "DIE");
  assertEquals(builds, 1);
  assert(master.heard.filter((m) => m.msg === "HELLO").length === 2, "it said HELLO again");
});

Deno.test("slave session: a BUILD it cannot build is reported failed, not a broken master", async () => {
  // a piwheels 0.16 master sends what PyPI has: the slave used to start again with HELLO (a new
  // slave id each time), leaving the build to a slave the master would wait for for hours
  let idle = 0;
  await using master = await standIn((msg) => {
    if (msg === "HELLO") return ["ACK", [1, "http://127.0.0.1:1/simple"]];
    if (msg === "IDLE") return idle++ === 0 ? encode(["BUILD", ["foo", "1.0 beta"]]) : ["DIE"];
    return ["DONE"];
  });
  const why = await runSession(
    settings(master.address),
    builder(() => Promise.reject(new Error("nothing is to be built"))),
    new AbortController().signal,
    new Logger("session-test"),
  );
  assertEquals(why, "DIE");
  assertEquals(master.heard.map((m) => m.msg), ["HELLO", "IDLE", "BUILT", "IDLE"]);
  const built = master.heard[2]!.data as unknown[];
  assertEquals([built[0], built[3]], [false, []]);
  assertStringIncludes(built[2] as string, "this slave cannot build foo 1.0 beta");
});

Deno.test("slave session: a reply larger than any the master sends is refused unread", async () => {
  // a hostile or impersonated master made the slave take in a reply of any size (1 GB)
  const largest = [
    encodeNamedMessage(slaveDriver, "ACK", [Number.MAX_SAFE_INTEGER, "\u20ac".repeat(2048)]),
    encodeNamedMessage(slaveDriver, "BUILD", ["a".repeat(200), "\u20ac".repeat(127) + "1"]),
  ];
  for (const reply of largest) assert(reply.length <= MAX_SLAVE_DRIVER_REPLY, `${reply.length}`);
  let hello = 0;
  await using master = await standIn((msg) => {
    if (msg !== "HELLO") return ["DIE"];
    return hello++ === 0
      ? new Uint8Array(MAX_SLAVE_DRIVER_REPLY + 1)
      : ["ACK", [1, "http://127.0.0.1:1/simple"]];
  });
  const log = new RecordingLogger("session-test");
  const why = await runSession(
    { ...settings(master.address), masterTimeout: Duration.of({ seconds: 1 }) },
    builder(() => Promise.reject(new Error("nothing is to be built"))),
    new AbortController().signal,
    log,
  );
  assertEquals(why, "DIE");
  assertEquals(master.heard.map((m) => m.msg), ["HELLO", "HELLO", "IDLE"]);
  // its connection dropped as the reply began: no reply came, rather than one breaking WIRE.md
  assertEquals(log.warnings, ["no reply from the master within 1s; starting again"]);
});
