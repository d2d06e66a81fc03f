import { type Context, cause } from "@tether/core";

/** How far down a `.cause` chain an echo is looked for: far past any real wrapping, short of a cycle. */
const DEPTH = 16;

/**
 * Whether `error` is the cancellation of `ctx` coming back: `ctx.err`, the cause a fetch-style API
 * rejects with, or either wrapped by a task in errors of its own through `.cause` (`throw new
 * Error("step failed", { cause: e })`). Only `.cause` is followed, not a SuppressedError's parts:
 * the one a task's cleanup failure is reported in also carries the cancellation, and that failure
 * must count. False while `ctx` is not cancelled, so call it as the error arrives. It never
 * throws: an error whose `.cause` getter throws, or a revoked Proxy, is the task's own failure.
 *
 * @internal
 */
export function isEcho(error: unknown, ctx: Context): boolean {
  try {
    const err = ctx.err;
    if (err === undefined) return false;
    const why = cause(ctx);
    let e = error;
    for (let i = 0; i < DEPTH && e !== undefined && e !== null; i++) {
      if (e === err || e === why) return true;
      if (!(e instanceof Error)) return false;
      e = e.cause;
    }
  } catch {
    // Fall through: what cannot be inspected is not recognisably the cancellation.
  }
  return false;
}
