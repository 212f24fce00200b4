/**
 * The options piw-monitor and piw-sense share (manual chapters 4.1 and 5.1): the common ones,
 * the status and control queues, and `--once`/`--json` for scripts and health checks.
 *
 * @module
 */

import { type Command, InvalidArgumentError } from "commander";
import { type CommonOptions, toolCommand } from "../shared/config.ts";

/** The options both monitors have. */
export interface MonitorOptions extends CommonOptions {
  /** The master's status queue (PUB). */
  statusQueue: string;
  /** The master's control queue (PULL). */
  controlQueue: string;
  /** Print the farm's status once and exit. */
  once?: boolean;
  /** With `--once`: as one JSON document. */
  json?: boolean;
  /** With `--once`: how long to wait for the master, in seconds. */
  timeout: number;
}

/** A monitor's command with the options both monitors share. */
export function monitorCommand(name: string, description: string): Command {
  return toolCommand(name, description)
    .option(
      "--status-queue <ADDR>",
      "the address of the queue used to report status to monitors",
      "ipc:///tmp/piw-status",
    )
    .option(
      "--control-queue <ADDR>",
      "the address of the queue a monitor can use to control the master",
      "ipc:///tmp/piw-control",
    )
    .option(
      "--once",
      "print the farm's status (master, statistics, slaves) once and exit, instead of the " +
        "interactive display; exits 1 when the master does not answer",
    )
    .option("--json", "with --once: print the status as one JSON document")
    .option(
      "--timeout <SECONDS>",
      "with --once: how long to wait for the master to answer",
      positiveNumber,
      10,
    );
}

/** Checks the combination of options; returns an error to show, or null. */
export function checkMonitorOptions(opts: MonitorOptions): string | null {
  if (opts.json && !opts.once) return "--json only goes with --once";
  return null;
}

/** A commander argument parser for a number above zero. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number above 0");
  return n;
}
