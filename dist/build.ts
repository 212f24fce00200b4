/**
 * `deno task dist`: one executable file per tool and target under `dist/<target>/`, with a
 * `SHA256SUMS` beside them. Each tool's entry module and Deno flags come from
 * `shared/flags.ts`, the one declaration the tests, launchers and systemd units use too.
 *
 * - Where `deno compile` can get its `denort` runtime for the target (`DENORT_BIN`, or Deno's
 *   own cache), each tool is compiled with `--target`, `--no-prompt` and its flags.
 * - Where it cannot (our machines reach only the npm registry), each tool is a self-contained
 *   executable all the same: `dist/launcher.sh` followed by a gzipped tar of the target's Deno
 *   runtime (npm `@deno/linux-x64-glibc` / `@deno/linux-arm64-glibc`) and every tool bundled by
 *   `deno bundle` (one payload, identical for all the tools of a target, so a machine unpacks
 *   it once). The launcher runs the tool's entry with its flags.
 *
 * Usage: deno task dist [--target x86_64-linux|aarch64-linux]...
 *
 * @module
 */

import { TOOLS } from "../shared/flags.ts";
import { sha256File, sha256Hex } from "../shared/hash.ts";
import { VERSION } from "../shared/version.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DIST = `${ROOT}/dist`;

/** The targets, with Deno's name for them and the npm package of their runtime. */
export const TARGETS = {
  "x86_64-linux": { deno: "x86_64-unknown-linux-gnu", npm: "@deno/linux-x64-glibc" },
  "aarch64-linux": { deno: "aarch64-unknown-linux-gnu", npm: "@deno/linux-arm64-glibc" },
} as const;

/** A target's name. */
export type Target = keyof typeof TARGETS;

/** The files PGlite loads beside its own module at run time (embedded databases). */
const PGLITE_ASSETS = ["pglite.wasm", "pglite.data", "initdb.wasm"];

