/**
 * The master's Worker for the web site and what follows PyPI: the Secretary, the Scribe, Big
 * Brother and Cloud Gazer, whose reading of PyPI's answers may hold up a page's rewrite for a
 * moment rather than a build's database request (its requests to the Oracles cross to the
 * database's Worker).
 *
 * @module
 */

import "../tasks/the_secretary.ts";
import "../tasks/the_scribe.ts";
import "../tasks/big_brother.ts";
import "../tasks/cloud_gazer.ts";
import { runWorker } from "../worker.ts";

runWorker(["the_secretary", "the_scribe", "big_brother", "cloud_gazer"]);
