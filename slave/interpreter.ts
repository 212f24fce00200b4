/**
 * The Python interpreter a slave builds with, and the tags it builds for. The interpreter is a
 * setting (an absolute path), so one machine can build for several ABIs by pointing slaves at
 * different interpreters; the tags go into the slave's HELLO.
 *
 * @module
 */

/** Raised when a path is not a working Python interpreter. */
export class InterpreterError extends Error {
  override name = "InterpreterError";
}

/** The tags a slave announces in its HELLO. */
export interface InterpreterTags {
  /** The Python version without a dot: `"311"`. */
  pyVersionTag: string;
  /** The ABI tag of extension modules it builds: `"cp311"`. */
  abiTag: string;
  /** The native platform tag of the wheels it builds: `"linux_x86_64"`, `"linux_armv7l"`. */
  platformTag: string;
}

/** A probed interpreter: its path, its tags, and the directories it runs from. */
export interface Interpreter extends InterpreterTags {
  /** The absolute path it was probed at. */
  readonly path: string;
  /**
   * Its installation prefixes (`sys.prefix`, `sys.base_prefix`, …): a sandbox must show them
   * read-only when they lie outside the system directories (a venv, a pyenv build, /opt).
   */
  readonly prefixes: readonly string[];
}

/**
 * Printed by the interpreter: its tags as `bdist_wheel` computes them (the ABI from `SOABI`,
 * the platform from `sysconfig.get_platform()` with a 32-bit userland on a 64-bit kernel
 * named as its own architecture), and its prefixes.
 */
const PROBE = `
import json, sys, sysconfig
soabi = sysconfig.get_config_var("SOABI") or ""
if sys.implementation.name == "cpython" and soabi.startswith("cpython-"):
    abi = "cp" + soabi.split("-")[1]
elif sys.implementation.name == "pypy" and soabi:
    abi = "_".join(soabi.split("-")[:2]).replace(".", "_")
elif soabi:
    abi = soabi.replace(".", "_").replace("-", "_")
else:
    abi = "none"
platform = sysconfig.get_platform()
if sys.maxsize <= 2**32:
    native = {"linux-x86_64": "linux-i686", "linux-aarch64": "linux-armv7l"}
    platform = native.get(platform, platform)
print(json.dumps({
    "pyVersionTag": "%d%d" % sys.version_info[:2],
    "abiTag": abi,
    "platformTag": platform.replace("-", "_").replace(".", "_"),
    "prefixes": sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}),
}))
`;

/** How long an interpreter may take to answer. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * Asks the interpreter at `path` (absolute) for its tags and prefixes. Throws
 * {@linkcode InterpreterError} when the path is relative, cannot be run, or does not answer as a
 * Python 3 interpreter does.
 */
export async function probeInterpreter(path: string): Promise<Interpreter> {
  if (!path.startsWith("/")) {
    throw new InterpreterError(`the interpreter must be an absolute path: ${path}`);
  }
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(path, {
      args: ["-I", "-c", PROBE],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), // what is not Python may never end
    }).output();
  } catch (e) {
    throw new InterpreterError(
      `cannot run ${path} as a Python interpreter: ${(e as Error).message}`,
    );
  }
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const why = out.success
    ? `it printed ${JSON.stringify(stdout.slice(0, 200))}`
    : `it exited with ${out.code}: ${new TextDecoder().decode(out.stderr).trim().slice(0, 500)}`;
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    answer = null;
  }
  if (!out.success || !isAnswer(answer)) {
    throw new InterpreterError(`${path} is not a working Python 3 interpreter: ${why}`);
  }
  return { path, ...answer };
}

function isAnswer(a: unknown): a is InterpreterTags & { prefixes: string[] } {
  if (typeof a !== "object" || a === null) return false;
  const o = a as Record<string, unknown>;
  const tag = (v: unknown) => typeof v === "string" && /^[A-Za-z0-9_.]+$/.test(v);
  return tag(o.pyVersionTag) && tag(o.abiTag) && tag(o.platformTag) &&
    Array.isArray(o.prefixes) && o.prefixes.every((p) => typeof p === "string");
}
