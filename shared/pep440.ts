/**
 * Version strings (PEP 440): the normal form of a version, as `packaging.version.Version`
 * prints it, so that what a wheel's file name, its METADATA or an sdist's name says can be
 * compared with the release the master asked for (`1.0-Beta.2` is `1.0b2`, `1.0.post` is
 * `1.0.post0`).
 *
 * @module
 */

const VERSION = new RegExp(
  "^\\s*v?" +
    "(?:(?<epoch>[0-9]+)!)?" +
    "(?<release>[0-9]+(?:\\.[0-9]+)*)" +
    "(?<pre>[-_.]?(?<preL>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preN>[0-9]+)?)?" +
    "(?<post>(?:-(?<postN1>[0-9]+))|(?:[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?))?" +
    "(?<dev>[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?" +
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?" +
    "\\s*$",
  "i",
);

const PRE_LABELS: Record<string, string> = {
  alpha: "a",
  a: "a",
  beta: "b",
  b: "b",
  c: "rc",
  pre: "rc",
  preview: "rc",
  rc: "rc",
};

/** A decimal number without its leading zeros (numbers may exceed 2^53). */
function number(digits: string | undefined): string {
  return BigInt(digits ?? "0").toString();
}

/**
 * The normal form of a PEP 440 version (`1.0-Beta.2` → `1.0b2`, `v1.0.0_RC1` → `1.0.0rc1`,
 * `1.0+Ubuntu-1` → `1.0+ubuntu.1`), or null when the string is not a PEP 440 version.
 */
export function normalizeVersion(version: string): string | null {
  const m = VERSION.exec(version);
  if (!m) return null;
  const g = m.groups!;
  let out = "";
  if (g.epoch !== undefined && BigInt(g.epoch) !== 0n) out += `${number(g.epoch)}!`;
  out += g.release!.split(".").map(number).join(".");
  if (g.pre !== undefined) out += PRE_LABELS[g.preL!.toLowerCase()]! + number(g.preN);
  if (g.post !== undefined) out += `.post${number(g.postN1 ?? g.postN2)}`;
  if (g.dev !== undefined) out += `.dev${number(g.devN)}`;
  if (g.local !== undefined) {
    out += "+" +
      g.local.toLowerCase().split(/[-_.]/).map((part) =>
        /^[0-9]+$/.test(part) ? number(part) : part
      ).join(".");
  }
  return out;
}

/**
 * Whether two version strings name the same release, as PEP 440 compares them: equal normal
 * forms once trailing zeros of the release are dropped (`1.0` is `1.0.0`, as `pip` and
 * `packaging.version.Version` hold: pip builds a release `1` whose `setup.py` says `1.0.0` and
 * names its wheel so), or, for versions PEP 440 cannot read (legacy ones, such as `2004d`), equal
 * strings once the `-` a wheel's file name cannot hold is read as `_`.
 */
export function sameVersion(a: string, b: string): boolean {
  const na = normalizeVersion(a);
  const nb = normalizeVersion(b);
  if (na !== null && nb !== null) return na === nb || comparable(na) === comparable(nb);
  if (na !== null || nb !== null) return false;
  return a.replaceAll("-", "_") === b.replaceAll("-", "_");
}

/** A normal form with its release's trailing zeros dropped (`1.0.0rc1` → `1rc1`). */
function comparable(normal: string): string {
  return normal.replace(/^((?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*?)(?:\.0)+(?!\.?[0-9])/, "$1");
}
