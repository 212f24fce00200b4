/**
 * Reading an HTTP response's body within a bound: a server (PyPI, or whatever mirror the options
 * name) cannot make the master hold more than it expects.
 *
 * @module
 */

/**
 * The body of `response`, at most `maxBytes`: a larger one (as its Content-Length says, or as it
 * comes) raises what `tooLarge` makes of the size seen, and is not read further.
 */
export async function boundedBody(
  response: Response,
  maxBytes: number,
  tooLarge: (size: string) => Error,
): Promise<Uint8Array> {
  const said = Number(response.headers.get("content-length") ?? "0");
  if (said > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(`${said} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw tooLarge(`more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return body;
}
