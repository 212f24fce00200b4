/**
 * Where a build's log is published under the output path, and which build a published log is:
 * `logs/0000/000/042.txt.gz` is build 42 (ten digits, split so that no directory holds more
 * than a thousand entries).
 *
 * @module
 */

/** Where a build's log is published, relative to the site root. */
export function logPath(buildId: number): string {
  const digits = String(buildId).padStart(10, "0");
  return `logs/${digits.slice(0, 4)}/${digits.slice(4, 7)}/${digits.slice(7)}.txt.gz`;
}

const LOG = /^logs\/(\d{4})\/(\d{3})\/(\d{3})\.txt\.gz$/;

/** The build whose log is published at `path` (relative to the site root), or null. */
export function logBuildId(path: string): number | null {
  const m = LOG.exec(path);
  return m ? Number(`${m[1]}${m[2]}${m[3]}`) : null;
}
