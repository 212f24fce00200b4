import { assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { dsnFor, superDsn } from "../../tests/db.ts";
import { Duration } from "../duration.ts";
import { Timestamp } from "../timestamp.ts";
import { connect, type Database, DbError, parseDsn, SOCKET_DIR } from "./driver.ts";

Deno.test("driver: DSNs name an engine, and messages never show a password", () => {
  assertEquals(parseDsn("postgres://u:secret@host:5433/db"), {
    engine: "postgres",
    url: "postgres://u:secret@host:5433/db",
    target: "postgres://u:***@host:5433/db",
    server: { host: "host", port: 5433 },
  });
  assertEquals(parseDsn("postgresql:///piwheels").engine, "postgres");
  assertEquals(parseDsn("pglite:///var/lib/piwheels"), {
    engine: "pglite",
    path: "/var/lib/piwheels",
    target: "pglite:///var/lib/piwheels",
  });
  assertEquals(parseDsn("pglite://data/db"), {
    engine: "pglite",
    path: "data/db",
    target: "pglite://data/db",
  });
  assertThrows(() => parseDsn("mysql://x/y"), DbError, "expected a postgres://");
});

Deno.test("driver: a DSN's server is where libpq would go, and the URL keeps the rest", () => {
  const server = (dsn: string) => {
    const d = parseDsn(dsn);
    return d.engine === "postgres" ? [d.server, d.url] : null;
  };
  const pghost = Deno.env.get("PGHOST");
  Deno.env.delete("PGHOST");
  try {
    assertEquals(server("postgres:///piwheels"), [
      { socket: "/var/run/postgresql/.s.PGSQL.5432" },
      "postgres://localhost/piwheels",
    ]);
    assertEquals(server("postgres://piwheels@/piwheels"), [
      { socket: "/var/run/postgresql/.s.PGSQL.5432" },
      "postgres://piwheels@localhost/piwheels",
    ]);
    assertEquals(server("postgres:///piwheels?host=/tmp&port=5433&sslmode=disable"), [
      { socket: "/tmp/.s.PGSQL.5433" },
      "postgres://localhost/piwheels?sslmode=disable",
    ]);
    assertEquals(server("postgres://%2Frun%2Fpg:5434/db"), [
      { socket: "/run/pg/.s.PGSQL.5434" },
      "postgres://localhost/db",
    ]);
    assertEquals(server("postgres://u:p@/db?host=/run/pg"), [
      { socket: "/run/pg/.s.PGSQL.5432" },
      "postgres://u:p@localhost/db",
    ]);
    assertEquals(server("postgres://u:p@[::1]:5432/db"), [
      { host: "::1", port: 5432 },
      "postgres://u:p@[::1]:5432/db",
    ]);
    Deno.env.set("PGHOST", "db.example.org");
    assertEquals(server("postgres:///piwheels")![0], { host: "db.example.org", port: 5432 });
  } finally {
    if (pghost === undefined) Deno.env.delete("PGHOST");
    else Deno.env.set("PGHOST", pghost);
  }
  assertThrows(() => parseDsn("pglite://"), DbError, "needs a directory");
});

const cases: Record<string, (db: Database) => Promise<void>> = {
  "values round-trip exactly": async (db) => {
    const t = Timestamp.parse("2024-05-06T07:08:09.123456Z");
    const d = Duration.of({ days: 2, hours: 3, microseconds: 7 });
    const rows = await db.query(
      `SELECT $1::timestamptz AS t, $2::interval AS d, $3::bigint AS n, $4::jsonb AS j,
              $5::text AS s, $6::boolean AS b, NULL::text AS z, 7::integer AS i`,
      [t, d, Number.MAX_SAFE_INTEGER, JSON.stringify({ a: [1, "x"] }), `ü'"\\`, true],
    );
    assertEquals(rows, [{
      t,
      d,
      n: Number.MAX_SAFE_INTEGER,
      j: { a: [1, "x"] },
      s: `ü'"\\`,
      b: true,
      z: null,
      i: 7,
    }]);
  },

  "a transaction commits, or rolls back all of it when its function fails": async (db) => {
    await db.exec("CREATE TEMPORARY TABLE t (x integer PRIMARY KEY)");
    assertEquals(
      await db.transaction(async (tx) =>
        (await tx.query("INSERT INTO t VALUES (1) RETURNING x")).length
      ),
      1,
    );
    const boom = new Error("boom");
    const e = await assertRejects(() =>
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES (2)");
        throw boom;
      })
    );
    assertEquals(e, boom, "the function's own error comes back as it was");
    const dup = await assertRejects(
      () => db.transaction((tx) => tx.exec("INSERT INTO t VALUES (3), (1)")),
      DbError,
      "duplicate key",
    );
    assertEquals(dup.code, "23505");
    assertEquals(await db.query("SELECT x FROM t ORDER BY x"), [{ x: 1 }]);
    await db.exec("DROP TABLE t");
  },

  "failures are DbErrors carrying the SQLSTATE": async (db) => {
    assertEquals(
      (await assertRejects(() => db.query("SELECT 1/0"), DbError, "division by zero")).code,
      "22012",
    );
    assertEquals(
      (await assertRejects(() => db.exec("SELEKT 1"), DbError, "syntax error")).code,
      "42601",
    );
  },
};

