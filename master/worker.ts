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
import { definitionOf, startTask, type WorkerInit } from "./task.ts";

const self = globalThis as unknown as {
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
};

/**
 * Runs this Worker's tasks once the main thread says which: `modules` names the task modules
 * this Worker's entry imported (each defined its task under its name).
 */
export function runWorker(modules: readonly string[]): void {
  const byModule = new Map(modules.map((m) => {
    const task = definitionOf(m);
    if (!task) throw new Error(`the module ${m} defined no task`);
    return [m, task];
  }));
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
