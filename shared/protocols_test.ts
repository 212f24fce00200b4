import { assert, assertEquals, assertStringIncludes, assertThrows } from "../tests/assert.ts";
import { type CborValue, encode, NO_DATA } from "./cbor.ts";
import { Duration } from "./duration.ts";
import * as protocols from "./protocols.ts";
import {
  decodeMessage,
  encodeMessage,
  encodeNamedMessage,
  type FileMessage,
  type Protocol,
  ProtocolError,
  reverse,
  slaveDriver,
} from "./protocols.ts";
import { Timestamp } from "./timestamp.ts";

const when = Timestamp.parse("2024-05-06T07:08:09.5Z");
const file: FileMessage = [
  "foo-1.0-cp311-cp311-linux_armv7l.whl",
  1234,
  "0".repeat(64),
  "foo",
  "1.0",
  "cp311",
  "cp311",
  "linux_armv7l",
  { apt: ["libc6"] },
];
const agent = [
  "armv7l",
  "Raspbian GNU/Linux",
  "12",
  "Linux",
  "6.1",
  "CPython",
  "3.11.2",
  "pip",
  "23.0.1",
  "66.1.1",
];
const stats = {
  packages_built: 10,
  builds_count: 20,
  builds_last_hour: 2,
  builds_success: 15,
  builds_time: Duration.of({ hours: 5 }),
  builds_size: 2 ** 40,
  builds_pending: 3,
  files_count: 30,
  disk_free: 2 ** 35,
  disk_size: 2 ** 36,
  downloads_last_month: 100,
  downloads_all: 1000,
};
const build = [1, "foo", "1.0", "cp311", true, Duration.of({ seconds: 30 }), "log", [[
  ...file,
  ">=3.9",
  "1".repeat(64),
]]];

