/**
 * The master's Worker for what follows the outside world: Cloud Gazer and the Lumberjack.
 *
 * @module
 */

import "../tasks/cloud_gazer.ts";
import "../tasks/lumberjack.ts";
import { runWorker } from "../worker.ts";

runWorker(["cloud_gazer", "lumberjack"]);
