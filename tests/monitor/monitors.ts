/**
 * What the monitor tests share: the command line of piw-monitor or piw-sense with its shipped
 * flags against a test master, and what the master itself reports on its status queue after a
 * HELLO, to check the monitors against.
 *
 * @module
 */

import { TOOLS } from "../../shared/flags.ts";
import { decodeMessage, monitorStats, reverse, type StatsMessage } from "../../shared/protocols.ts";
import { isZmqError, Subscriber } from "../../shared/zmq/mod.ts";
import type { MasterRun } from "../farm.ts";
import { ROOT, run } from "../process.ts";

/** `deno run` arguments for a monitor with its shipped flags, on a master's queues. */
export function monitorArgs(
  tool: "piw-monitor" | "piw-sense",
  master: Pick<MasterRun, "statusQueue" | "controlQueue">,
  extra: string[] = [],
): string[] {
  const spec = TOOLS[tool];
  return [
    "run",
    ...spec.flags,
    `${ROOT}/${spec.entry}`,
    "--status-queue",
    master.statusQueue,
    "--control-queue",
    master.controlQueue,
    ...extra,
  ];
}

/** Runs `tool --once --json` and parses what it prints. */
export async function once(
  tool: "piw-monitor" | "piw-sense",
  master: Pick<MasterRun, "statusQueue" | "controlQueue" | "dir">,
): Promise<{ code: number; doc: Record<string, unknown>; stderr: string }> {
  const out = await run(Deno.execPath(), monitorArgs(tool, master, ["--once", "--json"]), {
    env: { NO_COLOR: "1", HOME: master.dir },
  });
  return { code: out.code, doc: out.code === 0 ? JSON.parse(out.stdout) : {}, stderr: out.stderr };
}

/** Runs `tool --once` and returns what it prints. */
export async function onceText(
  tool: "piw-monitor" | "piw-sense",
  master: Pick<MasterRun, "statusQueue" | "controlQueue" | "dir">,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await run(Deno.execPath(), monitorArgs(tool, master, ["--once"]), {
    env: { NO_COLOR: "1", HOME: master.dir },
  });
}

/** What the master says after a HELLO: the last SLAVE message of each slave, and a STATS. */
export interface MasterReport {
  stats: StatsMessage;
  slaves: Map<number, { reply: string; data: unknown }>;
}

/**
 * Subscribes, says HELLO, and collects the replay of `slaveIds` and a STATS. The replay has no
 * end, and STATS may come before it is over (from the last gathering, at once): once both are
 * in, HELLO is said again, and when a slave's HELLO comes a second time, the replay before it
 * has come whole (the Slave Driver's messages come in order, each slave's HELLO and then its
 * state).
 */
export async function masterReport(master: MasterRun, slaveIds: number[]): Promise<MasterReport> {
  const status = new Subscriber({ receiveTimeout: 2_000 });
  status.subscribe();
  status.connect(master.statusQueue);
  const slaves = new Map<number, { reply: string; data: unknown }>();
  const hellos = new Map<number, number>();
  let stats: MasterReport["stats"] | undefined;
  let again = false;
  try {
    await master.control("HELLO");
    for (let silences = 0; !again || ![...hellos.values()].some((n) => n >= 2);) {
      if (!again && stats && slaveIds.every((id) => slaves.has(id))) {
        hellos.clear();
        again = true;
        await master.control("HELLO");
      }
      let frame: Uint8Array | undefined;
      try {
        [frame] = await status.receive();
      } catch (e) {
        // a HELLO the master answered before our subscription reached it went unheard
        if (!isZmqError(e, "EAGAIN") || ++silences > 10) throw e;
        await master.control("HELLO");
        continue;
      }
      const m = decodeMessage(reverse(monitorStats), frame!);
      if (m.msg === "STATS") stats = m.data;
      else if (m.msg === "MASTER") continue;
      else {
        if (m.data[2] === "HELLO") hellos.set(m.data[0], (hellos.get(m.data[0]) ?? 0) + 1);
        if (m.data[2] !== "HELLO" || !slaves.has(m.data[0])) {
          slaves.set(m.data[0], { reply: m.data[2], data: m.data[3] });
        }
      }
    }
  } finally {
    await status.close();
  }
  return { stats: stats!, slaves };
}
