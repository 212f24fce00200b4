import { assert, assertStringIncludes } from "../tests/assert.ts";
import { configureLogging, currentLogSettings, Logger, MAX_LOG_MESSAGE } from "./log.ts";

Deno.test("log: a message of megabytes is logged as one line of a few KiB", async () => {
  // a peer's or PyPI's text quoted whole: a line of 60 MiB a poll filled the disk in a day
  const dir = await Deno.makeTempDir();
  const before = currentLogSettings();
  try {
    configureLogging({ consoleLevel: "silent", fileLevel: "info", logFile: `${dir}/log` });
    new Logger("test").warning(`cannot follow PyPI: ${"\u001b".repeat(1 << 20)}`);
    configureLogging(before);
    const text = await Deno.readTextFile(`${dir}/log`);
    assertStringIncludes(text, `characters more)\n`);
    assertStringIncludes(text, "cannot follow PyPI: \\x1b");
    assert(text.length < MAX_LOG_MESSAGE * 4 + 200, `a line of ${text.length} characters`);
    assert(!text.includes("\u001b"), "the cut text is still made safe");
  } finally {
    configureLogging(before);
    await Deno.remove(dir, { recursive: true });
  }
});
