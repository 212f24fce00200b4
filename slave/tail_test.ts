import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { TailBuffer } from "./tail.ts";

Deno.test("TailBuffer keeps everything under its limit", () => {
  const t = new TailBuffer(10);
  t.append("abc");
  t.append(new TextEncoder().encode("def"));
  t.append("");
  assertEquals(t.text(), "abcdef");
  assertEquals(t.dropped, 0);
});

Deno.test("TailBuffer keeps the last bytes and says how many it dropped", () => {
  const t = new TailBuffer(5);
  t.append("0123");
  t.append("4567");
  assertEquals(t.text(), "[3 bytes of earlier output dropped]\n34567");
  t.append("0123456789abc");
  assertEquals(t.text(), "[16 bytes of earlier output dropped]\n89abc");
  assertEquals(t.dropped, 16);
});

Deno.test("TailBuffer replaces a character cut in half rather than failing", () => {
  const t = new TailBuffer(4);
  t.append("aé€"); // 1 + 2 + 3 bytes: the cut falls inside é
  assertEquals(t.text(), "[2 bytes of earlier output dropped]\n\ufffd€");
});

Deno.test("TailBuffer refuses a limit that is not a positive number of bytes", () => {
  for (const limit of [0, -1, 1.5, NaN]) assertThrows(() => new TailBuffer(limit), RangeError);
});

Deno.test("TailBuffer keeps what a plain copy of the last bytes keeps, whatever the chunks", () => {
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (const limit of [1, 5, 4096, 5000, 10_000]) {
    const t = new TailBuffer(limit);
    let all = "";
    for (let i = 0; i < 300; i++) {
      const chunk = "x".repeat(random(3) === 0 ? random(3 * limit) : random(40)).replace(
        /x/g,
        () => String.fromCharCode(97 + random(26)),
      );
      t.append(chunk);
      all += chunk;
      const kept = all.slice(Math.max(0, all.length - limit));
      const dropped = all.length - kept.length;
      assertEquals(
        t.text(),
        dropped ? `[${dropped} bytes of earlier output dropped]\n${kept}` : kept,
      );
    }
  }
});

Deno.test("TailBuffer keeps no chunk it was given, only copies of the bytes it keeps", async () => {
  // a pipe's reads are views of 64 KiB buffers: 16,384 1-byte reads used to keep 1 GiB
  const script = `
    import { TailBuffer } from ${JSON.stringify(new URL("./tail.ts", import.meta.url).href)};
    const t = new TailBuffer(4 * 1024 * 1024);
    const before = Deno.memoryUsage().external;
    for (let i = 0; i < 16384; i++) t.append(new Uint8Array(65536).fill(97).subarray(0, 1));
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((r) => setTimeout(r)); // backing stores may be freed after the pause
    }
    console.log(Deno.memoryUsage().external - before, t.text().length);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stderr: "inherit",
  }).output();
  assertEquals(out.code, 0);
  const [grown, kept] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  assertEquals(kept, 16384);
  // 4 MiB kept (the old code: 1 GiB); garbage the collector has not returned yet is the rest
  assert(grown! < 256 * 1024 * 1024, `the tail grew external memory by ${grown} bytes`);
});
