/**
 * What the master's Workers do (`master/workers/<group>.ts` each import the modules of their
 * tasks, then call {@linkcode runWorker}): run the tasks the main thread names in its first
 * message ({@linkcode WorkerInit}), each module's task under each name given (the Oracle may run
 * several times). Tasks that share a Worker still talk only over their sockets, which between
 * them cost no thread hop.
 *
 * @module
 */

import { configureLogging } from "../shared/log.ts";
// inproc:// names are shared with the other threads once this module has loaded (statically:
// the main thread wires the Worker as soon as it starts it)
import "../shared/zmq/mod.ts";
import { startTask, takeDefinitions, type WorkerInit } from "./task.ts";

const self = globalThis as unknown as {
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
};

/**
 * Runs this Worker's tasks once the main thread says which: `modules` names the task modules
 * this Worker's entry imported, in the order it imported them (each defined its task then).
 */
export function runWorker(modules: readonly string[]): void {
  const definitions = takeDefinitions();
  if (definitions.length !== modules.length) {
    throw new Error(`${modules.length} task modules imported, ${definitions.length} tasks defined`);
  }
  const byModule = new Map(modules.map((m, i) => [m, definitions[i]!]));
  const listener = async (event: MessageEvent) => {
    const init = event.data as WorkerInit | undefined;
    if (init?.type !== "piwheels.init") return;
    self.removeEventListener("message", listener);
    configureLogging(init.log);
    await Promise.all(init.tasks.map(({ module, name }) => {
      const task = byModule.get(module);
      if (!task) throw new Error(`this Worker runs no ${module}`);
      return startTask(task, name, init.options);
    }));
  };
  self.addEventListener("message", listener);
}
