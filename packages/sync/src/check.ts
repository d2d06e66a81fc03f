import { contextError, describe, toContext } from "@tether/core/internal";

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
 * The error for a `with…` helper's `ctx` that is not a Context or `fn` that is not a function,
 * naming `caller`; undefined when both are good. Returned, not thrown: the helper rejects with it.
 */
export function heldArgsError(ctx: unknown, fn: unknown, caller: string): TypeError | undefined {
  if (toContext(ctx) === null) return contextError(ctx, caller, "ctx");
  if (typeof fn !== "function") return new TypeError(`${caller}: fn must be a function, received ${describe(fn)}`);
  return undefined;
}
