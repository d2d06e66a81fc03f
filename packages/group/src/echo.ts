import { type Context, cause } from "@tether/core";

/** How far down a `.cause` chain an echo is looked for: far past any real wrapping, short of a cycle. */
const DEPTH = 16;

/**
 * Whether `error` is the cancellation of `ctx` coming back: `ctx.err`, the cause a fetch-style API
 * rejects with, or either wrapped by a task in errors of its own through `.cause` (`throw new
 * Error("step failed", { cause: e })`). Only `.cause` is followed, not a SuppressedError's parts:
 * the one a task's cleanup failure is reported in also carries the cancellation, and that failure
 * must count. A `.cause` getter that throws ends the search: the error is then the task's own.
 *
 * @internal
 */
export function isEcho(error: unknown, ctx: Context): boolean {
  const err = ctx.err;
  if (err === undefined) return false;
  const why = cause(ctx);
  let e = error;
  for (let i = 0; i < DEPTH; i++) {
    if (e === err || e === why) return true;
    if (!(e instanceof Error)) return false;
    try {
      e = e.cause;
    } catch {
      return false;
    }
  }
  return false;
}
