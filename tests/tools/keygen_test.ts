/**
 * piw-keygen through its command line, as a subprocess with the flags it ships with: it writes
 * a pair and says where, refuses to overwrite, and libzmq takes the keys it writes: a pyzmq
 * CURVE server with the master's certificate and our client with a slave's, and the other way
 * round with the slave's public certificate as our server's allow-list.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { runTool } from "../process.ts";
import { endpoint, LibzmqPeer, texts } from "../zmq_support.ts";
import { readAllowList, readCertificate } from "../../shared/curve_keys.ts";
import { Dealer, Router, z85Encode } from "../../shared/zmq/mod.ts";

const TIMEOUT = { receiveTimeout: 10000, sendTimeout: 10000 };

Deno.test("piw-keygen: writes a pair, says where, never overwrites; libzmq takes its keys", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "piw-keygen-" });
  const keys = `${dir}/keys`;
  const allowed = `${dir}/allowed`;
  await Deno.mkdir(keys);
  await Deno.mkdir(allowed);
  try {
    await t.step("a pair for the master and one for a slave", async () => {
      for (const name of ["master", "slave1"]) {
        const r = await runTool("piw-keygen", ["-o", keys, name]);
        assertEquals(r.code, 0, r.stderr);
        const { publicKey } = await readCertificate(`${keys}/${name}.key`);
        assertEquals(r.stdout.split("\n"), [
          `public certificate: ${keys}/${name}.key (public key ${z85Encode(publicKey)})`,
          `secret certificate: ${keys}/${name}.key_secret (keep it private)`,
          "",
        ]);
        assertEquals((await Deno.stat(`${keys}/${name}.key_secret`)).mode! & 0o777, 0o600);
      }
      await Deno.copyFile(`${keys}/slave1.key`, `${allowed}/slave1.key`);
    });

    await t.step("it refuses to overwrite, and usage errors exit 2", async () => {
      const before = await Deno.readTextFile(`${keys}/master.key_secret`);
      const again = await runTool("piw-keygen", ["-o", keys, "master"]);
      assertEquals(again.code, 1);
      assertStringIncludes(again.stderr, "master.key_secret exists already: not overwriting it");
      assertEquals(await Deno.readTextFile(`${keys}/master.key_secret`), before);
      const usage = await runTool("piw-keygen", ["-o", keys]);
      assertEquals(usage.code, 2);
      assertStringIncludes(usage.stderr, "missing required argument 'name'");
      const nowhere = await runTool("piw-keygen", ["-o", `${dir}/missing`, "x"]);
      assertEquals(nowhere.code, 1);
      assertStringIncludes(nowhere.stderr, "cannot write");
    });

    await t.step("a pyzmq server with the master's certificate, our slave client", async () => {
      const server = await LibzmqPeer.start("ROUTER", "bind", endpoint("tcp"), {
        curve_server: "1",
        curve_certificate: `${keys}/master.key_secret`,
      });
      const master = await readCertificate(`${keys}/master.key`);
      assertEquals(server.publicKey, z85Encode(master.publicKey));
      const slave = await readCertificate(`${keys}/slave1.key_secret`, { secret: true });
      const dealer = new Dealer({
        ...TIMEOUT,
        routingId: "slave1",
        curveServerKey: master.publicKey,
        curveSecretKey: slave.secretKey!,
      });
      dealer.connect(server.endpoint);
      await dealer.send("HELLO");
      assertEquals(texts(await server.receive()), ["slave1", "HELLO"]);
      await Promise.all([dealer.close(), server.close()]);
    });

    await t.step("a pyzmq slave client, our master server allowing the slave's key", async () => {
      const list = await readAllowList(allowed);
      assertEquals(list.problems, []);
      const master = await readCertificate(`${keys}/master.key_secret`, { secret: true });
      const refused: string[] = [];
      const router = new Router({
        ...TIMEOUT,
        curveServer: true,
        curveSecretKey: master.secretKey!,
        curveAuthorize: (key) => {
          const known = list.keys.has(z85Encode(key));
          if (!known) refused.push(z85Encode(key));
          return known;
        },
      });
      const address = await router.bind(endpoint("tcp"));
      const slave = await LibzmqPeer.start("DEALER", "connect", address, {
        identity: "slave1",
        curve_certificate: `${keys}/slave1.key_secret`,
        curve_server_certificate: `${keys}/master.key`,
      });
      await slave.send(["HELLO"]);
      assertEquals(texts(await router.receive()), ["slave1", "HELLO"]);
      assert(list.keys.has(slave.publicKey));
      assertEquals(refused, []);
      await Promise.all([slave.close(), router.close()]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
