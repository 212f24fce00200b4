/**
 * The farm with CURVE on its slave and file queues (`--curve-key`, `--curve-clients`), all real:
 * keys made as piw-keygen makes them, the real piw-master on PostgreSQL, our piw-slave and a
 * Python slave through libzmq's CURVE build and upload, piw-import uploads with its key, and pip
 * installs what they sent. A slave that speaks plain ZMTP, or whose key is not listed, gets
 * nothing (the master warns once, however often it retries) until its certificate is dropped
 * into the allow-list directory.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { eventually, startFarm, startSlave } from "../farm.ts";
import { pipInstall } from "../fixtures/pip_install.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { python, runTool } from "../process.ts";
import { basename } from "node:path";
import { type CertificateFiles, writeCertificates } from "../../shared/curve_keys.ts";

/** How many lines of `log` match `pattern`, and how many of those are warnings. */
function lines(log: string, pattern: RegExp): { all: number; warnings: number } {
  const found = log.split("\n").filter((l) => pattern.test(l));
  return { all: found.length, warnings: found.filter((l) => /\bwarning:/i.test(l)).length };
}

Deno.test("CURVE: keyed slaves and piw-import are let in, NULL and unlisted keys are not", async (t) => {
  const keys = await Deno.makeTempDir({ prefix: "piw-curve-test-" });
  const clients = `${keys}/clients`;
  await Deno.mkdir(clients);
  const master = await writeCertificates(keys, "master");
  const slave = await writeCertificates(keys, "slave");
  const pySlave = await writeCertificates(keys, "py-slave");
  const importer = await writeCertificates(keys, "importer");
  const late = await writeCertificates(keys, "late");
  for (const files of [slave, pySlave, importer]) {
    await Deno.copyFile(files.publicFile, `${clients}/${basename(files.publicFile)}`);
  }
  const keyed = (who: CertificateFiles) => [
    "--curve-key",
    who.secretFile,
    "--curve-master-key",
    master.publicFile,
  ];
  await using farm = await startFarm({
    args: ["--curve-key", master.secretFile, "--curve-clients", clients],
  });
  const { pypi, master: run } = farm;
  try {
    await t.step("our slave with its key builds and uploads; pip installs it", async () => {
      await pypi.release("curve-pure", "1.0");
      await using s = await startSlave({ master: run, label: "keyed", args: keyed(slave) });
      await run.waitForFile(
        "simple/curve-pure/index.html",
        "curve_pure-1.0-py3-none-any.whl",
        120_000,
      ).catch((e) => {
        throw new Error(`${e.message}\nthe slave logged:\n${s.stderr}`);
      });
      const python = await pipInstall(run.output, run.dir, ["curve-pure"]);
      const shown = await new Deno.Command(python, {
        args: ["-c", "import curve_pure; print(curve_pure.VERSION)"],
      }).output();
      assertEquals(new TextDecoder().decode(shown.stdout).trim(), "1.0");
      assertEquals((await s.stop()).code, 0, s.stderr);
    });

    await t.step("a Python slave through libzmq's CURVE builds and uploads", async () => {
      await pypi.release("curve-py", "2.0");
      const wheel = `${run.dir}/curve-py.whl`;
      const out = await python("python_slave.py", [
        run.slaveQueue,
        run.fileQueue,
        "curve-py",
        "2.0",
        wheel,
        pySlave.secretFile,
        master.publicFile,
      ]);
      assertEquals(out.code, 0, `${out.stdout}${out.stderr}\nmaster:\n${run.stderr}`);
      const { filename } = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
      await run.waitForFile("simple/curve-py/index.html", filename);
    });

    await t.step(
      "piw-import uploads with its key; half of the options is a usage error",
      async () => {
        pypi.binaryRelease("curve-imported", "3.0");
        await run.waitForFile("project/curve-imported/index.html");
        const w = makeWheel("curve-imported", "3.0");
        const path = `${run.dir}/${w.filename}`;
        await Deno.writeFile(path, w.bytes);
        const queues = ["--import-queue", run.importQueue, "--file-queue", run.fileQueue];
        const alone = await runTool("piw-import", [
          ...queues,
          "--curve-key",
          importer.secretFile,
          "-y",
          "--abi",
          "cp311",
          path,
        ]);
        assertEquals(alone.code, 2, alone.stderr);
        assertStringIncludes(alone.stderr, "--curve-key and --curve-master-key go together");
        const ok = await runTool("piw-import", [
          ...queues,
          ...keyed(importer),
          "-y",
          "--abi",
          "cp311",
          path,
        ]);
        assertEquals(ok.code, 0, `${ok.stderr}\nmaster:\n${run.stderr}`);
        await run.waitForFile("simple/curve-imported/index.html", w.filename);
      },
    );

    await t.step("a slave speaking plain ZMTP gets nothing; the master warns once", async () => {
      const mismatch = /the peer's security mechanism is "NULL", and ours CURVE/;
      await using s = await startSlave({ master: run, label: "plain", masterTimeout: "5s" });
      await s.waitForLog(/cannot reach the master at/);
      // it retried, and retried again: one warning, the rest for debugging
      await eventually(
        "the plain slave retried twice",
        () => Promise.resolve(lines(run.stderr, mismatch).all >= 3),
      );
      assertEquals(lines(run.stderr, mismatch).warnings, 1, run.stderr);
      assert(!/\(plain\)/.test(run.stderr), "the plain slave was never known");
      assertEquals((await s.stop()).code, 0, s.stderr);
    });

    await t.step("an unlisted key is refused until its certificate is dropped in", async () => {
      await using s = await startSlave({ master: run, label: "late", args: keyed(late) });
      await s.waitForLog(/the peer sent ERROR "400" \(it does not allow our key\)/);
      const refused = new RegExp(`client key "${RegExp.escape(late.publicKey)}" is not authorised`);
      await run.waitForLog(refused);
      assert(!/connected to the master/.test(s.stderr), s.stderr);
      await Deno.copyFile(late.publicFile, `${clients}/late.key`);
      await s.waitForLog(/connected to the master as slave \d+/);
      await run.waitForLog(/CURVE allow-list: 1 new key/);
      assertEquals(lines(run.stderr, refused).warnings, 1, run.stderr);
      assertEquals((await s.stop()).code, 0, s.stderr);
    });
  } finally {
    await Deno.remove(keys, { recursive: true });
  }
});

Deno.test("CURVE: the master refuses to start with half of it, or a key it cannot use", async () => {
  const keys = await Deno.makeTempDir({ prefix: "piw-curve-test-" });
  try {
    const master = await writeCertificates(keys, "master");
    const cases: [string[], string][] = [
      [["--curve-key", master.secretFile], "--curve-key and --curve-clients go together"],
      [["--curve-clients", keys], "--curve-key and --curve-clients go together"],
      [
        ["--curve-key", master.publicFile, "--curve-clients", keys],
        "a public certificate, where the secret one is needed",
      ],
      [["--curve-key", master.secretFile, "--curve-clients", `${keys}/none`], "cannot read"],
    ];
    for (const [args, message] of cases) {
      const r = await runTool("piw-master", [
        "-d",
        `pglite://${keys}/db`,
        "-o",
        `${keys}/www`,
        "--control-queue",
        `ipc://${keys}/control`,
        "--status-queue",
        `ipc://${keys}/status`,
        ...args,
      ]);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertStringIncludes(r.stderr, message);
    }
  } finally {
    await Deno.remove(keys, { recursive: true });
  }
});
