/**
 * `--once` for both monitors: connect, say HELLO, gather the master's answer (every slave
 * replayed by the Slave Driver and a STATS from Big Brother), print the farm's status, as
 * plain text or (`--json`) as one JSON document, and exit.
 *
 * The replay has no end marker, so the answer counts as complete once a STATS has arrived and
 * then no message for {@linkcode QUIET_MS}, or else {@linkcode REPLAY_MS} after the first
 * message: a piwheels 0.16 master answers HELLO with the replay alone, and sends STATS every 30 s
 * (the statistics are then shown as not known yet). No answer within the timeout is exit code 1.
 *
 * @module
 */

import { terminalSafe } from "../shared/log.ts";
import { FarmState } from "./farm_state.ts";
import {
  describeActivity,
  describeDisk,
  describeQueue,
  formatAge,
  formatCount,
  printable,
} from "./format.ts";
import { MasterLink } from "./master_link.ts";
import type { MonitorOptions } from "./options.ts";

/** How long the status queue must be quiet after a STATS for the answer to be complete. */
export const QUIET_MS = 500;
/** How long after its first message the answer is complete without a STATS. */
export const REPLAY_MS = 2_000;

/** Prints the farm's status once; resolves to the exit code. */
export async function printOnce(name: string, opts: MonitorOptions): Promise<number> {
  const farm = new FarmState();
  const warnings: string[] = [];
  let quiet: ReturnType<typeof setTimeout> | undefined;
  let replay: ReturnType<typeof setTimeout> | undefined;
  const done = Promise.withResolvers<boolean>();
  const link = new MasterLink(opts.statusQueue, opts.controlQueue, {
    message(m) {
      farm.apply(m);
      // ours says MASTER, and then STATS is on its way
      replay ??= setTimeout(() => farm.master || done.resolve(true), REPLAY_MS);
      if (farm.stats) {
        clearTimeout(quiet);
        quiet = setTimeout(() => done.resolve(true), QUIET_MS);
      }
    },
    connection(connected) {
      if (connected) farm.reset();
      farm.setConnected(connected);
    },
    warning: (text) => warnings.push(text),
  });
  const timer = setTimeout(() => done.resolve(false), opts.timeout.totalMillis());
  const answered = await done.promise;
  clearTimeout(timer);
  clearTimeout(quiet);
  clearTimeout(replay);
  const output = opts.json ? JSON.stringify(farm.document(), null, 2) : plainText(farm);
  await link.close();
  for (const w of warnings) console.error(`${name}: warning: ${terminalSafe(w)}`);
  if (!answered) {
    console.error(
      `${name}: error: the master did not answer within ${opts.timeout.totalSeconds()} s ` +
        `(status queue ${opts.statusQueue}, control queue ${opts.controlQueue})`,
    );
    return 1;
  }
  console.log(output);
  return 0;
}

/** The farm's status as lines of text. */
function plainText(farm: FarmState): string {
  const s = farm.stats;
  const state = farm.paused === null
    ? "does not say whether it is paused"
    : farm.paused
    ? "PAUSED"
    : "running";
  const version = farm.master ? ` (piw-master ${printable(farm.master.version)})` : "";
  const lines = [
    `master: ${state}${version}`,
    `queue: ${printable(describeQueue(farm))}`,
    ...s
      ? [
        `built in the last hour: ${formatCount(s.builds_last_hour)}`,
        `disk: ${describeDisk(farm)}`,
        `downloads: ${formatCount(s.downloads_last_month)} last month, ` +
        `${formatCount(s.downloads_all)} in all`,
      ]
      : ["statistics: not sent yet (a piwheels 0.16 master sends them every 30 s)"],
    `slaves: ${farm.slaves.size}`,
  ];
  const doc = farm.document();
  for (const [i, slave] of farm.sorted().entries()) {
    const d = doc.slaves[i]!;
    const fields = [
      String(slave.slaveId),
      slave.label,
      slave.abi,
      describeActivity(slave),
      `for ${formatAge(d.state_age)}`,
      `seen ${formatAge(d.last_seen_age)} ago`,
    ];
    lines.push(`  ${fields.map(printable).join("\t")}`);
  }
  return lines.join("\n");
}
