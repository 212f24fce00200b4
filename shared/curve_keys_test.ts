/**
 * Certificate files: ours in czmq's layout (modes, header, sections), read back; pyzmq's
 * `zmq.auth` reading ours and ours reading what it writes (unquoted metadata and all); never
 * overwriting; the refusals (a broken key, a secret key not the public key's, bad ZPL); and an
 * allow-list directory with its bad files reported.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "../tests/assert.ts";
import { PYTHON, run } from "../tests/process.ts";
import {
  CertificateError,
  formatCertificate,
  parseCertificate,
  readAllowList,
  readCertificate,
  writeCertificates,
} from "./curve_keys.ts";
import { keyPair, publicKeyOf } from "./zmq/nacl.ts";
import { z85Encode } from "./zmq/z85.ts";

/** Runs Python code with pyzmq; its stdout as JSON. */
async function py<T>(code: string, ...args: string[]): Promise<T> {
  const r = await run(PYTHON, ["-c", code, ...args]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "piw-curve-keys-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("curve keys: a pair written in czmq's layout, 0600 for the secret, read back", async () => {
  await inTempDir(async (dir) => {
    const files = await writeCertificates(dir, "master");
    assertEquals([files.publicFile, files.secretFile], [
      `${dir}/master.key`,
      `${dir}/master.key_secret`,
    ]);
    assertEquals((await Deno.stat(files.secretFile)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(files.publicFile)).mode! & 0o777, 0o644);
    const publicText = await Deno.readTextFile(files.publicFile);
    const lines = publicText.split("\n");
    assert(
      /^# {3}\*{4} {2}Generated on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by piwheels {2}\*{4}$/.test(
        lines[0]!,
      ),
    );
    assertEquals(lines.slice(1, 6), [
      "#   ZeroMQ CURVE Public Certificate",
      "#   Exchange securely, or use a secure mechanism to verify the contents",
      "#   of this file after exchange. Store public certificates in your home",
      "#   directory, in the .curve subdirectory.",
      "",
    ]);
    assertEquals(lines.slice(6), [
      "metadata",
      "curve",
      `    public-key = "${files.publicKey}"`,
      "",
    ]);
    const secretText = await Deno.readTextFile(files.secretFile);
    assert(secretText.includes("#   ZeroMQ CURVE **Secret** Certificate\n"));
    const pub = await readCertificate(files.publicFile);
    const secret = await readCertificate(files.secretFile, { secret: true });
    assertEquals(z85Encode(pub.publicKey), files.publicKey);
    assertEquals(pub.secretKey, undefined);
    assertEquals(secret.publicKey, pub.publicKey);
    assertEquals(publicKeyOf(secret.secretKey!), pub.publicKey);
    await assertRejects(
      () => readCertificate(files.publicFile, { secret: true }),
      CertificateError,
      "a public certificate",
    );
  });
});

Deno.test("curve keys: an existing file is never overwritten, and nothing is left half-made", async () => {
  await inTempDir(async (dir) => {
    const first = await writeCertificates(dir, "slave1");
    const before = await Deno.readTextFile(first.secretFile);
    await assertRejects(
      () => writeCertificates(dir, "slave1"),
      CertificateError,
      "slave1.key_secret exists already",
    );
    assertEquals(await Deno.readTextFile(first.secretFile), before);
    await Deno.writeTextFile(`${dir}/slave2.key`, "someone's\n");
    await assertRejects(
      () => writeCertificates(dir, "slave2"),
      CertificateError,
      "slave2.key exists already",
    );
    assertEquals(await Deno.readTextFile(`${dir}/slave2.key`), "someone's\n");
    await assertRejects(() => Deno.stat(`${dir}/slave2.key_secret`), Deno.errors.NotFound);
    for (const bad of ["", "../escape", "a/b", ".hidden"]) {
      await assertRejects(
        () => writeCertificates(dir, bad),
        CertificateError,
        "not a certificate name",
      );
    }
  });
});

