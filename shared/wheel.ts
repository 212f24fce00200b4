/**
 * Wheel file names (PEP 427), their tags (PEP 425) and project names (PEP 503): what the
 * master, the slave and piw-import read out of a file name, the grammar every tag a peer names
 * must follow, whether a wheel belongs to the release a build was for, and the normal form of
 * a project name used in URLs.
 *
 * @module
 */

import { sameVersion } from "./pep440.ts";

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
 * One PEP 425 tag, as a build slave names its Python version, ABI and platform (`311`,
 * `cp311`, `linux_armv7l`): letters, digits and `_`, at most 100 characters.
 */
export const TAG = /^[A-Za-z0-9_]{1,100}$/;

/** A PEP 425 compressed tag set, as a wheel's name holds them: tags joined by `.` (`py2.py3`). */
export const TAG_SET = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;

/** A distribution name as a wheel's file name writes it (PEP 427: `-` escaped as `_`). */
const DISTRIBUTION = /^[A-Za-z0-9](?:[A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** ABI tags a wheel may carry whatever ABI it was built for: no ABI, the stable ABI. */
const ANY_ABI = new Set(["none", "abi3"]);

/**
 * The largest wheel a build may make: the master refuses a larger file before it is sent, and
 * the slave fails such a build before it hashes the file (a sparse file takes no space to make).
 */
export const MAX_WHEEL_SIZE = 2 * 1024 ** 3;

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
  if (buildTag !== null && !/^\d[A-Za-z0-9_]*$/.test(buildTag)) {
    throw new WheelNameError(`a build tag is a digit, then letters, digits or '_': ${filename}`);
  }
  if (!DISTRIBUTION.test(packageTag)) {
    throw new WheelNameError(`not a distribution name: ${packageTag} in ${filename}`);
  }
  for (const tag of [pyVersionTag, abiTag, platformTag]) {
    if (!TAG_SET.test(tag)) throw new WheelNameError(`not a PEP 425 tag: ${tag} in ${filename}`);
  }
  return { packageTag, packageVersionTag, pyVersionTag, abiTag, platformTag, buildTag };
}

/** PEP 503's normal form of a project name: lower case, runs of `-`, `_`, `.` as one `-`. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

/**
 * What follows `<a spelling of name>-` in `stem` (a file name without its extension, as
 * `<project>-<version>`), or null; `name` is in PEP 503's normal form ({@linkcode normalizeName}).
 * The stem is normalised as it is read, once, and only as far as `name` goes (a mirror's page may
 * list a million names of 1,000 characters: splitting each at every dash and normalising the part
 * before it took 3 ms a name, and an 80,000-character name 100 s). Only the dash right after the
 * name's last character can follow the name (a run of separators normalises to one `-`, which no
 * project name ends with).
 */
export function versionAfter(stem: string, name: string): string | null {
  let normal = "";
  for (let i = 0; i < stem.length && normal.length <= name.length; i++) {
    const c = stem[i]!;
    if (c === "-" && normal === name) return stem.slice(i + 1);
    if (c === "-" || c === "_" || c === ".") {
      if (!normal.endsWith("-")) normal += "-";
    } else {
      normal += c.toLowerCase();
    }
  }
  return null;
}

/** A wheel's file name and the five tags a peer said it has (the file tuple's). */
export interface ClaimedWheel {
  /** The file name. */
  readonly filename: string;
  /** The distribution name the peer gave. */
  readonly packageTag: string;
  /** The version the peer gave. */
  readonly packageVersionTag: string;
  /** The Python tag the peer gave. */
  readonly pyVersionTag: string;
  /** The ABI tag the peer gave. */
  readonly abiTag: string;
  /** The platform tag the peer gave. */
  readonly platformTag: string;
}

/**
 * Why a wheel a peer sent is not one of the build of `project` `version` for ABI `abi`, or null
 * when it is: its name must parse, name that project (PEP 503) and version (PEP 440), carry
 * the ABI built for (or none, or abi3), and agree with every tag the peer claimed for it.
 */
export function wheelRefusal(
  wheel: ClaimedWheel,
  project: string,
  version: string,
  abi: string,
): string | null {
  let tags: WheelTags;
  try {
    tags = parseWheelFilename(wheel.filename);
  } catch (e) {
    return (e as WheelNameError).message;
  }
  if (normalizeName(tags.packageTag) !== normalizeName(project)) {
    return `${wheel.filename} is a wheel of ${tags.packageTag}, not of ${project}`;
  }
  if (!sameVersion(tags.packageVersionTag, version)) {
    return `${wheel.filename} is a wheel of version ${tags.packageVersionTag}, not ${version}`;
  }
  const abis = tags.abiTag.split(".");
  if (!abis.every((a) => a === abi || ANY_ABI.has(a) || a === "noabi")) {
    return `${wheel.filename} has ABI ${tags.abiTag}, but the build was for ${abi}`;
  }
  // deployed slaves report the tags split from the name, reading "noabi" as "none"
  const claimed: [string, string, string][] = [
    ["distribution name", wheel.packageTag, tags.packageTag],
    ["version", wheel.packageVersionTag, tags.packageVersionTag],
    ["Python tag", wheel.pyVersionTag, tags.pyVersionTag],
    ["ABI tag", wheel.abiTag, tags.abiTag === "noabi" ? "none" : tags.abiTag],
    ["platform tag", wheel.platformTag, tags.platformTag],
  ];
  for (const [what, said, named] of claimed) {
    if (said !== named && !(what === "ABI tag" && said === tags.abiTag)) {
      return `${wheel.filename}: its ${what} was given as ${said}, but its name says ${named}`;
    }
  }
  return null;
}
