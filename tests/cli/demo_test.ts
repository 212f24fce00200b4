/**
 * The quick-start demo (`deno task demo`, `master/demo.ts`) does what the README says: its slave
 * builds the packages its fake PyPI publishes, and the piw-monitor command line it prints, pasted
 * into a shell, attaches to the demo's master.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { eventually, freePort } from "../farm.ts";
import { Collected, reap, ROOT, run } from "../process.ts";

/** `deno task demo` as deno.json declares it: the flags, the module. */
async function demoTask(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const [deno, ...args] = (config.tasks.demo as string).split(/\s+/);
  assertEquals(deno, "deno");
  return args.map((a) => (a === "master/demo.ts" ? `${ROOT}/${a}` : a));
}

Deno.test("demo: its slave builds what is published; the piw-monitor line it prints attaches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-demo-test-" });
  const demo = new Deno.Command(Deno.execPath(), {
    args: [
      ...await demoTask(),
      "--slave-port",
      String(freePort()),
      "--file-port",
      String(freePort()),
      `${dir}/demo`,
    ],
    env: { NO_COLOR: "1", HOME: dir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Collected(demo.stdout, "the demo (stdout)");
  const stderr = new Collected(demo.stderr, "the demo (stderr)");
  try {
    const [, monitor] = await stdout.waitFor(/ {2}piw-monitor: +(.+)\n/);
    assertStringIncludes(monitor!, `--status-queue ipc://${dir}/demo/status`);
    assertStringIncludes(monitor!, `--control-queue ipc://${dir}/demo/control`);
    await stderr.waitFor(/piw-master: ready: /, 180_000);
    const once = await run("/bin/sh", ["-c", `${monitor} --once --json`], {
      env: { NO_COLOR: "1", HOME: dir },
    });
    assertEquals(once.code, 0, once.stderr);
    assertEquals(JSON.parse(once.stdout).master.connected, true);
    // the first package is built and published in the simple index
    const [, url] = await stdout.waitFor(/ {2}the web site: +(\S+)\n/);
    await eventually("the demo publishes hello-piwheels' wheel", async () => {
      const page = await fetch(`${url}simple/hello-piwheels/`).then((r) => r.text());
      return page.includes("hello_piwheels-1.0-py3-none-any.whl");
    }, 180_000);
    // Ctrl+C (or SIGTERM) stops the master and the slave, and the demo with them
    const status = await reap(demo, { signal: "SIGTERM" });
    assertEquals(status.code, 0, `${stdout.text}\n${stderr.text}`);
  } finally {
    await reap(demo, { signal: "SIGTERM" }); // at once, if it has ended already
    await Promise.all([stdout.ended, stderr.ended]);
    await Deno.remove(dir, { recursive: true });
  }
});