Deno.test("curve keys: pyzmq reads ours, and we read pyzmq's (czmq's layout, metadata unquoted)", async () => {
  await inTempDir(async (dir) => {
    const ours = await writeCertificates(dir, "ours");
    const read = await py<[string, string | null][]>(
      `import json, sys, zmq.auth
print(json.dumps([[k.decode() if k else None for k in zmq.auth.load_certificate(f)] for f in sys.argv[1:]]))`,
      ours.publicFile,
      ours.secretFile,
    );
    const secret = await readCertificate(ours.secretFile);
    assertEquals(read, [[ours.publicKey, null], [ours.publicKey, z85Encode(secret.secretKey!)]]);

    const [publicFile, secretFile] = await py<[string, string]>(
      `import json, sys, zmq.auth
print(json.dumps(zmq.auth.create_certificates(sys.argv[1], "theirs", {"name": "a slave", "build": "42"})))`,
      dir,
    );
    const theirs = await readCertificate(secretFile!, { secret: true });
    assertEquals(theirs.metadata, new Map([["name", "a slave"], ["build", "42"]]));
    assertEquals((await readCertificate(publicFile!)).publicKey, theirs.publicKey);
    assertEquals(publicKeyOf(theirs.secretKey!), theirs.publicKey);
  });
});

Deno.test("curve keys: ZPL as czmq writes it: quotes, comments, indents, sections in any order", () => {
  const { publicKey, secretKey } = keyPair();
  const text = [
    "#   a comment",
    "curve",
    `    public-key = '${z85Encode(publicKey)}'   # the key`,
    `    secret-key = "${z85Encode(secretKey)}"`,
    "",
    "metadata",
    '    email = "ph@imatix.com"',
    "    version = 1",
    "    empty",
  ].join("\r\n");
  const cert = parseCertificate(text);
  assertEquals(cert.publicKey, publicKey);
  assertEquals(cert.secretKey, secretKey);
  assertEquals(
    cert.metadata,
    new Map([["email", "ph@imatix.com"], ["version", "1"], ["empty", ""]]),
  );
  assertEquals(parseCertificate(formatCertificate(publicKey, secretKey)).secretKey, secretKey);
});

Deno.test("curve keys: what a certificate must not say is refused, with where", () => {
  const { publicKey, secretKey } = keyPair();
  const pub = z85Encode(publicKey);
  const refused = (text: string, message: string) =>
    assertThrows(() => parseCertificate(text, "x.key"), CertificateError, message);
  refused("metadata\ncurve\n", "x.key: no curve public-key");
  refused(`curve\n    public-key = "${pub.slice(1)}"\n`, "not 40 characters of Z85");
  refused(`curve\n    public-key = "${"~".repeat(40)}"\n`, "not a Z85 character");
  refused(
    `curve\n    public-key = "${pub}"\n    secret-key = "${z85Encode(keyPair().secretKey)}"\n`,
    "public-key is not the public key of secret-key",
  );
  refused(`curve\n  public-key = "${pub}"\n`, "x.key, line 2: indented by 2 spaces");
  refused(`curve\n        public-key = "${pub}"\n`, "x.key, line 2: indented by 8 spaces");
  refused(`curve\n    public-key == "${pub}"\n`, 'line 2: not "name = value"');
  assertEquals(parseCertificate(formatCertificate(publicKey, secretKey)).publicKey, publicKey);
});

Deno.test("curve keys: an allow-list directory; bad files are reported, not fatal", async () => {
  await inTempDir(async (dir) => {
    const a = await writeCertificates(dir, "a");
    const b = await writeCertificates(dir, "b");
    await Deno.remove(a.secretFile);
    await Deno.rename(b.secretFile, `${dir}/misplaced.key_secret`);
    await Deno.writeTextFile(`${dir}/broken.key`, 'curve\n    public-key = "short"\n');
    await Deno.writeTextFile(`${dir}/README`, "not a certificate\n");
    await Deno.mkdir(`${dir}/sub.key`);
    const list = await readAllowList(dir);
    assertEquals(list.keys, new Set([a.publicKey, b.publicKey]));
    assertEquals(list.problems, [
      `${dir}/broken.key: public-key is not 40 characters of Z85`,
      `${dir}/misplaced.key_secret: a secret certificate; only public ones (*.key) belong here`,
    ]);
    await assertRejects(
      () => readAllowList(`${dir}/missing`),
      CertificateError,
      "cannot read the directory",
    );
  });
});
