import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { makeVenv } from "../tests/fixtures/builds.ts";
import { PYTHON, run } from "../tests/process.ts";
import { InterpreterError, probeInterpreter } from "./interpreter.ts";

/** pip's own view of the interpreter: its most specific tag, and the native platform. */
async function pipView(python: string): Promise<{ interpreter: string; abi: string }> {
  const out = await run(python, [
    "-c",
    "from pip._vendor.packaging.tags import sys_tags; t = next(iter(sys_tags()));" +
    "print(t.interpreter, t.abi)",
  ]);
  const [interpreter = "", abi = ""] = out.stdout.trim().split(" ");
  return { interpreter, abi };
}

Deno.test("the tags of Debian's Python are those pip installs for", async () => {
  const python = await probeInterpreter(PYTHON);
  const pip = await pipView(PYTHON);
  assertEquals(python.path, PYTHON);
  assertEquals(`cp${python.pyVersionTag}`, pip.interpreter);
  assertEquals(python.abiTag, pip.abi);
  const platform = await run(PYTHON, ["-c", "import sysconfig; print(sysconfig.get_platform())"]);
  assertEquals(python.platformTag, platform.stdout.trim().replace(/[-.]/g, "_"));
  assertEquals(python.prefixes, ["/usr"]);
  if (Deno.build.arch === "x86_64") {
    assertEquals([python.pyVersionTag, python.abiTag, python.platformTag], [
      "311",
      "cp311",
      "linux_x86_64",
    ]);
  }
});

Deno.test("a venv's interpreter names its own prefix beside the system's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const python = await probeInterpreter(await makeVenv(`${dir}/venv`));
    assertEquals(python.prefixes, [`${dir}/venv`, "/usr"].sort());
    assertEquals(python.abiTag, (await probeInterpreter(PYTHON)).abiTag);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("what is not a working Python interpreter is refused, saying why", async () => {
  const refuse = async (path: string, why: string) => {
    const e = await assertRejects(() => probeInterpreter(path), InterpreterError);
    assert(e.message.includes(path), e.message);
    assert(e.message.includes(why), `${e.message} should say ${why}`);
  };
  await refuse("python3", "absolute path");
  await refuse("/nonexistent/python3", "cannot run");
  await refuse("/usr/bin/true", 'not a working Python 3 interpreter: it printed ""');
  await refuse("/usr/bin/false", "exited with 1");
  await refuse("/etc", "cannot run");
});
