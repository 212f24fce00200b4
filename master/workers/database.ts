/**
 * The master's Worker for the database: Seraph and the Oracles, whose connections nothing else
 * touches, and the Lumberjack, which mostly waits on piw-logger and speaks to the Oracles here
 * without a thread hop. Cloud Gazer is not here: what PyPI sends is read on its thread (a
 * changelog of 50,000 rows, a project page of 16 MiB: hundreds of milliseconds), which would
 * hold up every build's database request meanwhile.
 *
 * @module
 */

import "../tasks/seraph.ts";
import "../tasks/the_oracle.ts";
import "../tasks/lumberjack.ts";
import { runWorker } from "../worker.ts";

runWorker(["seraph", "the_oracle", "lumberjack"]);
