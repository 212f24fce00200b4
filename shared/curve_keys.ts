/**
 * CURVE key pairs in czmq's certificate files (as `zcert_save` writes them, and pyzmq's
 * `zmq.auth`): `NAME.key`, the public certificate, to hand to the other side, and
 * `NAME.key_secret`, the secret one (mode 0600), to keep. Both are ZPL (ZeroMQ RFC 4): a comment
 * header, a `metadata` section, and a `curve` section with `public-key = "<Z85>"` (and in the
 * secret one `secret-key`). A directory of public certificates is an allow-list of keys, as
 * czmq's `zcertstore` and pyzmq's `load_certificates` read one.
 *
 * @module
 */

import { join } from "node:path";
import { ZmqError } from "./zmq/errors.ts";
import { keyPair, publicKeyOf } from "./zmq/nacl.ts";
import { z85Decode, z85Encode } from "./zmq/z85.ts";

/** A certificate as read: its keys (the secret one only in a secret certificate) and metadata. */
export interface Certificate {
  /** The public key. */
  publicKey: Uint8Array;
  /** The secret key, in a secret certificate. */
  secretKey?: Uint8Array;
  /** The `metadata` section's properties. */
  metadata: Map<string, string>;
}

/** Where {@linkcode writeCertificates} wrote a pair. */
export interface CertificateFiles {
  /** The public certificate, `NAME.key`. */
  publicFile: string;
  /** The secret certificate, `NAME.key_secret`. */
  secretFile: string;
  /** The public key, as Z85. */
  publicKey: string;
}

/** The keys of an allow-list directory, and what was wrong with the files left out. */
export interface AllowList {
  /** The public keys, as Z85 (compare a client's key with `z85Encode(key)`). */
  keys: Set<string>;
  /** One line per file left out: its path and why. */
  problems: string[];
}

/** Raised for a certificate that cannot be read, or that says something wrong. */
export class CertificateError extends Error {
  override name = "CertificateError";
}

/** A ZPL node: its name, its value (empty if none) and its children. */
interface ZplNode {
  name: string;
  value: string;
  children: ZplNode[];
}

const NAME = /^[A-Za-z0-9$\-_@.&+/]+$/;

/**
 * Parses ZPL (RFC 4) as czmq and pyzmq write it: four spaces of indent per level,
 * `name [= value]` with the value in quotes or not, `#` comments.
 */
