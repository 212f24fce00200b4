/**
 * The whole farm end to end, all real: a fake PyPI serving sdists generated here (pure Python,
 * a C extension, a broken build, a build that outlives its timeout and forks children), the real
 * piw-master on PostgreSQL, and two real piw-slaves with their shipped flags building under
 * bubblewrap. The good wheels are published, the failure shows on the project page with its log,
 * as does a build the master refuses (a version whose wheel has another's name), the slow build
 * is killed with every process of it, the slaves live through all of it, and pip installs into a
 * fresh venv.
 */

import { gunzipSync } from "node:zlib";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm, startSlave } from "../farm.ts";
import { cExtension } from "../fixtures/sdist.ts";
import { pipInstall } from "../fixtures/pip_install.ts";
import { run } from "../process.ts";

const MARKER = `piwheels-slow-${crypto.randomUUID()}`;

const SLOW_SETUP = `import os, signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
for i in range(3):
    subprocess.Popen(["/bin/sh", "-c", "trap '' TERM; sleep 1000; : ${MARKER}"], start_new_session=True)
time.sleep(1000)
`;

function markedProcesses(): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(MARKER)) found.push(`${entry.name}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

Deno.test("farm: two real slaves build, fail, time out; pip installs what was built", async () => {
  /** The log of the failed build a project page links first. */
  const failedLog = async (page: string) => {
    const log = /href="(\/logs\/[^"]+)">failed after/.exec(page)![1]!;
    return new TextDecoder().decode(gunzipSync(await Deno.readFile(`${master.output}${log}`)));
  };

  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("farm-pure", "1.0");
  await pypi.release("farm-cext", "1.0", cExtension("farm-cext", "1.0"));
  await pypi.release("farm-broken", "1.0", {
    setupPy: 'raise SystemExit("this package is broken on purpose")\n',
  });
  await pypi.release("farm-slow", "1.0", { setupPy: SLOW_SETUP });
  await using a = await startSlave({
    master,
    label: "slave-a",
    timeout: "20s",
    args: ["--sandbox", "bwrap"],
  });
  await using b = await startSlave({
    master,
    label: "slave-b",
    timeout: "20s",
    args: ["--sandbox", "bwrap"],
  });

  const pure = await master.waitForFile(
    "simple/farm-pure/index.html",
    "farm_pure-1.0-py3-none-any.whl",
    120_000,
  );
  assertStringIncludes(pure, "#sha256=");
  // 1.00 is 1.0 by PEP 440, and its wheel has the name of 1.0's, published already: any slave's
  // build of it is refused. It is logged as failed, with why, and the slave carries on (it used
  // to be told DIE, and then so was the other slave; deployed slaves exit on DIE)
  await pypi.release("farm-pure", "1.00");
  const refused = await master.waitForFile("project/farm-pure/index.html", "failed after", 120_000);
  assertStringIncludes(
    await failedLog(refused),
    "the master refused this build: farm_pure-1.0-py3-none-any.whl is a file of farm-pure 1.0, " +
      "published already",
  );
  await master.waitForFile(
    "simple/farm-cext/index.html",
    "farm_cext-1.0-cp311-cp311-linux_x86_64.whl",
    120_000,
  );
  const cextProject = await master.waitForFile("project/farm-cext/index.html", "libc6", 30_000)
    .catch((e) => {
      throw new Error(`${e.message}\nslave a:\n${a.stderr}\nslave b:\n${b.stderr}`);
    });
  assertStringIncludes(cextProject, "sudo apt install libc6");
  const broken = await master.waitForFile(
    "project/farm-broken/index.html",
    "failed after",
    120_000,
  );
  assertStringIncludes(await failedLog(broken), "this package is broken on purpose");

  const slow = await master.waitForFile("project/farm-slow/index.html", "failed after", 120_000);
  assertStringIncludes(await failedLog(slow), "killed after");
  assertEquals(markedProcesses(), [], "no process of the slow build is left");
  // each slave, run with its shipped flags, built in its narrowed Worker (which checks that)
  for (const slave of [a, b]) {
    assertStringIncludes(slave.stderr, "the Worker's permissions are confined");
  }

  // the real pip installs what the farm built into a fresh venv, and the C extension imports
  const python = await pipInstall(master.output, master.dir, ["farm-cext", "farm-pure"]);
  const imported = await run(python, [
    "-c",
    "import farm_cext, farm_pure; print(farm_cext.answer(), farm_pure.VERSION)",
  ]);
  assertEquals(imported.stdout.trim(), "42 1.0", imported.stderr);

  assertEquals((await a.stop()).code, 0, a.stderr);
  assertEquals((await b.stop()).code, 0, b.stderr);
  assert(a.stderr.includes("stopped") && b.stderr.includes("stopped"));
});
