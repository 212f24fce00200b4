/**
 * The assertions our tests use, in the shape of `@std/assert` (which is on JSR, out of reach
 * here), built on `node:assert`'s strict deep equality.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";

/** An error class, as `assertThrows` accepts one. */
// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error = Error> = abstract new (...args: any[]) => E;

/** Raised when an assertion fails. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Asserts that a value is truthy. */
export function assert(value: unknown, message = "expected a truthy value"): asserts value {
  if (!value) throw new AssertionError(message);
}

/** Asserts deep strict equality (Maps, Sets, class instances and typed arrays included). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch (e) {
    throw new AssertionError(`${message ? `${message}: ` : ""}${(e as Error).message}`);
  }
  throw new AssertionError(message ?? "values differ");
}

/** Asserts that two values are not deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(message ?? `expected a value other than ${String(expected)}`);
  }
}

/** Asserts that a value is an instance of a class, and narrows it. */
export function assertInstanceOf<T>(
  value: unknown,
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => T,
  message?: string,
): asserts value is T {
  if (!(value instanceof type)) {
    const got = value === null
      ? "null"
      : typeof value === "object"
      ? (value as object).constructor?.name
      : typeof value;
    throw new AssertionError(message ?? `expected an instance of ${type.name}, got ${got}`);
  }
}

/** Asserts that a string contains a substring. */
export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      message ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
    );
  }
}

/** Asserts that a string matches a regular expression. */
export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  if (!expected.test(actual)) {
    throw new AssertionError(message ?? `expected ${JSON.stringify(actual)} to match ${expected}`);
  }
}

function checkError<E extends Error>(
  e: unknown,
  type: ErrorClass<E> | undefined,
  includes: string | undefined,
  message: string | undefined,
): E {
  const prefix = message ? `${message}: ` : "";
  if (type && !(e instanceof type)) {
    throw new AssertionError(`${prefix}expected ${type.name}, got ${String(e)}`);
  }
  if (includes !== undefined && !(e instanceof Error && e.message.includes(includes))) {
    throw new AssertionError(
      `${prefix}expected the error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify(e instanceof Error ? e.message : String(e))
      }`,
    );
  }
  return e as E;
}

/** Asserts that a function throws (an instance of `type`, with `includes` in its message). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  type?: ErrorClass<E>,
  includes?: string,
  message?: string,
): E {
  try {
    fn();
  } catch (e) {
    return checkError(e, type, includes, message);
  }
  throw new AssertionError(`${message ? `${message}: ` : ""}expected the function to throw`);
}

/** Asserts that a promise rejects (with an instance of `type`, `includes` in its message). */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  type?: ErrorClass<E>,
  includes?: string,
  message?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, type, includes, message);
  }
  throw new AssertionError(`${message ? `${message}: ` : ""}expected the promise to reject`);
}
