/**
 * The master's Worker for what the build slaves and the admin tools speak to: the Slave Driver, the File Juggler, Mr. Chase and the Architect.
 *
 * @module
 */

import "../tasks/slave_driver.ts";
import "../tasks/file_juggler.ts";
import "../tasks/mr_chase.ts";
import "../tasks/the_architect.ts";
import { runWorker } from "../worker.ts";
import { awaitFileWriterPort } from "../file_writer.ts";

awaitFileWriterPort();

runWorker(["slave_driver", "file_juggler", "mr_chase", "the_architect"]);
