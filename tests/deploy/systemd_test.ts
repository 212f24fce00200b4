/**
 * The systemd units we ship (`deploy/piwheels-master.service`, `deploy/piwheels-slave.service`)
 * with `deploy/piwheels.conf`: `systemd-analyze verify` accepts them, and under systemd's own
 * service manager (`tests/fixtures/systemd.ts`) the real master and the real slave run with
 * exactly their settings, as the user piwheels. The slave builds a pure-Python and a C package
 * under bubblewrap inside the unit's sandbox, the master publishes them, and piw-monitor,
 * piw-rebuild and piw-logger reach the master through /run/piwheels as /etc/piwheels.conf
 * says; each setting the slave's unit leaves out for bubblewrap's or Deno's sake does stop the
 * slave from starting; and with the user's home in /home (`useradd -m`), which ProtectHome=
 * hides, both start, skipping the configuration file there that they cannot read.
 */

import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, piwheelsDatabase } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { cExtension } from "../fixtures/sdist.ts";
import { SEEN, ServiceManager } from "../fixtures/systemd.ts";
import { ROOT, run, toolArgs, writeToolScript } from "../process.ts";
import type { TOOLS } from "../../shared/flags.ts";
import { queryDb } from "../db.ts";
import { combinedLine } from "../fixtures/access_log.ts";

const MASTER = "piwheels-master.service";
const SLAVE = "piwheels-slave.service";

function deployed(name: string): Promise<string> {
  return Deno.readTextFile(`${ROOT}/deploy/${name}`);
}