Deno.test("driver (PostgreSQL): values, transactions and errors", async (t) => {
  const db = await connect(superDsn());
  try {
    assertEquals(db.engine, "postgres");
    for (const [name, fn] of Object.entries(cases)) await t.step(name, () => fn(db));
  } finally {
    await db.close();
  }
  await t.step("connecting to a missing database or an absent server fails at once", async () => {
    const missing = await assertRejects(
      () => connect(dsnFor("piwtest_no_such_db")),
      DbError,
      "does not exist",
    );
    assertEquals(missing.code, "3D000");
    // a host no URL may have: refused by the driver, and the message keeps the password out
    const unreadable = await assertRejects(
      () => connect("postgres://u:secret@bad host/x"),
      DbError,
      "postgres://u:***@bad host/x: the database driver cannot read this DSN",
    );
    assertEquals(
      [unreadable.message, String(unreadable.cause)].some((m) => m.includes("secret")),
      false,
    );
    await assertRejects(
      () => connect("postgres://nobody@127.0.0.1:1/x"),
      DbError,
      "cannot connect to postgres://nobody@127.0.0.1:1/x",
    );
  });
});

Deno.test("driver (PostgreSQL): a user with a password over the Unix socket", async () => {
  // what a farm whose server asks for passwords on its socket (pg_hba.conf's scram-sha-256 on a
  // `local` line, as `.ci/run` sets for every role but postgres) puts in its configuration
  const url = new URL(superDsn());
  const dsn = `postgres://${url.username}:${url.password}@/postgres?host=${SOCKET_DIR}&port=${
    url.port || 5432
  }`;
  const db = await connect(dsn);
  try {
    // no client address: the connection came through the socket, not TCP
    assertEquals(
      await db.query("SELECT current_user AS u, inet_client_addr() IS NULL AS socket"),
      [{ u: url.username, socket: true }],
    );
  } finally {
    await db.close();
  }
});

Deno.test("driver (PGlite): the same, on a data directory made on first use", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "piwtest_pglite_" });
  try {
    const db = await connect(`pglite://${dir}/new/db`);
    try {
      assertEquals(db.engine, "pglite");
      // PGlite's files are 0666: only its directory keeps other users out
      assertEquals((await Deno.stat(`${dir}/new/db`)).mode! & 0o777, 0o700);
      for (const [name, fn] of Object.entries(cases)) await t.step(name, () => fn(db));
    } finally {
      await db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver (PGlite): an existing data directory others could enter is made private", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piwtest_pglite_" });
  try {
    await Deno.chmod(dir, 0o755);
    const db = await connect(`pglite://${dir}`);
    await db.close();
    assertEquals((await Deno.stat(dir)).mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
