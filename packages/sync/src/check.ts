import { describe } from "@tether/core/internal";

/**
 * Checks a whole number argument: a number (else TypeError) that is a safe integer ≥ `min`
 * (else RangeError). The messages name the caller, the argument and the value received.
 */
export function checkWhole(v: unknown, min: number, fn: string, arg: string): number {
  const bad = wholeError(v, min, fn, arg);
  if (bad !== undefined) throw bad;
  return v as number;
}

/** What {@link checkWhole} would throw for `v`, or undefined: for a method that rejects instead. */
export function wholeError(v: unknown, min: number, fn: string, arg: string): TypeError | RangeError | undefined {
  if (typeof v !== "number") return new TypeError(`${fn}: ${arg} must be a number, received ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < min) {
    const bound = min === -Infinity ? "" : ` ≥ ${min}`;
    return new RangeError(`${fn}: ${arg} must be a whole number${bound}, received ${describe(v)}`);
  }
  return undefined;
}

/**
 * Runs the argument checks of a method that returns a promise: a check that throws becomes the
 * rejection the method returns, so that `Promise.all([…])` and `.catch()` see a bad argument as
 * they see every other failure. Returns the rejected promise, or undefined when every check passed.
 */
export function rejectIfThrows(checks: () => void): Promise<never> | undefined {
  try {
    checks();
    return undefined;
  } catch (e) {
    return Promise.reject(e);
  }
}