/** A valid sample of every message's data (undefined for data-less messages), per protocol. */
const samples: Record<string, Record<string, CborValue | undefined>> = {
  "task control": { PAUSE: undefined, RESUME: undefined, QUIT: undefined },
  "slave driver control": {
    PAUSE: undefined,
    RESUME: undefined,
    QUIT: undefined,
    KILL: 3,
    HELLO: undefined,
    MONITORS: true,
  },
  "master control": {
    HELLO: undefined,
    PAUSE: undefined,
    RESUME: undefined,
    KILL: 7,
    QUIT: undefined,
  },
  "monitor stats": {
    STATS: stats,
    SLAVE: [1, when, "BUILD", ["foo", "1.0"]],
    MASTER: {
      paused: false,
      builds_pending_abi: { cp311: 3 },
      stats_every: Duration.of({ seconds: 60 }),
      version: "0.2.0",
    },
  },
  "slave driver": {
    HELLO: [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", "pi4"],
    IDLE: undefined,
    BUILT: [true, Duration.of({ minutes: 1 }), "output", [file]],
    SENT: undefined,
    BYE: undefined,
    ACK: [1, "https://pypi.org/simple"],
    SLEEP: undefined,
    DIE: undefined,
    BUILD: ["foo", "1.0"],
    SEND: file[0],
    DONE: undefined,
  },
  "mr chase": {
    IMPORT: [0, "foo", "1.0", "cp311", true, Duration.of({ seconds: 5 }), "imported", [file]],
    REMOVE: ["foo", "1.0", "withdrawn"],
    ABI: ["skip", "cp39", "too old"],
    REBUILD: ["PKGBOTH", "foo"],
    SENT: undefined,
    SEND: file[0],
    ERROR: "no such package",
    DONE: undefined,
    ABIS: [["cp311", ""], ["cp39", "too old"]],
    ADDPKG: ["Foo.Bar", "A package", null, 5, ["foo_bar"]],
    ADDVER: ["foo-bar", "1.0", when, "", true],
    YANK: ["foo-bar", "1.0", ""],
    AUDIT: ["packages", "", 10_000],
    RELOG: [1, 2, 3],
    ADDED: ["foo-bar", "1.0", true],
    PACKAGES: [["foo-bar", ["Foo.Bar"]], ["baz", []]],
    BUILDS: [1, 2, 3],
    FILES: { "foo-bar": [[file[0], "1".repeat(64)]] },
  },
  lumberjack: {
    LOGDOWNLOAD: [file[0], "10.0.0.1", when, ...agent],
    LOGSEARCH: ["foo", "10.0.0.1", when, ...agent],
    LOGPROJECT: ["foo", "10.0.0.1", when, "Mozilla/5.0"],
    LOGJSON: ["foo", "10.0.0.1", when, "curl/8"],
    LOGPAGE: ["home", "10.0.0.1", when, "Mozilla/5.0"],
  },
  "file juggler fs": {
    EXPECT: [1, "foo", "1.0", file],
    VERIFY: 1,
    COMMIT: [1, [file[0]]],
    REMOVE: ["foo", file[0], 7],
    ABORT: 1,
    SETTLE: [1, 7],
    RESTORE: 1,
    STATFS: undefined,
    QUIET: 0,
    OK: [2 ** 36, 2 ** 35],
    ERROR: "hash mismatch",
    REFUSED: "not a wheel of foo",
    EXISTS: [file[0]],
  },
  "the architect": { QUEUE: { cp311: [["foo", "1.0"], ["bar", "2.0"]], cp39: [] } },
  "architect control": {
    PAUSE: undefined,
    RESUME: undefined,
    QUIT: undefined,
    REFRESH: undefined,
  },
  "big brother": {
    STATFS: [2 ** 36, 2 ** 35],
    STATBQ: { cp311: 5, cp39: 0 },
    HOME: undefined,
    METRICS: ["the_oracle_1", [{
      name: "piwheels_db_request_seconds",
      help: "How long",
      type: "histogram",
      bounds: [0.001, 1],
      series: [{ labels: [["request", "GETQUEUE"]], counts: [1, 2, 0], sum: 0.5 }],
    }, {
      name: "piwheels_builds_total",
      help: "Builds",
      type: "counter",
      series: [{ labels: [], value: 3 }],
    }]],
  },
  "the scribe": {
    PKGBOTH: "foo",
    PKGPROJ: "foo",
    HOME: stats,
    SEARCH: { foo: [10, 100], bar: [0, 1] },
    DELPKG: "foo",
    DELVER: ["foo", "1.0"],
    LOG: [12, "build output"],
  },
  "the oracle": {
    ALLPKGS: undefined,
    ALLVERS: undefined,
    NEWPKG: ["foo", "", "A package", when],
    NEWVER: ["foo", "1.0", when, "", ">=3.9"],
    PROJDESC: ["foo", "A package"],
    SKIPPKG: ["foo", "binary only"],
    SKIPVER: ["foo", "1.0", "broken"],
    DELPKG: "foo",
    DELVER: ["foo", "1.0"],
    YANKVER: ["foo", "1.0"],
    UNYANKVER: ["foo", "1.0"],
    LOGBATCH: [
      ["LOGDOWNLOAD", [file[0], "10.0.0.1", when, ...agent]],
      ["LOGSEARCH", ["foo", "10.0.0.1", when, ...agent]],
      ["LOGPROJECT", ["foo", "10.0.0.1", when, "Mozilla/5.0"]],
      ["LOGJSON", ["foo", "10.0.0.1", when, "curl/8"]],
      ["LOGPAGE", ["faq", "10.0.0.1", when, "Mozilla/5.0"]],
    ],
    LOGBUILD: build,
    DELBUILD: ["foo", "1.0"],
    PKGFILES: "foo",
    PROJDATA: ["foo", "Bar"],
    VERFILES: ["foo", "1.0"],
    GETSKIP: ["foo", "1.0"],
    PKGEXISTS: "foo",
    VEREXISTS: ["foo", "1.0"],
    GETABIS: undefined,
    LISTABIS: undefined,
    ADDABI: "cp311",
    DELABI: "cp39",
    SKIPABI: ["cp39", "too old"],
    FILEVERS: [file[0]],
    GETPYPI: undefined,
    SETPYPI: 123456789,
    GETSTATS: undefined,
    GETSEARCH: undefined,
    GETQUEUE: undefined,
    HISTORY: [30, "foo"],
    FILEDEPS: file[0],
    SAVERWP: [["foo", when, "PKGBOTH"]],
    LOADRWP: undefined,
    RWPDONE: [["foo", 42]],
    RWPOWED: ["foo", "bar"],
    PKGALIAS: ["foo", "Foo"],
    PKGNAMES: "foo",
    SETPRIO: ["foo", -5],
    RELDATA: ["foo", "1.0", ["A package", ">=3.8, !=3.9.*", null]],
    REFRESHPOP: undefined,
    LISTPKGS: ["", 1000],
    LISTBUILDS: [0, 1000],
    PKGSFILES: ["foo", "bar"],
    GETLOG: 12,
    BUILDIDS: [12, 13],
    MAXBUILD: undefined,
    OK: { anything: [1, 2, 3] },
    ERROR: "database is down",
  },
};

const all: Protocol[] = (Object.values(protocols) as unknown[]).filter((v): v is Protocol =>
  typeof v === "object" && v !== null && "recv" in v && "send" in v && "name" in v
);

/** Encodes a message without validation, as a misbehaving peer would. */
function raw(msg: CborValue, ...data: CborValue[]): Uint8Array {
  return encode(data.length ? [msg, ...data] : msg);
}

Deno.test("protocols: every message of every protocol has a sample here", () => {
  assert(all.length >= 13, `found only ${all.length} protocols`);
  for (const p of all) {
    const names = [...Object.keys(p.recv), ...Object.keys(p.send)].sort();
    assertEquals(Object.keys(samples[p.name] ?? {}).sort(), names, `samples for ${p.name}`);
  }
});

for (const p of all) {
  for (const [side, endpoint] of [["recv", p], ["send", reverse(p)]] as const) {
    for (const name of Object.keys(p[side])) {
      const sample = samples[p.name]?.[name];
      Deno.test(`protocols: ${p.name} ${name} round-trips and rejects malformed variants`, () => {
        const sender = reverse(endpoint);
        const frame = encodeNamedMessage(sender, name, sample);
        const decoded = decodeMessage(endpoint, frame);
        assertEquals(decoded.msg, name);
        assertEquals(decoded.data, sample);

        const rejects = (bytes: Uint8Array, why: string, includes = name) => {
          const e = assertThrows(
            () => decodeMessage(endpoint, bytes),
            ProtocolError,
            undefined,
            why,
          );
          assertStringIncludes(e.message, p.name, why);
          assertStringIncludes(e.message, includes, why);
        };
        rejects(raw("NO_SUCH_MESSAGE"), "unknown name", "NO_SUCH_MESSAGE");
        rejects(raw(42), "a number for a name", "name");
        rejects(encode([name]), "a one-element array", "[name, data]");
        if (sample === undefined) {
          rejects(raw(name, 1), "data on a data-less message");
          rejects(raw(name, null), "null data on a data-less message");
        } else {
          rejects(raw(name), "missing data");
          rejects(encode([name, sample, 1]), "wrong arity of the message");
          if (name !== "OK") {
            const wrongType: CborValue = Array.isArray(sample) ? "not a list" : [[["nested"]]];
            rejects(encode([name, wrongType]), "data of the wrong type");
          }
          if (Array.isArray(sample) && name !== "OK") {
            // lists of any length (rather than tuples) take another element or one fewer
            if (!["FILEVERS", "EXISTS", "PKGSFILES", "PROJDATA", "RWPOWED"].includes(name)) {
              rejects(encode([name, [...sample, "extra"]]), "an extra element in the data");
            }
            const lists = [
              "SAVERWP",
              "RWPDONE",
              "RWPOWED",
              "LOGBATCH",
              "REBUILD",
              "NEWVER",
              "ABIS",
              "FILEVERS",
              "EXISTS",
            ];
            const more = [
              "NEWPKG",
              "RELOG",
              "BUILDIDS",
              "PACKAGES",
              "BUILDS",
              "PKGSFILES",
              "PROJDATA",
            ];
            if (![...lists, ...more].includes(name)) {
              rejects(encode([name, sample.slice(0, -1)]), "a missing element in the data");
            }
          }
        }
      });
    }
  }
}

Deno.test("protocols: PROJDATA names 1 to MAX_PROJDATA packages", () => {
  const sender = reverse(protocols.theOracle);
  const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
  for (const n of [1, protocols.MAX_PROJDATA]) {
    const frame = encodeMessage(sender, "PROJDATA", names(n));
    assertEquals(decodeMessage(protocols.theOracle, frame).data, names(n));
  }
  for (const n of [0, protocols.MAX_PROJDATA + 1]) {
    const frame = encode(["PROJDATA", names(n)]);
    assertThrows(() => decodeMessage(protocols.theOracle, frame), ProtocolError);
  }
});

Deno.test("protocols: NEWVER's requires_python may be null or left out", () => {
  const sender = reverse(protocols.theOracle);
  for (const data of [["foo", "1.0", when, ""], ["foo", "1.0", when, "", null]] as const) {
    const decoded = decodeMessage(protocols.theOracle, encodeMessage(sender, "NEWVER", [...data]));
    assertEquals(decoded.data, [...data]);
  }
});

Deno.test("protocols: data of the wrong type or arity is rejected, naming the field", () => {
  const cases: [Protocol, CborValue, string][] = [
    [slaveDriver, ["HELLO", ["3h", "311", "cp311", "linux_armv7l", "pi"]], "data[0]"],
    [slaveDriver, ["HELLO", [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l"]], "data"],
    [slaveDriver, ["BUILT", [true, Duration.ZERO, "out", [[...file.slice(0, 8)]]]], "data[3][0]"],
    [slaveDriver, ["BUILT", [true, Duration.ZERO, "out", [[
      ...file.slice(0, 1),
      -1,
      ...file.slice(2),
    ]]]], "data[3][0][1]"],
    [slaveDriver, ["BUILT", [true, Duration.ZERO, "out", [[
      ...file.slice(0, 2),
      "ABC",
      ...file.slice(3),
    ]]]], "SHA-256"],
    [reverse(slaveDriver), ["BUILD", ["foo"]], "data"],
    [reverse(slaveDriver), ["ACK", ["1", "url"]], "data[0]"],
    [protocols.mrChase, ["REBUILD", ["EVERYTHING"]], "REBUILD"],
    [protocols.mrChase, ["REMOVE", ["foo", "1.0"]], "REMOVE"],
    [protocols.masterControl, ["KILL", "7"], "KILL"],
    [protocols.masterControl, ["KILL", -1], "KILL"],
    [protocols.lumberjack, ["LOGPAGE", ["home", "h", "2020-01-01", "ua"]], "data[2]"],
    [protocols.mrChase, ["ADDPKG", ["foo", null, null, 5000, []]], "data[3]"],
    [protocols.mrChase, ["ADDPKG", ["foo", null, null, null, ["../etc"]]], "project name"],
    [protocols.mrChase, ["ADDVER", ["foo", "1 0", null, null, null]], "data[1]"],
    [protocols.mrChase, ["AUDIT", ["builds", 0, 0]], "AUDIT"],
    [protocols.mrChase, ["AUDIT", ["packages", "", 100_000]], "AUDIT"],
    [protocols.mrChase, ["AUDIT", ["files", ["a/b"]]], "AUDIT"],
    [protocols.mrChase, ["RELOG", []], "RELOG"],
    [protocols.theOracle, ["RELDATA", ["foo", "1.0", [null, "<script>", null]]], "data[2][1]"],
    [protocols.theOracle, ["HISTORY", [3650, null]], "data[0]"],
    [protocols.bigBrother, ["METRICS", ["t", [{
      name: "bad name",
      help: "",
      type: "gauge",
      series: [],
    }]]], "data[1][0][name]"],
    // the text format's own: not ours, a label named twice, `le` on a histogram's series
    [protocols.bigBrother, ["METRICS", ["t", [{
      name: "node_load1",
      help: "",
      type: "gauge",
      series: [],
    }]]], "data[1][0][name]"],
    [protocols.bigBrother, ["METRICS", ["t", [{
      name: "piwheels_x",
      help: "",
      type: "gauge",
      series: [{ labels: [["a", "1"], ["a", "2"]], value: 1 }],
    }]]], "a label named twice"],
    [protocols.bigBrother, ["METRICS", ["t", [{
      name: "piwheels_x",
      help: "",
      type: "histogram",
      bounds: [1],
      series: [{ labels: [["le", "5"]], counts: [1, 0], sum: 1 }],
    }]]], "data[1][0][series][0][labels][0][0]"],
    [protocols.theOracle, ["RELDATA", ["foo", "1.0", ["a\0b", null, null]]], "data[2][0]"],
    [protocols.theOracle, ["SETPRIO", ["foo", 1.5]], "data[1]"],
  ];
  for (const [p, value, includes] of cases) {
    const e = assertThrows(
      () => decodeMessage(p, encode(value)),
      ProtocolError,
      includes,
      JSON.stringify(value),
    );
    assertStringIncludes(e.message, p.name);
  }
});

Deno.test("protocols: file names and package names a peer sends are never paths", () => {
  const bad = [
    "../etc/passwd",
    "a/b.whl",
    "..",
    ".",
    "a\0b.whl",
    "x".repeat(10 * 1024),
    "a\\b.whl",
    "tab\there.whl",
    "",
  ];
  for (const name of bad) {
    const frame = encode(["SEND", name]);
    assertThrows(
      () => decodeMessage(reverse(slaveDriver), frame),
      ProtocolError,
      "SEND",
      JSON.stringify(name),
    );
    const built = encode(["BUILT", [true, Duration.ZERO, "", [[name, ...file.slice(1)]]]]);
    assertThrows(
      () => decodeMessage(slaveDriver, built),
      ProtocolError,
      "BUILT",
      JSON.stringify(name),
    );
  }
  for (const pkg of ["../x", "a/b", "a b", "", "-x", "x".repeat(300)]) {
    assertThrows(
      () => decodeMessage(reverse(slaveDriver), encode(["BUILD", [pkg, "1.0"]])),
      ProtocolError,
      "BUILD",
      pkg,
    );
  }
  assertEquals(decodeMessage(reverse(slaveDriver), encode(["SEND", "...whl"])).data, "...whl");
});

Deno.test("protocols: sending validates too, and dependency sets are sent as maps", () => {
  assertThrows(
    () => encodeNamedMessage(reverse(slaveDriver), "BUILT", [true]),
    ProtocolError,
    "slave driver: BUILT",
  );
  assertThrows(
    () => encodeNamedMessage(reverse(slaveDriver), "ACK", [1, "url"]),
    ProtocolError,
    'unknown message "ACK" to send',
  );
  assertThrows(
    () => encodeNamedMessage(reverse(slaveDriver), "IDLE", 1),
    ProtocolError,
    "carries no data",
  );
  const withSet = [...file.slice(0, 8), new Set([["apt", "zlib1g"], ["apt", "libc6"]])];
  const frame = encodeNamedMessage(reverse(slaveDriver), "BUILT", [true, Duration.ZERO, "", [
    withSet,
  ]]);
  const m = decodeMessage(slaveDriver, frame);
  assertEquals(m.msg === "BUILT" && m.data[3][0]![8], { apt: ["libc6", "zlib1g"] });
});

Deno.test("protocols: IMPORT accepts the manual's float of seconds as its duration", () => {
  const frame = encode(["IMPORT", [null, "foo", "1.0", true, 2.5, "out", []]]);
  const m = decodeMessage(protocols.mrChase, frame);
  assertEquals(m.msg === "IMPORT" && m.data[4], Duration.fromSeconds(2.5));
});

Deno.test("protocols: the monitor's SLAVE echo carries tag 2002 for no data", () => {
  const frame = encodeMessage(protocols.monitorStats, "SLAVE", [1, when, "SLEEP", NO_DATA]);
  assertEquals(decodeMessage(reverse(protocols.monitorStats), frame).data, [
    1,
    when,
    "SLEEP",
    NO_DATA,
  ]);
});

Deno.test("protocols: random bytes never throw anything but ProtocolError", () => {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const valid = encodeMessage(reverse(slaveDriver), "BUILT", [true, Duration.ZERO, "x", [file]]);
  for (let i = 0; i < 20000; i++) {
    const bytes = i % 2
      ? new Uint8Array(1 + Math.floor(rand() * 64)).map(() => Math.floor(rand() * 256))
      : valid.map((b) => (rand() < 0.02 ? Math.floor(rand() * 256) : b));
    for (const p of [slaveDriver, protocols.theOracle, protocols.mrChase] as Protocol[]) {
      try {
        decodeMessage(p, bytes);
      } catch (e) {
        assert(e instanceof ProtocolError, `${e}`);
      }
    }
  }
});

Deno.test("protocols: a build's files are wheels by name, none listed twice", () => {
  const built = (names: string[]) =>
    encode(["BUILT", [true, Duration.ZERO, "", names.map((n) => [n, ...file.slice(1)])]]);
  const ok = decodeMessage(slaveDriver, built(["foo-1.0-py3-none-any.whl"]));
  assertEquals(ok.msg, "BUILT");
  assertThrows(
    () => decodeMessage(slaveDriver, built(["foo-1.0.tar.gz"])),
    ProtocolError,
    "not a wheel",
  );
  assertThrows(
    () =>
      decodeMessage(slaveDriver, built(["foo-1.0-py3-none-any.whl", "foo-1.0-py3-none-any.whl"])),
    ProtocolError,
    "listed twice",
  );
});

Deno.test("protocols: STATS has exactly the twelve keys deployed monitors accept", () => {
  assertThrows(
    () => encodeNamedMessage(protocols.monitorStats, "STATS", { ...stats, builds_pending_abi: {} }),
    ProtocolError,
    "builds_pending_abi",
  );
  const { downloads_all: _, ...missing } = stats as Record<string, CborValue>;
  assertThrows(
    () => encodeNamedMessage(protocols.monitorStats, "STATS", missing),
    ProtocolError,
    "downloads_all",
  );
});

Deno.test("protocols: a version is printable: no format characters, no half characters", () => {
  // a bidi override or a zero-width space made two rows of a project's page look alike
  for (
    const version of ["1.0\u202e", "1.0\u200b", "\u2066", "1.0\ud800", "1.0\udc00", "1.0 beta"]
  ) {
    assert(protocols.unbuildable("foo", version) !== null, JSON.stringify(version));
  }
  for (const version of ["1.0", "1!2.0.post1+local.7", "2.0ß", "1.0-β"]) {
    assertEquals(protocols.unbuildable("foo", version), null, version);
  }
});
