/**
 * The file queue's one rule both ends share (WIRE.md "File transfer"): numbers (slave ids,
 * offsets, lengths) travel as ASCII decimal frames, and nothing else passes for one.
 *
 * @module
 */

const decoder = new TextDecoder();

/**
 * A frame's number: ASCII decimal digits only (no sign, exponent, hex or spaces), at most
 * `digits` of them; null for anything else.
 */
export function decimalFrame(frame: Uint8Array | undefined, digits = 16): number | null {
  if (!frame || frame.length === 0 || frame.length > digits) return null;
  const text = decoder.decode(frame);
  return /^\d+$/.test(text) ? Number(text) : null;
}
