/**
 * piw-keygen: makes a CURVE key pair for the master or a build slave, as czmq certificates:
 * `DIR/NAME.key`, the public certificate, to give to the other side (a slave's goes into the
 * master's allow-list directory; the master's goes to every slave), and `DIR/NAME.key_secret`,
 * the secret one (mode 0600), to keep where only the tool that uses it can read it. It never
 * overwrites a file. libzmq (pyzmq's `zmq.auth.load_certificate`, czmq's `zcert_load`) reads
 * both.
 *
 * Run with the flags `TOOLS["piw-keygen"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { CertificateError, writeCertificates } from "../shared/curve_keys.ts";
import { type CommonOptions, parseCommand, toolCommand } from "../shared/config.ts";
import { Logger } from "../shared/log.ts";

/** piw-keygen's options. */
interface Options extends CommonOptions {
  output: string;
}

const log = new Logger("piw-keygen");

function command() {
  return toolCommand(
    "piw-keygen",
    "Make a CURVE key pair for the master or a build slave: NAME.key, the public certificate " +
      "to give to the other side, and NAME.key_secret, the secret one (mode 0600) to keep. " +
      "Existing files are never overwritten.",
  )
    .argument("<name>", "the name of the pair (e.g. master, or the slave's host name)")
    .option("-o, --output <DIR>", "the directory to write the two files in", ".");
}

/** Runs piw-keygen; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  const [name] = cmd.args as [string];
  try {
    const files = await writeCertificates(opts.output, name);
    console.log(`public certificate: ${files.publicFile} (public key ${files.publicKey})`);
    console.log(`secret certificate: ${files.secretFile} (keep it private)`);
    return 0;
  } catch (e) {
    if (!(e instanceof CertificateError)) throw e;
    log.error(e.message);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
