/**
 * The master's Worker for the web site: the Secretary, the Scribe and Big Brother.
 *
 * @module
 */

import "../tasks/the_secretary.ts";
import "../tasks/the_scribe.ts";
import "../tasks/big_brother.ts";
import { runWorker } from "../worker.ts";

runWorker(["the_secretary", "the_scribe", "big_brother"]);