Deno.test("deploy: systemd-analyze verify accepts the units, and says what is wrong", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-units-" });
  try {
    // verify checks that each ExecStart= program exists and may run: it is looked for where
    // the unit says, so the units name stand-ins here instead of /usr/local/bin
    await Deno.mkdir(`${dir}/bin`);
    const verify = async (name: string, text: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, text.replaceAll("/usr/local/bin/", `${dir}/bin/`));
      return await run("systemd-analyze", ["verify", `${dir}/${name}`]);
    };
    for (const [unit, tool] of [[MASTER, "piw-master"], [SLAVE, "piw-slave"]] as const) {
      await writeToolScript(`${dir}/bin/${tool}`, tool);
      // any warning (an unknown key, a value it cannot parse) is printed: none is expected
      assertEquals(await verify(unit, await deployed(unit)), { code: 0, stdout: "", stderr: "" });
    }
    const typo = await verify(
      SLAVE,
      (await deployed(SLAVE)).replace("ProtectHome=", "ProtectHom="),
    );
    assertMatch(typo.stderr, /Unknown key.*'ProtectHom'/);
    await Deno.remove(`${dir}/bin/piw-master`);
    const missing = await verify(MASTER, await deployed(MASTER));
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.stderr, "piw-master is not executable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A private systemd with the shipped configuration plus `more`, the two stand-ins, and the user
 * piwheels with its home at `home` (default: its state directory, as the README makes it).
 */
async function machine(more: string, home?: string): Promise<ServiceManager> {
  const dir = await Deno.makeTempDir({ prefix: "piw-systemd-" });
  const conf = `${await deployed("piwheels.conf")}\n${more}`;
  const systemd = await ServiceManager.start(dir, conf, home);
  await writeToolScript(`${dir}/bin/piw-master`, "piw-master", SEEN);
  await writeToolScript(`${dir}/bin/piw-slave`, "piw-slave", SEEN);
  return systemd;
}

/**
 * The test's database, PyPI and free ports for the master and the slave, with `more` for the
 * master, to go over the shipped settings (a later key wins).
 */
function farmSettings(pypi: FakePyPI, db: { userDsn: string }, more = ""): string {
  const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  return `
[master]
dsn = ${db.userDsn}
pypi-xmlrpc = ${pypi.xmlrpcUrl}
pypi-simple = ${pypi.simpleUrl}
slave-queue = ${slaveQueue}
file-queue = ${fileQueue}
verbose = true
${more}

[slave]
master = 127.0.0.1
slave-queue = ${slaveQueue}
file-queue = ${fileQueue}
verbose = true
`;
}

/** The output path, owned by piwheels (the README's `install -d -o piwheels -g piwheels`). */
async function outputPath(systemd: ServiceManager): Promise<string> {
  const www = `${systemd.dir}/www/piwheels`;
  await Deno.mkdir(www, { mode: 0o755 });
  await Deno.chown(www, systemd.piwheelsId, systemd.piwheelsId);
  return www;
}

Deno.test("deploy: the master and a slave under their units build and publish, with bubblewrap", async () => {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  await using systemd = await machine(farmSettings(pypi, db, "dev-mode = true"));
  const www = await outputPath(systemd);
  await systemd.install(MASTER, await deployed(MASTER));
  await systemd.install(SLAVE, await deployed(SLAVE));
  await pypi.release("unit-pure", "1.0");
  await pypi.release("unit-cext", "1.0", cExtension("unit-cext", "1.0"));
  await systemd.start(MASTER);
  const tool = (name: keyof typeof TOOLS, args: string[], stdin?: string) =>
    systemd.exec([Deno.execPath(), ...toolArgs(name, args)], { stdin });
  // the operator names the ABI the farm builds for, as the README says, once the master is up
  await systemd.until(
    "the master builds for cp311",
    async () => (await tool("piw-abi", ["add", "cp311"])).code === 0,
  );
  await systemd.start(SLAVE);

  const published = (project: string, wheel: RegExp) =>
    systemd.until(`${project}'s wheel is published`, async () => {
      for (const unit of [MASTER, SLAVE]) {
        const state = await systemd.state(unit);
        if (state.ActiveState !== "active") throw new Error(`${unit} is ${state.SubState}`);
      }
      const page = await Deno.readTextFile(`${www}/simple/${project}/index.html`).catch(() => "");
      return wheel.test(page);
    }, 120_000);
  const pureWheel = "unit_pure-1.0-py3-none-any.whl";
  await published("unit-pure", /unit_pure-1\.0-py3-none-any\.whl#sha256=/);
  await published("unit-cext", /unit_cext-1\.0-cp3\d+-cp3\d+-linux_\w+\.whl#sha256=/);
  const slaveLog = await systemd.log(SLAVE);
  assertMatch(slaveLog, /connected to the master as slave \d+/);
  // in the build directory the unit gives it, under bubblewrap (the only sandbox it accepts)
  assertMatch(slaveLog, /building unit-cext==1\.0 in \/run\/cache\/piwheels\/build\/\S+ \(bwrap\)/);
  // the master wrote the site as piwheels, readable by the web server
  const wheel = (await Array.fromAsync(Deno.readDir(`${www}/simple/unit-cext`)))
    .find((e) => e.name.endsWith(".whl"))!;
  const stat = await Deno.stat(`${www}/simple/unit-cext/${wheel.name}`);
  assertEquals([stat.uid, stat.mode! & 0o777], [systemd.piwheelsId, 0o644]);

  // the other tools on the master's machine find its queues in /run/piwheels (outside its
  // private /tmp) through /etc/piwheels.conf: what the README has an operator check
  const monitor = await tool("piw-monitor", ["--once", "--json"]);
  assertEquals(monitor.code, 0, monitor.stderr);
  const farm = JSON.parse(monitor.stdout);
  assertEquals(farm.master.connected, true);
  assertEquals(farm.slaves.map((s: { label: string }) => s.label), [Deno.hostname().split(".")[0]]);
  assertEquals((await tool("piw-rebuild", ["-y", "home"])).code, 0);
  const pip = combinedLine(`/simple/unit-pure/${pureWheel}`);
  const logger = await tool("piw-logger", ["--drop"], `${pip}\n`);
  assertEquals(logger.code, 0, logger.stderr);
  await systemd.until("piw-logger's record reaches the database", async () => {
    const rows = await queryDb(db.superDsn, "SELECT filename FROM downloads");
    return rows.length === 1 && rows[0]!.filename === pureWheel;
  });

  // SIGTERM: the slave says BYE, the master stops cleanly; neither counts as a failure
  for (const unit of [SLAVE, MASTER]) {
    const state = await systemd.stop(unit);
    assertEquals(
      [state.Result, state.ExecMainStatus, state.NRestarts],
      ["success", "0", "0"],
      `${unit}:\n${await systemd.log(unit)}`,
    );
  }
});

Deno.test("deploy: each setting the slave's unit leaves out stops its sandbox or Deno", async () => {
  // no master: the slave makes its sandbox before it looks for one
  await using systemd = await machine("[slave]\nmaster = 127.0.0.1\n");
  const unit = await deployed(SLAVE);
  const leftOut: [string, RegExp][] = [
    [
      "RestrictNamespaces=yes",
      /cannot make a sandbox here.*No permissions to create new namespace/,
    ],
    ["ProcSubset=pid", /cannot make a sandbox here.*overflowuid/],
    ["SystemCallFilter=~@mount", /cannot make a sandbox here.*Operation not permitted/],
    ["RestrictAddressFamilies=~AF_NETLINK", /cannot make a sandbox here.*NETLINK/],
    ["MemoryDenyWriteExecute=yes", /Fatal error/],
  ];
  for (const [setting, why] of leftOut) {
    await systemd.install(SLAVE, unit, { "left-out": `[Service]\n${setting}\n` });
    await systemd.start(SLAVE);
    // Restart=on-failure: it failed, and systemd waits RestartSec= to start it again
    await systemd.until(
      `the slave fails with ${setting}`,
      async () => (await systemd.state(SLAVE)).SubState === "auto-restart",
    );
    const state = await systemd.state(SLAVE);
    const log = await systemd.log(SLAVE);
    assertEquals([state.Result, state.ExecMainStatus], ["exit-code", "1"], `${setting}:\n${log}`);
    assertMatch(log, why, `${setting}:\n${log}`);
    await systemd.stop(SLAVE);
  }
});

Deno.test("deploy: with the piwheels user's home in /home, the units skip the configuration there", async () => {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  const home = "/home/piwheels";
  await using systemd = await machine(farmSettings(pypi, db), home);
  // the user's own configuration file, where the tools look by default: read, it would stop
  // both (no such option); ProtectHome= makes it unreadable to the units
  const own = `${systemd.dir}${home}/.config/piwheels`;
  await Deno.mkdir(own, { recursive: true });
  await Deno.writeTextFile(
    `${own}/piwheels.conf`,
    "[master]\nfrobnicate = 1\n[slave]\nfrobnicate = 1\n",
  );
  for (const path of [`${own}/..`, own, `${own}/piwheels.conf`]) {
    await Deno.chown(path, systemd.piwheelsId, systemd.piwheelsId);
  }
  await outputPath(systemd);
  await systemd.install(MASTER, await deployed(MASTER));
  await systemd.install(SLAVE, await deployed(SLAVE));
  await systemd.start(MASTER);
  await systemd.start(SLAVE);
  const logged = (unit: string, pattern: RegExp) =>
    systemd.until(`${unit} logs ${pattern}`, async () => {
      const state = await systemd.state(unit);
      if (state.ActiveState !== "active") throw new Error(`${unit} is ${state.SubState}`);
      return pattern.test(await systemd.log(unit));
    }, 120_000);
  await logged(MASTER, /piw-master: ready: /);
  await logged(SLAVE, /connected to the master as slave \d+/);
  for (const unit of [MASTER, SLAVE]) {
    assertStringIncludes(
      await systemd.log(unit),
      `skipped configuration file ${home}/.config/piwheels/piwheels.conf: Permission denied`,
    );
  }
  for (const unit of [SLAVE, MASTER]) {
    const state = await systemd.stop(unit);
    assertEquals([state.Result, state.ExecMainStatus], ["success", "0"], await systemd.log(unit));
  }
});
