/**
 * What a wheel needs installed besides Python: the Debian packages that provide the shared
 * libraries its compiled modules link against, as the project pages show them
 * (`{"apt": ["libc6", "libssl3"]}`). The wheel's `.so` files are extracted and given to `ldd`
 * in the sandbox (ldd runs the dynamic loader on them, and the files are the build's work);
 * `dpkg -S` then names the packages owning the libraries, reading only its own database.
 *
 * @module
 */

import { Duration } from "../shared/duration.ts";
import type { Dependencies } from "../shared/states.ts";
import type { Interpreter } from "./interpreter.ts";
import type { Sandbox } from "./sandbox.ts";
import { TailBuffer } from "./tail.ts";
import type { Workspace } from "./workspace.ts";

/** Debian's package manager. */
export const DPKG = "/usr/bin/dpkg";

/** How long listing a wheel's libraries may take. */
const SCAN_TIMEOUT = Duration.of({ minutes: 2 });
/** How much of ldd's output is read. */
const SCAN_OUTPUT_LIMIT = 4 * 1024 * 1024;

/** Run by the build's interpreter: extracts the wheel's shared objects and runs ldd on them. */
const EXTRACT_AND_LDD = `
import os, shutil, sys, tempfile, zipfile
out = tempfile.mkdtemp()
libs = []
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for n, info in enumerate(wheel.infolist()):
        name = info.filename.rsplit("/", 1)[-1]
        if name.endswith(".so") or ".so." in name:
            libs.append(os.path.join(out, "%d.so" % n))
            with wheel.open(info) as src, open(libs[-1], "wb") as dst:
                shutil.copyfileobj(src, dst)
if libs:
    os.execvp("ldd", ["ldd"] + libs)
`;

/** Where one wheel's dependencies are found. */
export interface DependencyScan {
  /** The wheel (in the workspace). */
  wheel: string;
  /** The interpreter that extracts it. */
  interpreter: Interpreter;
  /** The sandbox ldd runs in. */
  sandbox: Sandbox;
  /** The build's workspace. */
  workspace: Workspace;
  /** Stops the scan. */
  signal?: AbortSignal;
}

/**
 * The apt packages providing the libraries the wheel's shared objects link against:
 * `{ apt: [...] }`, or `{}` for a wheel without any (pure Python) or where ldd or dpkg are
 * missing.
 */
export async function findDependencies(scan: DependencyScan): Promise<Dependencies> {
  const output = new TailBuffer(SCAN_OUTPUT_LIMIT);
  const done = await scan.sandbox.run({
    command: [scan.interpreter.path, "-I", "-c", EXTRACT_AND_LDD, scan.wheel],
    workspace: scan.workspace,
    network: !scan.sandbox.canCutNetwork,
    readOnly: scan.interpreter.prefixes,
    timeout: SCAN_TIMEOUT,
    signal: scan.signal,
    output,
  });
  if (done.ended !== "exited") return {};
  const libraries = lddLibraries(output.text());
  if (libraries.length === 0) return {};
  const packages = await owningPackages(libraries);
  return packages.length ? { apt: packages } : {};
}

/** The libraries' absolute paths in ldd's output (`name => /path (0x…)`, `/path (0x…)`). */
export function lddLibraries(output: string): string[] {
  const found = new Set<string>();
  for (const line of output.split("\n")) {
    const m = /^\s+(?:\S+ => )?(\/[^\s()]+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) found.add(m[1]!);
  }
  return [...found].sort();
}

/**
 * The Debian packages that own any of the paths, by `dpkg -S`. On a merged-/usr system ldd
 * names `/lib/…` where dpkg may know `/usr/lib/…` (or the reverse), so both are asked.
 */
export async function owningPackages(paths: readonly string[]): Promise<string[]> {
  const asked = new Set<string>();
  for (const path of paths) {
    if (!/^\/[\w.+\-/]+$/.test(path)) continue; // no patterns: dpkg -S would expand them
    asked.add(path);
    asked.add(path.startsWith("/usr/") ? path.slice(4) : `/usr${path}`);
  }
  if (asked.size === 0) return [];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(DPKG, {
      args: ["-S", ...asked],
      clearEnv: true,
      env: { LANG: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return []; // not a Debian system
    throw e;
  }
  const packages = new Set<string>();
  // "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6", "a:arm64, b:arm64: /path"; not "diversion …"
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const end = line.indexOf(": /");
    if (end < 0 || line.startsWith("diversion by ")) continue;
    for (const p of line.slice(0, end).split(", ")) packages.add(p.replace(/:.*$/, ""));
  }
  return [...packages].sort();
}
