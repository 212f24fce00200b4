/** The fake PyPI fixture itself, checked with the real pip: what it serves pip can fetch and build. */

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { FakePyPI } from "./fixtures/fake_pypi.ts";
import { PYTHON, run } from "./process.ts";

Deno.test("fake PyPI: pip downloads and builds a generated sdist from its simple index", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("Tiny.Pkg", "0.1", { requiresPython: ">=3" });
  const dir = await Deno.makeTempDir();
  try {
    const wheel = await run(PYTHON, [
      "-m",
      "pip",
      "wheel",
      "--no-deps",
      "--no-cache-dir",
      "--no-build-isolation",
      "--no-binary",
      ":all:",
      "--index-url",
      pypi.simpleUrl,
      "--wheel-dir",
      dir,
      "tiny-pkg==0.1",
    ], { env: { PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
    assertEquals(wheel.code, 0, wheel.stderr + wheel.stdout);
    const built = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(built, ["Tiny.Pkg-0.1-py3-none-any.whl"]);
    const page = await (await fetch(`${pypi.simpleUrl}tiny-pkg/`)).text();
    assertStringIncludes(page, 'data-requires-python="&#62;=3"');
    assert(/#sha256=[0-9a-f]{64}/.test(page));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
