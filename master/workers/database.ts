/**
 * The master's Worker for the database and what feeds it from outside: Seraph and the Oracles,
 * whose connections nothing else touches, and Cloud Gazer and the Lumberjack, which mostly wait
 * (on PyPI, on piw-logger) and speak mostly to the Oracles and Seraph here, without a thread hop
 * (Cloud Gazer's notes to the Secretary and the Architect cross to their Workers).
 *
 * @module
 */

import "../tasks/seraph.ts";
import "../tasks/the_oracle.ts";
import "../tasks/cloud_gazer.ts";
import "../tasks/lumberjack.ts";
import { runWorker } from "../worker.ts";

runWorker(["seraph", "the_oracle", "cloud_gazer", "lumberjack"]);
