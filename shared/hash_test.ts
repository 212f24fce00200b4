import { assertEquals, assertRejects } from "../tests/assert.ts";
import { sha256File, sha256Hex } from "./hash.ts";

Deno.test("sha256File hashes a file of several chunks, and stops between them when aborted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 251);
    await Deno.writeFile(`${dir}/f`, data);
    assertEquals(await sha256File(`${dir}/f`), sha256Hex(data));
    // a slave hashing a build's 2 GiB wheel stops at the build's timeout or abort
    const stop = new AbortController();
    stop.abort(new Error("PIWHEELS-TEST: stopped"));
    await assertRejects(() => sha256File(`${dir}/f`, stop.signal), Error, "PIWHEELS-TEST: stopped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
