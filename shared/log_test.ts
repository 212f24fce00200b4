import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import {
  configureLogging,
  currentLogSettings,
  Logger,
  MAX_LOG_MESSAGE,
  terminalSafe,
} from "./log.ts";

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

Deno.test("log: what a peer says reads as what it is: escapes, bidi overrides, new lines", () => {
  // a slave's label with a right-to-left override showed the rest of "joined" lines reversed
  assertEquals(
    terminalSafe("slave 7 (\u202eiq-eno) joined\x1b[2J\u200b\nfake line\u2028"),
    "slave 7 (\\u{202e}iq-eno) joined\\x1b[2J\\u{200b}\n  fake line\\u{2028}",
  );
  assertEquals(terminalSafe("tab\tand ß and 漢 stay"), "tab\tand ß and 漢 stay");
});
