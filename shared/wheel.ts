/**
 * Wheel file names (PEP 427) and project names (PEP 503): what the master, the slave and
 * piw-import read out of a file name, and the normal form of a project name used in URLs.
 *
 * @module
 */

/** The five tags of a wheel's file name, as the protocols carry them. */
export interface WheelTags {
  /** The distribution name as written in the file name (`foo_bar`). */
  packageTag: string;
  /** The version as written in the file name (`1.0`). */
  packageVersionTag: string;
  /** The Python tag (`cp311`, `py3`, `py2.py3`). */
  pyVersionTag: string;
  /** The ABI tag (`cp311`, `abi3`, `none`). */
  abiTag: string;
  /** The platform tag (`linux_armv7l`, `any`, `manylinux_2_17_aarch64.manylinux2014_aarch64`). */
  platformTag: string;
  /** The optional build tag (`1`, `2b`), or null. */
  buildTag: string | null;
}

/** Raised for a file name that is not a wheel's. */
export class WheelNameError extends Error {
  override name = "WheelNameError";
}

const COMPONENT = /^[A-Za-z0-9_.!+]+$/;

/**
 * The tags of a wheel file name `{name}-{version}(-{build})?-{py}-{abi}-{platform}.whl`.
 * Throws {@linkcode WheelNameError} for anything else.
 */
export function parseWheelFilename(filename: string): WheelTags {
  if (!filename.endsWith(".whl")) throw new WheelNameError(`not a wheel: ${filename}`);
  const parts = filename.slice(0, -4).split("-");
  if (parts.length !== 5 && parts.length !== 6) {
    throw new WheelNameError(`a wheel name has 5 or 6 '-'-separated parts: ${filename}`);
  }
  if (!parts.every((p) => COMPONENT.test(p))) {
    throw new WheelNameError(`unexpected characters in wheel name: ${filename}`);
  }
  const [packageTag, packageVersionTag] = parts as [string, string];
  const [pyVersionTag, abiTag, platformTag] = parts.slice(-3) as [string, string, string];
  const buildTag = parts.length === 6 ? parts[2]! : null;
  if (buildTag !== null && !/^\d/.test(buildTag)) {
    throw new WheelNameError(`a build tag starts with a digit: ${filename}`);
  }
  return { packageTag, packageVersionTag, pyVersionTag, abiTag, platformTag, buildTag };
}

/** PEP 503's normal form of a project name: lower case, runs of `-`, `_`, `.` as one `-`. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}
