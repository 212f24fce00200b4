import { assertEquals } from "../tests/assert.ts";
import { renderProgress } from "./progress.ts";

Deno.test("progress bar: the bar, the percentage and the figures fit the terminal", () => {
  assertEquals(
    renderProgress("foo.whl", 1_250_000, 2_500_000, 80),
    `foo.whl [${"#".repeat(20)}${"-".repeat(20)}]  50%  1.3 of 2.5 MB`,
  );
  const narrow = renderProgress("foo.whl", 2_500_000, 2_500_000, 40);
  assertEquals(narrow, `foo.whl [${"#".repeat(10)}] 100%  2.5 of 2.5 MB`);
  assertEquals(renderProgress("empty.whl", 0, 0, 80).includes("100%"), true);
  const long = renderProgress(`${"x".repeat(60)}.whl`, 0, 1, 80);
  assertEquals(long.startsWith(`…${"x".repeat(45)}.whl [-`), true, long);
});
