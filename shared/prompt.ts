/**
 * Asking the operator before doing something permanent (`-y` skips the question).
 *
 * @module
 */

import { type Logger, terminalSafe } from "./log.ts";

/**
 * Asks a yes/no question on the terminal and resolves to the answer; `defaultYes` is taken on
 * an empty line. Without a terminal on stdin nobody can answer, so it resolves to false (the
 * tools say to use `-y` for batch runs).
 */
export async function confirm(question: string, defaultYes = false): Promise<boolean> {
  if (!Deno.stdin.isTerminal()) return false;
  const hint = defaultYes ? "[Y/n]" : "[y/N]";
  await Deno.stdout.write(new TextEncoder().encode(`${terminalSafe(question)} ${hint} `));
  const buf = new Uint8Array(1024);
  let line = "";
  const decoder = new TextDecoder();
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    line += decoder.decode(buf.subarray(0, n), { stream: true });
    if (line.includes("\n")) break;
  }
  const answer = line.trim().toLowerCase();
  if (answer === "") return defaultYes;
  return answer === "y" || answer === "yes";
}

/**
 * Whether an admin tool may go ahead with `what` (e.g. "remove foo 1.0"): at once with `-y`
 * (saying what it does), after asking on a terminal otherwise. Without `-y` and with no
 * terminal it says to use `-y` and resolves to false; a "no" is reported as nothing changed.
 */
export async function mayProceed(
  tool: string,
  what: string,
  yes: boolean | undefined,
  log: Logger,
): Promise<boolean> {
  if (yes) {
    log.info(what);
    return true;
  }
  if (!Deno.stdin.isTerminal()) {
    log.error(`${what}, but there is no terminal to ask on: run again with -y to proceed`);
    return false;
  }
  if (await confirm(`${tool}: ${what}. Proceed?`)) return true;
  log.warning("nothing was changed");
  return false;
}
