import { describe } from "@tether/core/internal";

/**
 * Checks a whole number argument: a number (else TypeError) that is a safe integer ≥ `min`
 * (else RangeError). The messages name the caller, the argument and the value received.
 *
 * @internal
 */
export function checkWhole(v: unknown, min: number, fn: string, arg: string): number {
  if (typeof v !== "number") throw new TypeError(`${fn}: ${arg} must be a number, received ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < min) {
    const bound = min === -Infinity ? "" : ` ≥ ${min}`;
    throw new RangeError(`${fn}: ${arg} must be a whole number${bound}, received ${describe(v)}`);
  }
  return v;
}
