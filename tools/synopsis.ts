/**
 * Development, not a piwheels tool: writes each tool's `--help` into the README's synopsis
 * blocks, so that the README says what the commander definitions say. A block is
 *
 * ````md
 * <!-- synopsis:piw-master -->
 *
 * ```text
 * (piw-master --help, as the tool prints it to a pipe: 80 columns, no colour)
 * ```
 *
 * <!-- /synopsis -->
 * ````
 *
 * Run `deno task readme` after changing an option; `tools/synopsis_test.ts` fails while the
 * README and `--help` differ.
 *
 * @module
 */

import { TOOLS } from "../shared/flags.ts";

/** A tool's name, as `shared/flags.ts` lists it. */
export type ToolName = keyof typeof TOOLS;

const ROOT = new URL("..", import.meta.url);
const BLOCK = /<!-- synopsis:([a-z-]+) -->\n[\s\S]*?<!-- \/synopsis -->/g;

/** Runs a tool from this checkout with its flags and `--help`; its output. */
export async function helpOf(name: ToolName): Promise<string> {
  const tool = TOOLS[name];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${new URL("deno.json", ROOT).pathname}`,
      ...tool.flags,
      new URL(tool.entry, ROOT).pathname,
      "--help",
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`${name} --help failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/**
 * `readme` with every synopsis block holding `help` of its tool. Throws for a block of no
 * tool, and for a tool without a block.
 */
export function withSynopses(readme: string, help: Partial<Record<ToolName, string>>): string {
  const seen = new Set<string>();
  const out = readme.replace(BLOCK, (_, name: string) => {
    const text = help[name as ToolName];
    if (text === undefined) throw new Error(`the README has a synopsis block of ${name}: no tool`);
    seen.add(name);
    return `<!-- synopsis:${name} -->\n\n\`\`\`text\n${text.trimEnd()}\n\`\`\`\n\n<!-- /synopsis -->`;
  });
  const missing = Object.keys(help).filter((name) => !seen.has(name));
  if (missing.length) throw new Error(`the README has no synopsis block of ${missing.join(", ")}`);
  return out;
}

/** The README as it should be: its synopsis blocks holding every tool's `--help` now. */
export async function currentReadme(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const help: Partial<Record<ToolName, string>> = {};
  for (const name of Object.keys(TOOLS) as ToolName[]) help[name] = await helpOf(name);
  return withSynopses(readme, help);
}

if (import.meta.main) {
  await Deno.writeTextFile(new URL("README.md", ROOT), await currentReadme());
}
