/**
 * A workspace is removed whatever the build's code left in it, by a user other than root (the
 * tests run as root, which no directory mode stops, so the removal runs as nobody).
 */

import { assertEquals } from "../tests/assert.ts";

const SCENARIO = `
import { Workspace } from "./workspace.ts";
const ws = await Workspace.create(Deno.args[0]);
// what a build's code can leave in its own directory: a read-only tree (a Go module cache), a
// directory no one may enter, and a link to a directory outside, which must stay as it is
for (const dir of ["cache/mod/x", "locked/inner"]) await Deno.mkdir(ws.home + "/" + dir, { recursive: true });
await Deno.writeTextFile(ws.home + "/cache/mod/x/f", "x");
await Deno.writeTextFile(ws.home + "/locked/inner/f", "x");
await Deno.symlink(Deno.args[1], ws.home + "/outside");
for (const dir of ["cache/mod/x", "cache/mod", "cache"]) await Deno.chmod(ws.home + "/" + dir, 0o500);
await Deno.chmod(ws.home + "/locked", 0o000);
await ws.scrub();
await ws.remove();
console.log(JSON.stringify([...Deno.readDirSync(Deno.args[0])].map((e) => e.name)));
`;

Deno.test("workspace: what a build left is removed, read-only and locked directories too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-workspace-" });
  try {
    // a copy of the module (and what it imports) beside the scenario, where nobody can read it
    for (const module of ["workspace.ts", "tail.ts"]) {
      await Deno.copyFile(new URL(`./${module}`, import.meta.url), `${dir}/${module}`);
    }
    await Deno.writeTextFile(`${dir}/scenario.ts`, SCENARIO);
    for (const sub of ["builds", "outside", "deno"]) await Deno.mkdir(`${dir}/${sub}`);
    await Deno.writeTextFile(`${dir}/outside/keep`, "kept");
    await Deno.chmod(`${dir}/outside`, 0o555);
    const deno = [Deno.execPath(), "run", "--no-lock", "-A", `${dir}/scenario.ts`];
    const args = [...deno, `${dir}/builds`, `${dir}/outside`];
    let command = args;
    if (Deno.uid() === 0) {
      await Deno.chmod(dir, 0o755);
      for (const sub of ["builds", "deno"]) await Deno.chown(`${dir}/${sub}`, 65534, 65534);
      command = ["runuser", "-u", "nobody", "--", ...args];
    }
    const out = await new Deno.Command(command[0]!, {
      args: command.slice(1),
      env: { DENO_DIR: `${dir}/deno`, NO_COLOR: "1" },
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertEquals(new TextDecoder().decode(out.stdout).trim(), "[]");
    assertEquals(await Deno.readTextFile(`${dir}/outside/keep`), "kept");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
