/**
 * What Deno's path permissions cost the Scribe's page writes: the same loop of atomic page
 * writes (`writeAtomicSync`: a temporary file beside the page, then a rename) run in a child with
 * the Scribe's kind of permissions (read and write scoped to the output directory) and in one with
 * `--allow-all`, taking turns. Under any scoped file permission, Deno resolves every component of
 * each path it checks (a `readlink` each) before the call, to guard `/proc`, `/dev` and `/sys`;
 * `--allow-all` skips that. A page costs three checked paths: the temporary file, and both of
 * the rename's. Prints the medians of `--runs` runs (default 5) in µs per page, and the ratio.
 *
 * Run: deno run -A tests/bench/page_write_permissions.ts [--runs 5] [--dir /mnt/ram]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { median } from "./median.ts";

const PAGES = 10_000;

/** The child: writes PAGES pages under `root` as the Scribe lays them out; prints µs per page. */
async function child(root: string): Promise<void> {
  const { writeAtomicSync } = await import("../../master/atomic_write.ts");
  const page = "<p>a project page</p>\n".repeat(150);
  for (let i = 0; i < PAGES / 2; i++) {
    Deno.mkdirSync(`${root}/project/p-${i}/json`, { recursive: true });
  }
  const start = performance.now();
  for (let i = 0; i < PAGES / 2; i++) {
    writeAtomicSync(`${root}/project/p-${i}/index.html`, page);
    writeAtomicSync(`${root}/project/p-${i}/json/index.json`, page);
  }
  console.log(((performance.now() - start) * 1000 / PAGES).toFixed(2));
}

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    child: { type: "string" },
    runs: { type: "string", default: "5" },
    dir: { type: "string" },
  },
});

if (opts.child) {
  await child(opts.child);
} else {
  const modes: Record<string, (root: string) => string[]> = {
    "scoped to the output": (root) => [`--allow-read=${root}`, `--allow-write=${root}`],
    "--allow-all": () => ["--allow-all"],
  };
  const results: Record<string, number[]> = {};
  for (let run = 0; run < Number(opts.runs); run++) {
    for (const [mode, flags] of Object.entries(modes)) {
      const root = Deno.makeTempDirSync({ prefix: "piw-pages-", dir: opts.dir });
      try {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-prompt", ...flags(root), import.meta.filename!, "--child", root],
          stderr: "inherit",
        }).output();
        if (!out.success) throw new Error(`the child (${mode}) failed`);
        (results[mode] ??= []).push(Number(new TextDecoder().decode(out.stdout).trim()));
      } finally {
        Deno.removeSync(root, { recursive: true });
      }
    }
  }
  const [scoped, all] = Object.values(results).map(median) as [number, number];
  console.log(`| permissions | µs per page (median of ${opts.runs}) |`);
  console.log("| --- | ---: |");
  for (const [mode, xs] of Object.entries(results)) {
    console.log(
      `| ${mode} | ${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${
        Math.max(...xs).toFixed(1)
      }) |`,
    );
  }
  console.log(`| ratio | ${(scoped / all).toFixed(2)} |`);
}
