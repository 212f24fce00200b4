/**
 * The master's Worker for the database: Seraph and the Oracles, whose connections nothing else touches.
 *
 * @module
 */

import "../tasks/seraph.ts";
import "../tasks/the_oracle.ts";
import { runWorker } from "../worker.ts";

runWorker(["seraph", "the_oracle"]);
