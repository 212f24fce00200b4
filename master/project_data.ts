/**
 * What a project page shows (the Oracle's PROJDATA), as `get_project_data()` returns it in
 * JSON and as the master's tasks use it: typed, with timestamps and durations exact.
 *
 * @module
 */

import { parseInterval, parseTimestamp } from "../shared/db/values.ts";
import type { Duration } from "../shared/duration.ts";
import type { Dependencies } from "../shared/states.ts";
import type { Timestamp } from "../shared/timestamp.ts";

/**
 * A version's state on one active build ABI: a file that installs there exists (`built`), a
 * build for it was tried and none does (`failed`), the version or package is skipped
 * (`skipped`), or it is waiting (`pending`).
 */
export type AbiStatus = "built" | "failed" | "skipped" | "pending";

/** One build attempt of a version. */
export interface BuildData {
  /** The build's id (its log page is named by it). */
  buildId: number;
  /** The ABI the building slave had. */
  abiTag: string;
  /** Whether it succeeded. */
  status: boolean;
  /** The slave's id (0 for an import). */
  builtBy: number;
  /** When it was logged. */
  builtAt: Timestamp;
  /** How long it took. */
  duration: Duration;
}

/** One wheel of a version. */
export interface FileData {
  /** The wheel's file name. */
  filename: string;
  /** The build that made it. */
  buildId: number;
  /** Its size in bytes. */
  filesize: number;
  /** Its SHA-256, lower-case hex. */
  filehash: string;
  /** The name's package tag. */
  packageTag: string;
  /** The name's version tag. */
  packageVersionTag: string;
  /** The name's Python tag. */
  pyVersionTag: string;
  /** The name's ABI tag. */
  abiTag: string;
  /** The name's platform tag. */
  platformTag: string;
  /** Its Requires-Python, when known. */
  requiresPython: string | null;
  /** The SHA-256 of its core metadata published beside it (PEP 658), when extracted. */
  metadataHash: string | null;
  /** What it needs installed: tool → packages. */
  dependencies: Dependencies;
}

/** One version of a project. */
export interface VersionData {
  /** The version string. */
  version: string;
  /** When PyPI released it. */
  released: Timestamp;
  /** Why it is not built ('' when it is). */
  skip: string;
  /** Whether it is yanked (PEP 592). */
  yanked: boolean;
  /** Its Requires-Python, when known. */
  requiresPython: string | null;
  /** Its state on each active build ABI. */
  abis: Record<string, AbiStatus>;
  /** Its builds, oldest first. */
  builds: BuildData[];
  /** Its files, by name. */
  files: FileData[];
}

/** Everything a project page needs. */
export interface ProjectData {
  /** The package's name in its normal form (PEP 503): the key, and its pages' path. */
  package: string;
  /** The name pages show: the spelling PyPI used last (the normal form when none). */
  name: string;
  /** The other spellings of its name (PyPI's, and any an operator added), sorted. */
  aliases: string[];
  /** PyPI's one-line description. */
  description: string;
  /** Why it is not built ('' when it is). */
  skip: string;
  /** Its priority in the build queue (the operator's; 0 usually). */
  priority: number;
  /** Downloads of its files in the last 30 days. */
  downloadsRecent: number;
  /** Downloads of its files ever. */
  downloadsAll: number;
  /** Downloads per day (UTC, `YYYY-MM-DD`) of the last 30 days that had any, oldest first. */
  downloadsDaily: [string, number][];
  /** Its versions, newest release first. */
  versions: VersionData[];
  /**
   * The rewrite of its pages owed when this was read (`rewrites_pending`), if any: pages written
   * from this data pay it by its seq (the project page alone pays only for itself: `both`).
   */
  rewrite: { seq: number; since: Timestamp; both: boolean } | null;
}

// deno-lint-ignore no-explicit-any
type Json = any;

function buildData(b: Json): BuildData {
  return {
    buildId: b.build_id,
    abiTag: b.abi_tag,
    status: b.status,
    builtBy: b.built_by,
    builtAt: parseTimestamp(b.built_at),
    duration: parseInterval(b.duration),
  };
}

function fileData(f: Json): FileData {
  return {
    filename: f.filename,
    buildId: f.build_id,
    filesize: f.filesize,
    filehash: f.filehash,
    packageTag: f.package_tag,
    packageVersionTag: f.package_version_tag,
    pyVersionTag: f.py_version_tag,
    abiTag: f.abi_tag,
    platformTag: f.platform_tag,
    requiresPython: f.requires_python,
    metadataHash: f.metadata_sha256 ?? null,
    dependencies: f.dependencies,
  };
}

/** Parses the JSON text `get_project_data()` returns (null for an unknown package). */
export function parseProjectData(text: string | null): ProjectData | null {
  return text === null ? null : projectData(JSON.parse(text));
}

function projectData(doc: Json): ProjectData {
  return {
    package: doc.package,
    name: doc.name,
    aliases: doc.aliases,
    description: doc.description,
    skip: doc.skip,
    priority: doc.priority,
    downloadsRecent: doc.downloads_recent,
    downloadsAll: doc.downloads_all,
    downloadsDaily: doc.downloads_daily ?? [],
    versions: doc.versions.map((v: Json): VersionData => ({
      version: v.version,
      released: parseTimestamp(v.released),
      skip: v.skip,
      yanked: v.yanked,
      requiresPython: v.requires_python,
      abis: v.abis,
      builds: v.builds.map(buildData),
      files: v.files.map(fileData),
    })),
    rewrite: doc.rewrite
      ? { seq: doc.rewrite.seq, since: parseTimestamp(doc.rewrite.since), both: doc.rewrite.both }
      : null,
  };
}
