/**
 * CURVE (ZMTP's encryption and authentication, `shared/zmq/curve.ts`) as the farm uses it on the
 * slave and file queues, set up from the key files `piw-keygen` makes: the master holds its
 * secret certificate and a directory of the public certificates of the slaves (and importers)
 * it lets in; a slave holds its own secret certificate and the master's public one.
 *
 * @module
 */

import type { Command } from "commander";
import { type AllowList, readAllowList, readCertificate } from "./curve_keys.ts";
import type { Logger } from "./log.ts";
import type { SocketOptions } from "./zmq/mod.ts";
import { z85Encode } from "./zmq/z85.ts";

/** A client's CURVE settings: its own key pair and the master's public key, as Z85. */
export interface CurveClient {
  /** The client's secret key. */
  secretKey: string;
  /** The master's public key. */
  serverKey: string;
}

/**
 * Reads a client's CURVE settings: its secret certificate (`NAME.key_secret`) and the master's
 * public certificate (`master.key`). Throws a `CertificateError` naming the file at fault.
 */
export async function readCurveClient(
  secretFile: string,
  masterFile: string,
): Promise<CurveClient> {
  const own = await readCertificate(secretFile, { secret: true });
  const master = await readCertificate(masterFile);
  return { secretKey: z85Encode(own.secretKey!), serverKey: z85Encode(master.publicKey) };
}

/** A client's CURVE options as given on its command line (`--curve-key`, `--curve-master-key`). */
export interface CurveClientOptions {
  /** The client's secret certificate. */
  curveKey?: string;
  /** The master's public certificate. */
  curveMasterKey?: string;
}

/** Adds a client's CURVE options (`--curve-key`, `--curve-master-key`) to a command. */
export function curveClientCommand(cmd: Command, who: string): Command {
  return cmd
    .option(
      "--curve-key <FILE>",
      `the ${who}'s secret CURVE certificate (made by piw-keygen; its public one goes in the ` +
        "master's --curve-clients directory): with --curve-master-key, the master's queues are " +
        "spoken to encrypted, for a master started with --curve-key",
    )
    .option(
      "--curve-master-key <FILE>",
      "the master's public CURVE certificate (its --curve-key's NAME.key), with --curve-key",
    );
}

/** Raised for CURVE options that cannot work: one without the other, or a bad certificate. */
export class CurveOptionError extends Error {
  override name = "CurveOptionError";
}

/**
 * Reads a client's CURVE settings from its options: undefined (NULL) when neither is given;
 * a {@linkcode CurveOptionError} when only one is, or a certificate cannot be read.
 */
export async function curveClientFrom(
  options: CurveClientOptions,
): Promise<CurveClient | undefined> {
  const { curveKey, curveMasterKey } = options;
  if (curveKey === undefined && curveMasterKey === undefined) return undefined;
  if (curveKey === undefined || curveMasterKey === undefined) {
    throw new CurveOptionError(
      `--curve-key and --curve-master-key go together (${
        curveKey === undefined ? "--curve-key" : "--curve-master-key"
      } is missing)`,
    );
  }
  try {
    return await readCurveClient(curveKey, curveMasterKey);
  } catch (e) {
    throw new CurveOptionError(`CURVE: ${(e as Error).message}`);
  }
}

/** A client socket's options for CURVE settings (none for none: NULL, as deployed). */
export function clientOptions(curve: CurveClient | undefined): SocketOptions {
  return curve ? { curveSecretKey: curve.secretKey, curveServerKey: curve.serverKey } : {};
}

/** How often at most the allow-list is read again when an unknown key knocks. */
const RELOAD_MS = 2_000;

/**
 * The master's side: its key pair and the keys it lets in, read from the allow-list directory
 * at start and again (at most every {@linkcode RELOAD_MS}) when a key it does not know knocks,
 * so that a slave's certificate dropped into the directory lets it in at its next attempt.
 */
export class CurveServer {
  #keys = new Set<string>();
  #loaded = 0;
  #loading: Promise<void> | null = null;

  private constructor(
    readonly secretKey: string,
    readonly allowDir: string,
    readonly log: Pick<Logger, "warning" | "info">,
  ) {}

  /** Reads the master's secret certificate and the allow-list (see the class). */
  static async open(
    secretFile: string,
    allowDir: string,
    log: Pick<Logger, "warning" | "info">,
  ): Promise<CurveServer> {
    const own = await readCertificate(secretFile, { secret: true });
    const server = new CurveServer(z85Encode(own.secretKey!), allowDir, log);
    server.#take(await readAllowList(allowDir));
    return server;
  }

  #take(list: AllowList): void {
    for (const problem of list.problems) this.log.warning(`CURVE allow-list: ${problem}`);
    const added = [...list.keys].filter((k) => !this.#keys.has(k)).length;
    if (this.#loaded && added) this.log.info(`CURVE allow-list: ${added} new key(s)`);
    this.#keys = list.keys;
    this.#loaded = Date.now();
  }

  /**
   * Whether a client's long-term public key is let in; an unknown one has the list read again.
   * (The socket logs a refusal, naming the peer and its key.)
   */
  readonly authorize = (clientKey: Uint8Array): boolean => {
    if (this.#keys.has(z85Encode(clientKey))) return true;
    if (!this.#loading && Date.now() - this.#loaded >= RELOAD_MS) {
      this.#loading = readAllowList(this.allowDir)
        .then((list) => this.#take(list))
        .catch((e) => this.log.warning(`CURVE allow-list: ${(e as Error).message}`))
        .finally(() => this.#loading = null);
    }
    return false;
  };

  /** A server socket's options: CURVE with this key pair, letting in the listed keys. */
  options(): SocketOptions {
    return { curveServer: true, curveSecretKey: this.secretKey, curveAuthorize: this.authorize };
  }
}

/**
 * A server socket's options from the master's `--curve-key` and `--curve-clients`: CURVE when
 * both are given (`master/startup.ts` has checked they go together), none (NULL) otherwise.
 */
export async function curveServerOptions(
  options: { curveKey?: string; curveClients?: string },
  log: Pick<Logger, "warning" | "info">,
): Promise<SocketOptions> {
  if (!options.curveKey || !options.curveClients) return {};
  return (await CurveServer.open(options.curveKey, options.curveClients, log)).options();
}
