/**
 * piw-monitor (manual chapter 4): watches and controls piw-master from a terminal. On start it
 * asks the master for every slave it knows (HELLO), then follows the status queue; the buttons
 * pause and resume the master, kill the selected slave, terminate the master, or quit.
 * `--once` prints the farm's status and exits instead.
 *
 * Run with the flags `TOOLS["piw-monitor"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { configureLogging, currentLogSettings, Logger } from "../../shared/log.ts";
import { MasterLink } from "../master_link.ts";
import { monitorCommand, type MonitorOptions, runMonitor } from "../options.ts";
import { MonitorApp } from "./app.ts";
import { NoTerminalError } from "./terminal.ts";
import { TerminalView } from "./view.ts";

const log = new Logger("piw-monitor");

async function main(): Promise<number> {
  const cmd = monitorCommand(
    "piw-monitor",
    "The piw-monitor application is used to monitor (and optionally control) the piw-master " +
      "script: it lists every build slave the master knows and follows them live; the controls " +
      "pause or resume the master, kill a build slave, or terminate the master.",
  );
  return await runMonitor(cmd, interactive);
}

async function interactive(opts: MonitorOptions): Promise<number> {
  let view: TerminalView;
  try {
    view = new TerminalView();
  } catch (e) {
    if (!(e instanceof NoTerminalError)) throw e;
    console.error(`piw-monitor: error: ${e.message} (use --once for scripts)`);
    return 2;
  }
  // The screen is the monitor's: log lines go to the log file (-l) only.
  configureLogging({ ...currentLogSettings(), consoleLevel: "silent" });
  const started = Date.now();
  const app = new MonitorApp(view, opts.statusQueue);
  const link = new MasterLink(opts.statusQueue, opts.controlQueue, {
    ...app.events,
    warning: (text) => {
      log.warning(text);
      app.events.warning(text);
    },
  });
  try {
    await app.run(link);
  } finally {
    app.close();
    view.close();
    await link.close();
  }
  const seconds = (Date.now() - started) / 1000;
  log.debug(`drew ${app.frames} frames in ${seconds.toFixed(1)} s`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
