/**
 * Running the real piw-master for tests: a subprocess with the flags it ships with
 * (`shared/flags.ts`), on a scratch PostgreSQL database (or an embedded one), with its queues
 * on free loopback ports and in a temporary directory, following a fake PyPI.
 *
 * @module
 */

import { applyPlan, preparePlan } from "../shared/db/schema.ts";
import { connect } from "../shared/db/driver.ts";
import { TOOLS } from "../shared/flags.ts";
import { encodeMessage, masterControl, reverse } from "../shared/protocols.ts";
import { Push } from "../shared/zmq/mod.ts";
import { type Scratch, scratchDatabase } from "./db.ts";
import { FakePyPI } from "./fixtures/fake_pypi.ts";
import { ImportQueue } from "../tools/import_queue.ts";
import { Collected, reap, ROOT } from "./process.ts";

/**
 * How to start a tool: its source with the flags it ships with (`shared/flags.ts`), or a built
 * executable (which carries those flags itself).
 */
export function toolCommand(name: keyof typeof TOOLS, binary?: string): string[] {
  if (binary) return [binary];
  const tool = TOOLS[name];
  return [Deno.execPath(), "run", ...tool.flags, `${ROOT}/${tool.entry}`];
}

/**
 * A tool's environment in tests: a fresh HOME; for a built executable also a PATH without
 * Deno on it, as on a machine where only the executable was installed.
 */
export function toolEnv(home: string, binary?: string): Record<string, string> {
  return { NO_COLOR: "1", HOME: home, ...(binary ? { PATH: "/usr/bin:/bin" } : {}) };
}

/** A port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A scratch database with the piwheels schema, for its ordinary user. */
export async function piwheelsDatabase(): Promise<Scratch> {
  const scratch = await scratchDatabase();
  const db = await connect(scratch.superDsn);
  try {
    await applyPlan(db, await preparePlan(db, scratch.user));
  } finally {
    await db.close();
  }
  return scratch;
}

/** Options of {@linkcode startMaster}. */
export interface MasterSetup {
  /** The fake PyPI's XML-RPC URL. */
  pypiXmlrpc: string;
  /** The fake PyPI's simple index. */
  pypiSimple?: string;
  /** The DSN (default: an embedded database in the temporary directory). */
  dsn?: string;
  /** More arguments. */
  args?: string[];
  /** Log at debug level (`-v`, the default), or only what is normally shown (benchmarks). */
  verbose?: boolean;
  /** Run this built executable (`deno task dist`) instead of the source with its flags. */
  binary?: string;
  /** The slave queue (default: a free loopback port), e.g. to restart a master in place. */
  slaveQueue?: string;
  /** The file queue (default: a free loopback port). */
  fileQueue?: string;
  /**
   * The build ABIs to add once it is ready (default cp311, what the test slaves and Debian 12's
   * Python build for), as an operator would with piw-abi; none for an empty list.
   */
  abis?: string[];
  /** Have the master write its metrics (`--metrics-file`) to `metricsFile`. */
  metrics?: boolean;
  /** More environment variables for the master (a shifted clock's, `tests/fixtures/clock.ts`). */
  env?: Record<string, string>;
}

/** A running master. */
export class MasterRun implements AsyncDisposable {
  readonly slaveQueue: string;
  readonly fileQueue: string;
  readonly statusQueue: string;
  readonly controlQueue: string;
  readonly importQueue: string;
  readonly logQueue: string;
  readonly output: string;
  /** Where the master writes its metrics (with `metrics`). */
  readonly metricsFile: string | undefined;
  readonly process: Deno.ChildProcess;
  readonly #log: Collected;
  #status: Promise<Deno.CommandStatus> | undefined;

