/**
 * Assertions for the tests, on `node:assert/strict` (JSR's `@std/assert` is not reachable from
 * the build machines).
 *
 * @module
 */

import assert from "node:assert/strict";

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** The text includes the part. */
export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  assert.ok(
    actual.includes(expected),
    message ?? `expected to find ${JSON.stringify(expected)} in:\n${actual}`,
  );
}

/** The text does not include the part. */
export function assertNotIncludes(actual: string, unexpected: string, message?: string): void {
  assert.ok(
    !actual.includes(unexpected),
    message ?? `expected not to find ${JSON.stringify(unexpected)} in:\n${actual}`,
  );
}

/** A truthy value. */
export function assertOk(value: unknown, message?: string): asserts value {
  assert.ok(value, message);
}

/** `fn` throws an instance of `type` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type?: new (...args: any[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (error) {
    check(error, type, includes);
    return error as Error;
  }
  throw new assert.AssertionError({ message: "expected a throw" });
}

/** `fn` rejects with an instance of `type` whose message includes `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type?: new (...args: any[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    check(error, type, includes);
    return error as Error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

// deno-lint-ignore no-explicit-any
function check(error: unknown, type?: new (...args: any[]) => Error, includes?: string): void {
  if (type) assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
  if (includes !== undefined) assertStringIncludes(String((error as Error)?.message), includes);
}

/** Whether a promise has settled after the tasks already queued have run. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}
