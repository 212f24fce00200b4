/**
 * The Deno permissions each tool runs with, declared once for the tests, the launchers, the
 * bundler and the systemd units alike. Each permission says why it is there.
 *
 * @module
 */

/** A tool: its entry module (relative to the repository) and the flags it runs with. */
export interface ToolSpec {
  /** The module to run, relative to the repository root. */
  readonly entry: string;
  /** `deno run` flags: `--no-prompt` and the permissions, nothing else. */
  readonly flags: readonly string[];
}

/** Environment variables every tool reads. */
const CLI_ENV = [
  "HOME", // ~/.config/piwheels/piwheels.conf
  "NO_COLOR", // commander decides whether --help is coloured
  "FORCE_COLOR",
  "CLICOLOR_FORCE",
];

/** Environment variables a tool that opens a DSN reads. */
const DATABASE_ENV = [
  "PG*", // postgres.js reads every PG… variable when it connects
];

/** The permissions of a tool that opens a DSN. */
const DATABASE_FLAGS = [
  // the server the DSN names, known only at run time (a Unix socket is net access too)
  "--allow-net",
  // postgres.js takes the login name (os.userInfo) as the user when the DSN names none
  "--allow-sys=uid,gid,userInfo",
  // pglite:// data directories (and PGlite's WebAssembly under node_modules), configuration
  // files and -l log files: all named at run time
  "--allow-read",
  "--allow-write",
];

/**
 * The permissions of a tool that talks to the master on its queues (the admin tools, and
 * piw-monitor on the status and control queues). The queues' addresses (ipc:// socket paths or
 * tcp:// hosts and ports) are options (and so are `-c FILE` and `-l FILE`), all named at run
 * time, and Deno matches `unix:` net permissions by exact path only (`--allow-net=unix:/tmp`
 * does not cover `/tmp/piw-import`), so none of the three can be narrowed to a list. Nothing is
 * needed for a terminal (raw mode, its size and SIGWINCH need no permission).
 */
const QUEUE_TOOL_FLAGS = [
  "--no-prompt",
  `--allow-env=${CLI_ENV.join(",")}`,
  // the queues' unix sockets (ZeroMQ ipc:// connects to them) or tcp:// hosts and ports
  "--allow-net",
  // the queue's socket path, configuration files (/etc/piwheels.conf, ~/.config/…, -c FILE)
  "--allow-read",
  // the queue's socket path, and the -l log file
  "--allow-write",
];

/** Every tool, by its command name. */
export const TOOLS = {
  "piw-master": {
    entry: "master/main.ts",
    flags: [
      "--no-prompt",
      // every task is a Worker with narrower permissions (master/permissions.ts) than these
      "--unstable-worker-options",
      `--allow-env=${[...CLI_ENV, "XDG_DATA_HOME", ...DATABASE_ENV].join(",")}`,
      // queue addresses, the database, PyPI, the output path: all named at run time
      "--allow-net",
      "--allow-read",
      "--allow-write",
      // the database's login name (postgres.js), and the output file system's free space
      "--allow-sys=uid,gid,userInfo,statfs",
      // V8's young generation at 2 MiB a half instead of 16: each of the master's isolates (its
      // own and three Workers') then holds ~20 MiB less; under load (tests/bench/master_load.ts)
      // RSS 220-230 MiB instead of 300-330, for ~1 ms more CPU per build in scavenges. And V8's
      // memory saver mode: the old generation grows little before each full collection, so that
      // at 50 simulated slaves RSS is 196 MiB instead of 271 (0.72), for 0.90 of the builds a
      // minute and 1.2 times the master's CPU per build; a farm's master is bound by its slaves'
      // builds, minutes each, never by its own CPU, and holds its memory all the time
      "--v8-flags=--max-semi-space-size=2,--memory-saver-mode",
    ],
  },
  "piw-slave": {
    entry: "slave/main.ts",
    flags: [
      "--no-prompt",
      // the slave's work runs in a Worker with the narrow permissions of
      // slave/permissions.ts slavePermissions(); these flags only bound what it may be given
      "--unstable-worker-options",
      `--allow-env=${[...CLI_ENV, "XDG_CACHE_HOME"].join(",")}`,
      // the label defaults to the host name
      "--allow-sys=hostname",
      // the master's host, the build directory, the interpreter and the sandbox's tools, and
      // configuration and log files: all named at run time
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-run",
    ],
  },
  "piw-initdb": {
    entry: "tools/initdb.ts",
    flags: [
      "--no-prompt",
      `--allow-env=${[...CLI_ENV, ...DATABASE_ENV].join(",")}`,
      ...DATABASE_FLAGS,
    ],
  },
  "piw-monitor": {
    entry: "monitor/tui/main.ts",
    flags: QUEUE_TOOL_FLAGS,
  },
  "piw-sense": {
    entry: "monitor/sense/main.ts",
    flags: [
      "--no-prompt",
      // The Sense HAT is the framebuffer /dev/fbN and the evdev device /dev/input/eventN, found
      // through /sys/class: Deno 2 grants /dev (beyond /dev/null and the like) and /sys only to
      // --allow-all ("Requires all access", whatever --allow-read/--allow-write list; denoland/
      // deno#27564), so nothing narrower can drive a real HAT. Device nodes made outside /dev
      // (mknod) and passed with --framebuffer and --joystick would work with QUEUE_TOOL_FLAGS.
      "--allow-all",
    ],
  },
  // piw-import also reaches the master's file queue (tcp, its host an option), reads the
  // wheels it is given and, with -d, deletes them: all covered by the flags above
  "piw-import": { entry: "tools/import.ts", flags: QUEUE_TOOL_FLAGS },
  "piw-rebuild": { entry: "tools/rebuild.ts", flags: QUEUE_TOOL_FLAGS },
  "piw-remove": { entry: "tools/remove.ts", flags: QUEUE_TOOL_FLAGS },
  "piw-abi": { entry: "tools/abi.ts", flags: QUEUE_TOOL_FLAGS },
  "piw-add": { entry: "tools/add.ts", flags: QUEUE_TOOL_FLAGS },
  "piw-audit": {
    entry: "tools/audit.ts",
    flags: [
      "--no-prompt",
      // the output path defaults to piw-master's, under $XDG_DATA_HOME or ~/.local/share
      `--allow-env=${[...CLI_ENV, "XDG_DATA_HOME"].join(",")}`,
      // the import queue, as for the other admin tools
      "--allow-net",
      // the output path (named at run time) is read, and written only to delete what belongs
      // to nothing (--delete-extra); the queue's socket, configuration and log files as above
      "--allow-read",
      "--allow-write",
    ],
  },
  // piw-logger also reads the log files it is given (gzipped or not) and stdin, which needs
  // no permission; the lines themselves (anyone's text) are read in a Worker that may reach
  // only the log queue and the -l log file (tools/logger.ts loggerPermissions)
  "piw-logger": {
    entry: "tools/logger.ts",
    flags: [...QUEUE_TOOL_FLAGS, "--unstable-worker-options"],
  },
  "piw-keygen": {
    entry: "tools/keygen.ts",
    flags: [
      "--no-prompt",
      `--allow-env=${CLI_ENV.join(",")}`,
      // configuration files, and the output directory (-o, named at run time): whether the
      // certificates exist already
      "--allow-read",
      // the two certificate files, in the output directory
      "--allow-write",
    ],
  },
} as const satisfies Record<string, ToolSpec>;
