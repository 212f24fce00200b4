import { assert, assertEquals } from "../tests/assert.ts";
import { PYTHON, run } from "../tests/process.ts";
import { lddLibraries, owningPackages } from "./dependencies.ts";

Deno.test("lddLibraries reads the resolved paths of ldd's output, for one file or several", () => {
  const output = [
    "/tmp/x/0.so:",
    "\tlinux-vdso.so.1 (0x00007ffd6b5f2000)",
    "\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f53896e7000)",
    "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f538901e000)",
    "\tlibmissing.so.1 => not found",
    "\t/lib64/ld-linux-x86-64.so.2 (0x00007f53897d8000)",
    "/tmp/x/1.so:",
    "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f538901e000)",
    "\tstatically linked",
  ].join("\n");
  assertEquals(lddLibraries(output), [
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libssl.so.3",
    "/lib64/ld-linux-x86-64.so.2",
  ]);
  assertEquals(lddLibraries("\tnot a dynamic executable\n"), []);
});

Deno.test("owningPackages names the Debian packages of the libraries Python links against", async () => {
  const ldd = await run("/usr/bin/ldd", [PYTHON]);
  const libraries = lddLibraries(ldd.stdout);
  assert(libraries.some((l) => l.endsWith("/libc.so.6")), ldd.stdout);
  const packages = await owningPackages(libraries);
  assert(packages.includes("libc6"), packages.join(" "));
  assertEquals(packages, [...new Set(packages)].sort());
  assert(packages.every((p) => /^[a-z0-9][a-z0-9+.-]+$/.test(p)), "no :arch suffixes");
});

Deno.test("owningPackages finds a library under /usr or not, whichever dpkg recorded", async () => {
  const python = (await run("/usr/bin/readlink", ["-f", PYTHON])).stdout.trim();
  assert(python.startsWith("/usr/bin/"), python);
  const owner = await owningPackages([python]);
  assertEquals(owner.length, 1, owner.join(" "));
  assertEquals(await owningPackages([python.slice(4)]), owner); // as /bin/python3.11
});

Deno.test("owningPackages asks nothing for patterns, and nothing owns an unknown path", async () => {
  assertEquals(await owningPackages(["/lib/*/libc.so.6", "libc.so.6", "-l"]), []);
  assertEquals(await owningPackages(["/nonexistent/libnothing.so.1"]), []);
});
