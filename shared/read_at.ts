/**
 * Reading an exact range of a file, for the readers of wheels (the master's metadata reader)
 * and the senders of files (piw-import's answers to FETCH).
 *
 * @module
 */

/**
 * The `length` bytes of `file` at `offset`; throws what `short` makes when the file ends
 * before them.
 */
export async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
  short: (got: number) => Error,
): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) throw short(got);
    got += n;
  }
  return buf;
}
