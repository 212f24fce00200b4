/**
 * The embedded driver: PostgreSQL 18 compiled to WebAssembly (PGlite), on a data directory that
 * is created (with a fresh cluster in it) the first time it is opened. It is one session: the
 * process that opens the directory holds an exclusive lock on it until it closes it, and every
 * query and transaction takes its turn.
 *
 * Deno permissions: `--allow-read` on `node_modules/@electric-sql/pglite` (the WebAssembly
 * files) and `--allow-read` + `--allow-write` on the data directory.
 *
 * @module
 */

import { messages, PGlite } from "@electric-sql/pglite";
import { type Database, DbError, type Queryable, type Row, toDbError } from "./driver.ts";
import { PARSERS, toParam } from "./values.ts";

/** The lock file, inside the data directory. */
const LOCK_FILE = "piwheels.lock";

type Session = Pick<PGlite, "query" | "exec">;

function queryable(session: Session): Queryable {
  return {
    async query<T extends Row>(text: string, params: readonly unknown[] = []) {
      try {
        return (await session.query<T>(text, params.map(toParam))).rows;
      } catch (e) {
        throw toDbError(e);
      }
    },
    async exec(text: string) {
      try {
        await session.exec(text);
      } catch (e) {
        throw toDbError(e);
      }
    },
  };
}

/**
 * Makes the data directory (0700), or takes an existing one's group and other permissions away:
 * PGlite writes its files 0666 whatever the umask, so that any local user could rewrite the
 * farm's builds and hashes, and read who downloaded what.
 */
async function ownDirectory(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  const mode = (await Deno.stat(path)).mode ?? 0;
  if (mode & 0o077) await Deno.chmod(path, mode & 0o700);
}

async function lock(path: string, target: string): Promise<Deno.FsFile> {
  try {
    await ownDirectory(path);
    const file = await Deno.open(`${path}/${LOCK_FILE}`, { write: true, create: true });
    if (await file.tryLock(true)) return file;
    file.close();
  } catch (e) {
    throw toDbError(e, `cannot open ${target}`);
  }
  throw new DbError(`cannot open ${target}: another process has it open (PGlite is one session)`);
}

/** Opens (creating on first use) a PGlite data directory. */
export async function openPglite(path: string, target: string): Promise<Database> {
  const held = await lock(path, target);
  let pg: PGlite;
  try {
    pg = new PGlite({ dataDir: path, parsers: PARSERS });
    await pg.waitReady;
    await pg.exec("SET TimeZone = 'UTC'; SET search_path = public");
  } catch (e) {
    held.close();
    throw toDbError(e, `cannot open ${target}`);
  }
  return {
    engine: "pglite",
    target,
    ...queryable(pg),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      try {
        return await pg.transaction((tx) => fn(queryable(tx)));
      } catch (e) {
        throw e instanceof messages.DatabaseError ? toDbError(e) : e; // fn's own errors pass
      }
    },
    async close() {
      try {
        await pg.close();
      } finally {
        held.close();
      }
    },
  };
}