function parseZpl(text: string, source: string): ZplNode {
  const root: ZplNode = { name: "root", value: "", children: [] };
  const path: ZplNode[] = [root];
  text.split(/\r?\n/).forEach((line, index) => {
    const where = `${source}, line ${index + 1}`;
    const body = line.replace(/^ */, "");
    if (body === "" || body.startsWith("#")) return;
    const indent = line.length - body.length;
    if (indent % 4 !== 0 || indent / 4 > path.length - 1) {
      throw new CertificateError(`${where}: indented by ${indent} spaces`);
    }
    // an unquoted value runs to a comment or the end (pyzmq writes `name = a slave` so)
    const m = /^([^\s=#]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^#"']*?)))?\s*(?:#.*)?$/.exec(body);
    if (!m || !NAME.test(m[1]!)) throw new CertificateError(`${where}: not "name = value"`);
    const node = { name: m[1]!, value: m[2] ?? m[3] ?? m[4] ?? "", children: [] };
    path.length = indent / 4 + 1;
    path.at(-1)!.children.push(node);
    path.push(node);
  });
  return root;
}

function child(node: ZplNode | undefined, name: string): ZplNode | undefined {
  return node?.children.find((c) => c.name === name);
}

/** A Z85 key of a certificate as bytes. */
function key(text: string, what: string, source: string): Uint8Array {
  if (text.length !== 40) {
    throw new CertificateError(`${source}: ${what} is not 40 characters of Z85`);
  }
  try {
    return z85Decode(text);
  } catch (e) {
    if (e instanceof ZmqError) throw new CertificateError(`${source}: ${what}: ${e.message}`);
    throw e;
  }
}

/** Parses a certificate's text; `source` names it in errors. */
export function parseCertificate(text: string, source = "certificate"): Certificate {
  const root = parseZpl(text, source);
  const curve = child(root, "curve");
  const publicText = child(curve, "public-key")?.value;
  if (!publicText) throw new CertificateError(`${source}: no curve public-key`);
  const publicKey = key(publicText, "public-key", source);
  const metadata = new Map(child(root, "metadata")?.children.map((c) => [c.name, c.value]));
  const secretText = child(curve, "secret-key")?.value;
  if (secretText === undefined) return { publicKey, metadata };
  const secretKey = key(secretText, "secret-key", source);
  if (z85Encode(publicKeyOf(secretKey)) !== z85Encode(publicKey)) {
    throw new CertificateError(`${source}: public-key is not the public key of secret-key`);
  }
  return { publicKey, secretKey, metadata };
}

/** Reads a certificate file; with `secret`, it must be a secret certificate. */
export async function readCertificate(
  path: string,
  options: { secret?: boolean } = {},
): Promise<Certificate> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CertificateError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const certificate = parseCertificate(text, path);
  if (options.secret && !certificate.secretKey) {
    throw new CertificateError(`${path}: a public certificate, where the secret one is needed`);
  }
  return certificate;
}

/** The text of a certificate in czmq's layout; a secret key makes it the secret one. */
export function formatCertificate(
  publicKey: Uint8Array,
  secretKey?: Uint8Array,
  now: Date = new Date(),
): string {
  const stamp = now.toISOString().slice(0, 19).replace("T", " ");
  const header = [`   ****  Generated on ${stamp} by piwheels  ****`];
  if (secretKey) {
    header.push(
      "   ZeroMQ CURVE **Secret** Certificate",
      "   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
    );
  } else {
    header.push(
      "   ZeroMQ CURVE Public Certificate",
      "   Exchange securely, or use a secure mechanism to verify the contents",
      "   of this file after exchange. Store public certificates in your home",
      "   directory, in the .curve subdirectory.",
    );
  }
  const lines = [...header.map((line) => `#${line}`), "", "metadata", "curve"];
  lines.push(`    public-key = "${z85Encode(publicKey)}"`);
  if (secretKey) lines.push(`    secret-key = "${z85Encode(secretKey)}"`);
  return lines.join("\n") + "\n";
}

/**
 * Makes a key pair and writes it as `DIR/NAME.key` and `DIR/NAME.key_secret` (mode 0600).
 * Refuses to overwrite either file: nothing is written then.
 */
export async function writeCertificates(dir: string, name: string): Promise<CertificateFiles> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new CertificateError(
      `${JSON.stringify(name)} is not a certificate name (letters, digits, '.', '_', '-')`,
    );
  }
  const { publicKey, secretKey } = keyPair();
  const base = join(dir, name);
  const files = { publicFile: `${base}.key`, secretFile: `${base}.key_secret` };
  const now = new Date();
  await create(files.secretFile, formatCertificate(publicKey, secretKey, now), 0o600);
  try {
    await create(files.publicFile, formatCertificate(publicKey, undefined, now), 0o644);
  } catch (e) {
    await Deno.remove(files.secretFile);
    throw e;
  }
  secretKey.fill(0);
  return { ...files, publicKey: z85Encode(publicKey) };
}

/** Writes a new file (never an existing one) with `mode`. */
async function create(path: string, text: string, mode: number): Promise<void> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true, mode });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new CertificateError(`${path} exists already: not overwriting it`);
    }
    throw new CertificateError(`cannot write ${path}: ${(e as Error).message}`);
  }
  await Deno.chmod(path, mode); // whatever the umask
}

/**
 * Reads every public certificate (`*.key`) in a directory as an allow-list of keys. A file
 * that does not parse, or a secret certificate among them, is left out and reported; a
 * directory that cannot be read is an error.
 */
export async function readAllowList(dir: string): Promise<AllowList> {
  const list: AllowList = { keys: new Set(), problems: [] };
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    throw new CertificateError(`cannot read the directory ${dir}: ${(e as Error).message}`);
  }
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = join(dir, entry.name);
    if (entry.name.endsWith(".key_secret")) {
      list.problems.push(`${path}: a secret certificate; only public ones (*.key) belong here`);
      continue;
    }
    if (!entry.name.endsWith(".key") || entry.isDirectory) continue;
    try {
      list.keys.add(z85Encode((await readCertificate(path)).publicKey));
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      list.problems.push(e.message);
    }
  }
  return list;
}