async function run(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function say(message: string): void {
  console.error(`dist: ${message}`);
}

/** The Deno version this checkout pins (package.json), which every runtime must match. */
async function denoVersion(): Promise<string> {
  const pkg = JSON.parse(await Deno.readTextFile(`${ROOT}/package.json`));
  return pkg.devDependencies.deno as string;
}

/** The path of the target's Deno runtime, fetched from npm into `dist/.cache` if needed. */
async function runtime(target: Target, version: string): Promise<string> {
  const { npm } = TARGETS[target];
  const local = `${ROOT}/node_modules/${npm}`;
  try {
    const pkg = JSON.parse(await Deno.readTextFile(`${local}/package.json`));
    if (pkg.version === version) return `${local}/deno`;
  } catch {
    // not installed for this machine: fetch it
  }
  const dir = `${DIST}/.cache/${npm.replace("/", "_")}-${version}`;
  const binary = `${dir}/package/deno`;
  if (await Deno.stat(binary).then(() => true, () => false)) return binary;
  await Deno.mkdir(dir, { recursive: true });
  say(`fetching ${npm}@${version} from the npm registry`);
  const tgz =
    (await run("npm", ["pack", `${npm}@${version}`, "--pack-destination", dir, "--silent"]))
      .trim().split("\n").at(-1)!;
  await run("tar", ["-xzf", `${dir}/${tgz}`, "-C", dir]);
  await Deno.chmod(binary, 0o755);
  return binary;
}

/** Where `deno compile` would find its runtime for the target, if anywhere. */
async function denort(target: Target): Promise<string | null> {
  const explicit = Deno.env.get("DENORT_BIN");
  if (explicit) return explicit;
  const dir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  const candidate = `${dir}/dl/release/v${Deno.version.deno}/denort-${TARGETS[target].deno}.zip`;
  return await Deno.stat(candidate).then(() => candidate, () => null);
}

/** Bundles every tool's entry (and the Workers they start) into `dir`, sharing chunks. */
async function bundle(dir: string): Promise<void> {
  const entries = new Set<string>();
  for (const tool of Object.values(TOOLS)) entries.add(tool.entry);
  for await (const e of Deno.readDir(`${ROOT}/master/tasks`)) {
    if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      entries.add(`master/tasks/${e.name}`);
    }
  }
  for await (const e of Deno.readDir(`${ROOT}/master/workers`)) {
    if (e.name.endsWith(".ts")) entries.add(`master/workers/${e.name}`);
  }
  entries.add("slave/worker.ts");
  entries.add("tools/logger_worker.ts");
  await run(Deno.execPath(), [
    "bundle",
    "--platform",
    "deno",
    "--code-splitting",
    "--outdir",
    dir,
    ...entries,
  ]);
  const pglite = `${ROOT}/node_modules/@electric-sql/pglite/dist`;
  for (const asset of PGLITE_ASSETS) await Deno.copyFile(`${pglite}/${asset}`, `${dir}/${asset}`);
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(`${dir}/${e.name}`, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Files from this size up are checked at each start by their size and first {@linkcode HEAD}. */
const HEAD = 1048576;

/** The SHA-256 of a file's first {@linkcode HEAD} bytes, in hex. */
async function headHash(path: string): Promise<string> {
  const head = new Uint8Array(HEAD);
  using file = await Deno.open(path);
  let got = 0;
  while (got < head.length) {
    const n = await file.read(head.subarray(got));
    if (n === null) break;
    got += n;
  }
  return sha256Hex(head.subarray(0, got));
}

/**
 * The payload of a target: its runtime and the bundle, with the manifests the launcher checks
 * (`MANIFEST.full`: every file's SHA-256, once, at unpacking; at each start, `MANIFEST` for the
 * small files, the code, and `MANIFEST.large` for the large ones, the runtime and PGlite's
 * assets: their size and the SHA-256 of their first MiB, since hashing 60 MB on every start
 * would cost more than starting). Returns the gzipped tar's path, and the SHA-256 of `MANIFEST`
 * and `MANIFEST.large` together, which the launcher holds (so that the copy in the cache cannot
 * vouch for itself).
 */
async function payload(work: string, target: Target, runtimePath: string, bundleDir: string) {
  const root = `${work}/${target}`;
  await Deno.mkdir(root, { recursive: true });
  await Deno.copyFile(runtimePath, `${root}/deno`);
  await Deno.chmod(`${root}/deno`, 0o755);
  await run("cp", ["-r", bundleDir, `${root}/bundle`]);
  const files = (await listFiles(root)).filter((f) => !f.startsWith("MANIFEST"));
  const sizes = new Map(
    await Promise.all(files.map(async (f) => [f, (await Deno.stat(`${root}/${f}`)).size] as const)),
  );
  const line = async (f: string) => `${await sha256File(`${root}/${f}`)}  ${f}\n`;
  const largeLine = async (f: string) => `${sizes.get(f)} ${await headHash(`${root}/${f}`)} ${f}\n`;
  const small = files.filter((f) => sizes.get(f)! < HEAD);
  const large = files.filter((f) => sizes.get(f)! >= HEAD);
  const manifest = (await Promise.all(small.map(line))).join("");
  const manifestLarge = (await Promise.all(large.map(largeLine))).join("");
  await Deno.writeTextFile(`${root}/MANIFEST`, manifest);
  await Deno.writeTextFile(`${root}/MANIFEST.large`, manifestLarge);
  await Deno.writeTextFile(`${root}/MANIFEST.full`, (await Promise.all(files.map(line))).join(""));
  const tgz = `${work}/${target}.tar.gz`;
  // the same code makes the same payload (whose SHA-256 names its copy in each machine's cache):
  // names in order, no time or owner of this build's files, none in gzip's header either
  await run("tar", [
    ...["-cf", tgz, "--use-compress-program=gzip -n", "--sort=name", "--mtime=@0"],
    ...["--owner=0", "--group=0", "--numeric-owner", "--mode=u+w,go-w", "-C", root, "."],
  ]);
  return { tgz, manifests: sha256Hex(new TextEncoder().encode(manifest + manifestLarge)) };
}

/** The launcher header for a tool, with the payload's offset filled in. */
function header(
  template: string,
  values: Record<string, string>,
): Uint8Array {
  const fill = (offset: string) =>
    template.replace(
      /@([A-Z0-9_]+)@/g,
      (m, k: string) => (k === "OFFSET" ? offset : values[k] ?? m),
    );
  // the offset is written with a fixed width, so the header's length does not depend on it
  const length = new TextEncoder().encode(fill("0000000000")).length;
  return new TextEncoder().encode(fill(String(length + 1).padStart(10, "0")));
}

/** Builds the self-contained executables of a target. */
async function selfContained(target: Target, version: string, work: string, bundleDir: string) {
  const out = `${DIST}/${target}`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const { tgz, manifests } = await payload(
    work,
    target,
    await runtime(target, version),
    bundleDir,
  );
  const payloadBytes = await Deno.readFile(tgz);
  const sha = await sha256File(tgz);
  const template = await Deno.readTextFile(`${DIST}/launcher.sh`);
  for (const [name, tool] of Object.entries(TOOLS)) {
    const head = header(template, {
      TOOL: name,
      VERSION,
      TARGET: target,
      SHA256: sha,
      MANIFESTS: manifests,
      ENTRY: tool.entry.replace(/\.ts$/, ".js"),
      FLAGS: tool.flags.join(" "),
    });
    const path = `${out}/${name}`;
    const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o755 });
    await file.write(head);
    for (let at = 0; at < payloadBytes.length;) at += await file.write(payloadBytes.subarray(at));
    file.close();
    await Deno.chmod(path, 0o755);
  }
  say(
    `${target}: ${Object.keys(TOOLS).length} self-contained executables (${
      (payloadBytes.length / 2 ** 20).toFixed(1)
    } MiB payload each)`,
  );
}

