import { type Context, cause } from "@tether/core";

/** How far down a `.cause` chain an echo is looked for: far past any real wrapping, short of a cycle. */
const DEPTH = 16;

/**
 * Whether `error` is the cancellation of `ctx` coming back: the cause itself, as a fetch-style API
 * rejects with it, or `ctx.err`, itself or wrapped by the task in errors of its own through
 * `.cause` (`throw new Error("step failed", { cause: e })`).
 *
 * The cause is matched only as it is, or inside the `AbortError` that Node's signal-aware APIs
 * reject with (`{ name: "AbortError", cause: signal.reason }`): a group's cause is usually its
 * first failure, and a sibling's own error may well wrap the same upstream failure without being
 * an echo. Only `.cause`
 * is followed, not a SuppressedError's parts: the one a task's cleanup failure is reported in also
 * carries the cancellation, and that failure must count. False while `ctx` is not cancelled, so
 * call it as the error arrives. It never throws: an error whose `.cause` getter throws, or a
 * revoked Proxy, is the task's own failure.
 *
 * @internal
 */
export function isEcho(error: unknown, ctx: Context): boolean {
  try {
    const err = ctx.err;
    if (err === undefined) return false;
    const why = cause(ctx);
    if (error === why || isAbortOf(error, why)) return true;
    let e = error;
    for (let i = 0; i < DEPTH; i++) {
      if (e === err || isAbortOf(e, why)) return true;
      if (!(e instanceof Error)) return false;
      e = e.cause;
    }
  } catch {
    // Fall through: what cannot be inspected is not recognisably the cancellation.
  }
  return false;
}

/**
 * Whether `error` is exactly the cancellation of `ctx`, `ctx.err` or its cause, unwrapped: what
 * `race` asks before it reports the caller's cancellation in place of every task's failure, where
 * an error that merely wraps a sentinel might be a task's own (its attempt's DeadlineExceeded)
 * and must not be lost.
 *
 * @internal
 */
export function isBareEcho(error: unknown, ctx: Context): boolean {
  try {
    const err = ctx.err;
    if (err === undefined) return false;
    const why = cause(ctx);
    return error === err || error === why || isAbortOf(error, why);
  } catch {
    return false;
  }
}

/**
 * Whether `error` is the `AbortError` that Node's signal-aware APIs (timers/promises, events.once,
 * streams) reject with, `{ name: "AbortError", cause: signal.reason }`, for a signal that aborted
 * with `why`: the cancellation itself, however unwrapped it otherwise is.
 */
function isAbortOf(error: unknown, why: unknown): boolean {
  return error instanceof Error && error.name === "AbortError" && error.cause === why;
}