  constructor(readonly dir: string, setup: MasterSetup) {
    this.slaveQueue = setup.slaveQueue ?? `tcp://127.0.0.1:${freePort()}`;
    this.fileQueue = setup.fileQueue ?? `tcp://127.0.0.1:${freePort()}`;
    this.statusQueue = `ipc://${dir}/status`;
    this.controlQueue = `ipc://${dir}/control`;
    this.importQueue = `ipc://${dir}/import`;
    this.logQueue = `ipc://${dir}/logger`;
    this.output = `${dir}/www`;
    this.metricsFile = setup.metrics ? `${dir}/metrics/piwheels.prom` : undefined;
    const [program, ...start] = toolCommand("piw-master", setup.binary);
    this.process = new Deno.Command(program!, {
      args: [
        ...start,
        "--dev-mode",
        ...(setup.verbose === false ? [] : ["-v"]),
        "-d",
        setup.dsn ?? `pglite://${dir}/db`,
        "-o",
        this.output,
        "--pypi-xmlrpc",
        setup.pypiXmlrpc,
        "--pypi-simple",
        setup.pypiSimple ?? "https://pypi.org/simple",
        "--slave-queue",
        this.slaveQueue,
        "--file-queue",
        this.fileQueue,
        "--status-queue",
        this.statusQueue,
        "--control-queue",
        this.controlQueue,
        "--import-queue",
        this.importQueue,
        "--log-queue",
        this.logQueue,
        ...(this.metricsFile ? ["--metrics-file", this.metricsFile] : []),
        ...(setup.args ?? []),
      ],
      env: { ...toolEnv(dir, setup.binary), ...setup.env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#log = new Collected(this.process.stderr, "the master");
  }

  /** What the master has logged so far. */
  get stderr(): string {
    return this.#log.text;
  }

  /** Waits until the master's log matches, or fails after `timeoutMs`. */
  waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return this.#log.waitFor(pattern, timeoutMs);
  }

  /** Waits until a file exists (and, if given, contains `text`). */
  async waitForFile(path: string, text?: string, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const content = await Deno.readTextFile(`${this.output}/${path}`);
        if (text === undefined || content.includes(text)) return content;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (Date.now() > until) {
        throw new Error(
          `${path} never appeared (with ${text}); the master logged:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Adds build ABIs through the import queue (as piw-abi does), and waits until the Slave
   * Driver builds for them.
   */
  async addAbis(...abis: string[]): Promise<void> {
    await using queue = new ImportQueue(this.importQueue);
    let listed: string[] = [];
    for (const abi of abis) {
      const reply = await queue.request("ABI", ["add", abi]);
      if (reply.msg !== "ABIS") throw new Error(`cannot add ${abi}: ${JSON.stringify(reply)}`);
      listed = reply.data.filter(([, skip]) => skip === "").map(([tag]) => tag).sort();
    }
    const line = listed.map((a) => a.replace(/[^\w]/g, "\\$&")).join(", ");
    await this.waitForLog(new RegExp(`slave_driver: build ABIs: ${line}$`, "m"));
  }

  /** Sends a control message (as a monitor does). */
  async control(msg: "HELLO" | "PAUSE" | "RESUME" | "QUIT"): Promise<void>;
  async control(msg: "KILL", slaveId: number): Promise<void>;
  async control(
    msg: "HELLO" | "PAUSE" | "RESUME" | "QUIT" | "KILL",
    slaveId?: number,
  ): Promise<void> {
    const push = new Push({ linger: 2000 });
    push.connect(this.controlQueue);
    const p = reverse(masterControl);
    await push.send(msg === "KILL" ? encodeMessage(p, "KILL", slaveId!) : encodeMessage(p, msg));
    await push.close();
  }

  /** The exit status, once the master has stopped. */
  status(): Promise<Deno.CommandStatus> {
    this.#status ??= this.process.status.then(async (s) => {
      await this.#log.ended;
      return s;
    });
    return this.#status;
  }

  /** Stops the master (QUIT, then SIGKILL if it lingers) and waits for it. */
  async stop(): Promise<Deno.CommandStatus> {
    const status = this.status();
    const done = await Promise.race([
      status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 0)),
    ]);
    if (!done) {
      await this.control("QUIT").catch(() => {});
      await reap(this.process);
    }
    return await status;
  }

  /** Stops the master (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts a master in a new temporary directory and waits until it is ready. */
export async function startMaster(setup: MasterSetup): Promise<MasterRun> {
  const dir = await Deno.makeTempDir({ prefix: "piw-master-test-" });
  const run = new MasterRun(dir, setup);
  try {
    await run.waitForLog(/piw-master: ready/, 120_000);
    const abis = setup.abis ?? ["cp311"];
    if (abis.length) await run.addAbis(...abis);
  } catch (e) {
    await run.stop();
    throw e;
  }
  return run;
}

/** A fake PyPI, a scratch database and a master following the one, writing into the other. */
export interface Farm extends AsyncDisposable {
  /** The PyPI the master follows. */
  readonly pypi: FakePyPI;
  /** Its database. */
  readonly db: Scratch;
  /** The master, ready. */
  readonly master: MasterRun;
  /**
   * Starts another master on the same database and output, as an operator restarting the
   * service after the first was stopped or killed (its pages are the first's: `master.output`).
   */
  restart(): Promise<MasterRun>;
}

/**
 * Starts a {@linkcode Farm}: a master on a scratch PostgreSQL database following a new fake
 * PyPI (`setup` adds to, or overrides, the master's settings). Disposing of it stops the master,
 * then drops the database and stops the PyPI.
 */
export async function startFarm(setup: Partial<MasterSetup> = {}): Promise<Farm> {
  const pypi = new FakePyPI();
  const db = await piwheelsDatabase().catch(async (e) => {
    await pypi[Symbol.asyncDispose]();
    throw e;
  });
  const master = await following(
    pypi,
    { dsn: db.userDsn, ...setup },
    () => db[Symbol.asyncDispose](),
  );
  return {
    pypi,
    db,
    master,
    restart: () =>
      startMaster({
        pypiXmlrpc: pypi.xmlrpcUrl,
        pypiSimple: pypi.simpleUrl,
        dsn: db.userDsn,
        args: ["-o", master.output],
        abis: [],
      }),
    async [Symbol.asyncDispose]() {
      await master.stop();
      await db[Symbol.asyncDispose]();
      await pypi[Symbol.asyncDispose]();
    },
  };
}

/**
 * Starts a master on its embedded database following a new fake PyPI (made with
 * `pypiOptions`). Disposing of it stops the master, removes its directory, then stops the PyPI.
 */
export async function startEmbeddedFarm(
  setup: Partial<MasterSetup> = {},
  pypiOptions?: ConstructorParameters<typeof FakePyPI>[0],
): Promise<Omit<Farm, "db" | "restart">> {
  const pypi = new FakePyPI(pypiOptions);
  const master = await following(pypi, setup);
  return {
    pypi,
    master,
    async [Symbol.asyncDispose]() {
      await master.stop();
      await Deno.remove(master.dir, { recursive: true });
      await pypi[Symbol.asyncDispose]();
    },
  };
}

/** Starts a master following `pypi`; if it fails to start, undoes `undo` and stops the PyPI. */
async function following(
  pypi: FakePyPI,
  setup: Partial<MasterSetup>,
  undo: () => PromiseLike<void> = () => Promise.resolve(),
): Promise<MasterRun> {
  return await startMaster({
    pypiXmlrpc: pypi.xmlrpcUrl,
    pypiSimple: pypi.simpleUrl,
    ...setup,
  }).catch(async (e) => {
    await undo();
    await pypi[Symbol.asyncDispose]();
    throw e;
  });
}

/** Polls `check` until it holds, failing after `timeoutMs` with what was awaited. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > until) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Options of {@linkcode startSlave}. */
export interface SlaveSetup {
  /**
   * The master to build for: its queues, or a host name given as `-m` (the manual's way: its
   * queues on ports 5555 and 5556).
   */
  master: Pick<MasterRun, "slaveQueue" | "fileQueue"> | { host: string };
  /** The label the monitors show. */
  label: string;
  /** The build timeout (default 3h). */
  timeout?: string;
  /** How long to wait for the master before starting again (default 60s). */
  masterTimeout?: string;
  /** More arguments. */
  args?: string[];
  /** Run this built executable (`deno task dist`) instead of the source with its flags. */
  binary?: string;
  /** More environment variables. */
  env?: Record<string, string>;
  /** Log at debug level (`-v`, the default), or only what is normally shown. */
  verbose?: boolean;
}

/** A running piw-slave (the real one, with the flags it ships with). */
export class SlaveRun implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly buildDir: string;
  readonly #log: Collected;

  constructor(readonly setup: SlaveSetup, readonly dir: string) {
    this.buildDir = `${dir}/build`;
    const [program, ...start] = toolCommand("piw-slave", setup.binary);
    this.process = new Deno.Command(program!, {
      args: [
        ...start,
        ...(setup.verbose === false ? [] : ["-v"]),
        ...("host" in setup.master ? ["-m", setup.master.host] : [
          "--slave-queue",
          setup.master.slaveQueue,
          "--file-queue",
          setup.master.fileQueue,
        ]),
        "--label",
        setup.label,
        "--build-dir",
        this.buildDir,
        "--timeout",
        setup.timeout ?? "3h",
        "--master-timeout",
        setup.masterTimeout ?? "60s",
        "--sleep",
        "1s",
        ...(setup.args ?? []),
      ],
      env: { ...toolEnv(dir, setup.binary), ...setup.env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#log = new Collected(this.process.stderr, "the slave");
  }

  /** What the slave has logged so far. */
  get stderr(): string {
    return this.#log.text;
  }

  /** Waits until the slave's log matches, or fails after `timeoutMs`. */
  waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return this.#log.waitFor(pattern, timeoutMs);
  }

  /** Stops the slave with SIGTERM (SIGKILL after 30 s) and returns its exit status. */
  async stop(): Promise<Deno.CommandStatus> {
    const status = await reap(this.process, { signal: "SIGTERM" });
    await this.#log.ended;
    return status;
  }

  /** Stops the slave (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Starts a real piw-slave for a master, in a new temporary directory. */
export async function startSlave(setup: SlaveSetup): Promise<SlaveRun> {
  const dir = await Deno.makeTempDir({ prefix: "piw-slave-test-" });
  return new SlaveRun(setup, dir);
}