/** Builds the tools of a target with `deno compile` and the given runtime. */
async function compiled(target: Target, runtimeZip: string) {
  const out = `${DIST}/${target}`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const workers = ["master/workers", "master/tasks", "slave/worker.ts"];
  for (const [name, tool] of Object.entries(TOOLS)) {
    await run(Deno.execPath(), [
      "compile",
      "--target",
      TARGETS[target].deno,
      ...tool.flags,
      ...workers.flatMap((w) => ["--include", w]),
      "--include",
      "node_modules/@electric-sql/pglite/dist",
      "--output",
      `${out}/${name}`,
      tool.entry,
    ]);
  }
  say(`${target}: ${Object.keys(TOOLS).length} executables compiled with ${runtimeZip}`);
}

async function sums(target: Target): Promise<void> {
  const dir = `${DIST}/${target}`;
  const lines = [];
  for (const name of Object.keys(TOOLS).sort()) {
    lines.push(`${await sha256File(`${dir}/${name}`)}  ${name}`);
  }
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, `${lines.join("\n")}\n`);
}

async function main(args: string[]): Promise<void> {
  const targets: Target[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target" && args[i + 1] && args[i + 1]! in TARGETS) {
      targets.push(args[++i] as Target);
    } else throw new Error(`usage: deno task dist [--target ${Object.keys(TARGETS).join("|")}]...`);
  }
  if (targets.length === 0) targets.push(...Object.keys(TARGETS) as Target[]);
  const version = await denoVersion();
  const work = await Deno.makeTempDir({ prefix: "piwheels-dist-" });
  try {
    let bundled: string | null = null;
    for (const target of targets) {
      const rt = await denort(target);
      if (rt) {
        await compiled(target, rt);
      } else {
        say(
          `${target}: no denort runtime for deno compile here; building self-contained executables`,
        );
        if (!bundled) {
          bundled = `${work}/bundle`;
          await bundle(bundled);
        }
        await selfContained(target, version, work, bundled);
      }
      await sums(target);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
