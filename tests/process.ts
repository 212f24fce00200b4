/**
 * Running real programs from tests: Debian's Python (the reference peers), our tools as
 * subprocesses, and the servers tests start.
 *
 * @module
 */

import { TOOLS } from "../shared/flags.ts";

/** Debian's interpreter, which has python3-zmq, python3-cbor2 and pip (PATH may not). */
export const PYTHON = "/usr/bin/python3";

/** The repository's root directory. */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** What a finished program left behind. */
export interface Finished {
  /** The exit code. */
  code: number;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/**
 * Removes a directory tree of any depth with GNU rm: Deno's recursive remove overflows its stack
 * (and aborts the process) on one thousands of directories deep, which a slave's test may leave.
 */
export async function removeTree(path: string): Promise<void> {
  const out = await run("/bin/rm", ["-rf", "--", path]);
  if (out.code !== 0) throw new Error(`rm -rf ${path}: ${out.stderr}`);
}

/** Runs a program to completion, feeding `stdin` if given, and collects its output. */
export async function run(
  command: string,
  args: string[],
  options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<Finished> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs Debian's Python on a script under `tests/fixtures/`. */
export function python(script: string, args: string[], stdin?: string): Promise<Finished> {
  return run(PYTHON, [`${ROOT}/tests/fixtures/${script}`, ...args], { stdin });
}

/**
 * Runs one of our tools as a subprocess with exactly the flags `shared/flags.ts` declares for
 * it (and nothing on stdin unless `stdin` is given; never a terminal).
 */
export function runTool(
  name: keyof typeof TOOLS,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Finished> {
  return run(Deno.execPath(), toolArgs(name, args), {
    stdin: options.stdin,
    env: { NO_COLOR: "1", ...options.env },
  });
}

/**
 * The `deno` arguments that run a tool as it ships: `run`, its flags, its entry, `args`; from
 * this checkout, or from `root` where a test shows the checkout at another path.
 */
export function toolArgs(name: keyof typeof TOOLS, args: string[], root = ROOT): string[] {
  const tool = TOOLS[name];
  return ["run", `--config=${root}/deno.json`, ...tool.flags, `${root}/${tool.entry}`, ...args];
}

/** A word quoted for the POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes an executable script at `path` that runs a tool as it ships (`toolArgs`) with the
 * arguments it is given: the stand-in for the tool's binary (`deno task dist`) where a test runs
 * a deployment file (a systemd unit, Apache's piped log) that names the binary's path. `at`
 * names the checkout and the Deno executable as the script will see them, if not as here.
 */
export async function writeToolScript(
  path: string,
  name: keyof typeof TOOLS,
  at: { root: string; deno: string } = { root: ROOT, deno: Deno.execPath() },
): Promise<void> {
  const command = [at.deno, ...toolArgs(name, [], at.root)].map(shellQuote).join(" ");
  await Deno.writeTextFile(path, `#!/bin/sh\nexec ${command} "$@"\n`, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
}

/** What a running program writes to a stream (its stderr, say), collected as it comes. */
export class Collected {
  /** Everything so far. */
  text = "";
  /** Settles once the stream has ended (the program has closed it, or exited). */
  readonly ended: Promise<void>;
  #ended = false;

  /** Starts collecting `stream`; `who` names the program in {@linkcode waitFor}'s failures. */
  constructor(stream: ReadableStream<Uint8Array>, readonly who: string) {
    this.ended = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true });
      } finally {
        this.#ended = true;
      }
    })();
  }

  /**
   * Waits until the text matches `pattern`; fails with the text after `timeoutMs`, or at once
   * when the stream has ended without it (a program that exited will log nothing more).
   */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const ended = this.#ended;
      const m = this.text.match(pattern);
      if (m) return m;
      if (ended) {
        throw new Error(`${this.who} ended without logging ${pattern}; it logged:\n${this.text}`);
      }
      if (Date.now() > until) {
        throw new Error(`${this.who} never logged ${pattern}; it logged:\n${this.text}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Waits for a child to exit, having sent it `signal` if given, and kills it (SIGKILL) if it is
 * still running after `graceMs`; its exit status.
 */
export async function reap(
  child: Deno.ChildProcess,
  options: { signal?: Deno.Signal; graceMs?: number } = {},
): Promise<Deno.CommandStatus> {
  const send = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // exited already
    }
  };
  if (options.signal) send(options.signal);
  const timer = setTimeout(() => send("SIGKILL"), options.graceMs ?? 30_000);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Python script of `tests/fixtures/` run by Debian's Python and driven a JSON line at a time:
 * each command written to its stdin is answered by one JSON line on its stdout.
 */
export class PythonPeer {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffered = "";

  /**
   * Starts `tests/fixtures/<script>` with `args`; as another user and group (with runuser(1),
   * the tests running as root) if `as` names them.
   */
  constructor(script: string, args: string[], as?: { user: string; group: string }) {
    const python = [PYTHON, `${ROOT}/tests/fixtures/${script}`, ...args];
    const [program, ...rest] = as
      ? ["runuser", "-u", as.user, "-g", as.group, "--", ...python]
      : python;
    this.#child = new Deno.Command(program!, {
      args: rest,
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Sends a command and resolves to the script's answer. */
  async call<T>(command: Record<string, unknown>): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
    return this.line<T>();
  }

  /** The next JSON line the script writes. */
  async line<T>(): Promise<T> {
    while (!this.#buffered.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the Python peer exited");
      this.#buffered += value;
    }
    const end = this.#buffered.indexOf("\n");
    const line = this.#buffered.slice(0, end);
    this.#buffered = this.#buffered.slice(end + 1);
    return JSON.parse(line);
  }

  /** Sends the process a signal (SIGSTOP freezes it: its sockets stay open, unserved). */
  signal(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Closes its stdin and waits for it to end (killed first, with SIGKILL, if `kill`). */
  async finish(kill = false): Promise<Deno.CommandStatus> {
    if (kill) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // it has exited already
      }
    }
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel();
    return await this.#child.status;
  }
}
