import { assertEquals } from "../tests/assert.ts";
import { databasePermissions, endpointPermissions } from "./permissions.ts";

Deno.test("permissions: an endpoint's are what its socket binds or connects", () => {
  assertEquals(endpointPermissions("tcp://127.0.0.1:5555"), { net: ["127.0.0.1:5555"] });
  assertEquals(endpointPermissions("tcp://[::1]:5555"), { net: ["[::1]:5555"] });
  // an ephemeral port, however it is spelt, is any port of the host
  assertEquals(endpointPermissions("tcp://127.0.0.1:*"), { net: ["127.0.0.1"] });
  assertEquals(endpointPermissions("tcp://*:*"), { net: ["0.0.0.0", "[::]"] });
  assertEquals(endpointPermissions("ipc:///run/piwheels/control"), {
    net: ["unix:/run/piwheels/control"],
    read: ["/run/piwheels/control"],
    write: ["/run/piwheels/control"],
  });
  assertEquals(endpointPermissions("inproc://x"), {});
});

Deno.test("permissions: a DSN's are for the server the driver connects to", () => {
  const socket = (path: string) => ({ net: [`unix:${path}`], read: [path], write: [path] });
  const pghost = Deno.env.get("PGHOST");
  Deno.env.delete("PGHOST");
  try {
    assertEquals(databasePermissions("postgres:///piwheels"), {
      ...socket("/var/run/postgresql/.s.PGSQL.5432"),
      env: ["PG*"],
      sys: ["uid", "gid", "userInfo"],
    });
    assertEquals(databasePermissions("postgres://piwheels@/piwheels?host=/tmp"), {
      ...socket("/tmp/.s.PGSQL.5432"),
      env: ["PG*"],
      sys: false,
    });
    assertEquals(databasePermissions("postgres://u:p@db.example.org:5433/piwheels"), {
      net: ["db.example.org:5433"],
      env: ["PG*"],
      sys: false,
    });
  } finally {
    if (pghost !== undefined) Deno.env.set("PGHOST", pghost);
  }
});
