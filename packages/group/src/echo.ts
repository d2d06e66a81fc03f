import { type Context, cause } from "@tether/core";

/**
 * How many parts of an error an echo is looked for in: `.cause` links and the members of
 * aggregates, far past any real wrapping, short of a cycle or a getter that makes a new error at
 * every read.
 */
const PARTS = 64;

/**
 * Whether `error` is the cancellation of `ctx` coming back: the cause itself, as a fetch-style API
 * rejects with it, or `ctx.err`, itself or wrapped by the task in errors of its own through
 * `.cause` (`throw new Error("step failed", { cause: e })`), or an aggregate of nothing but such
 * echoes: the `AggregateError` of a `Promise.any` whose every call was cancelled, or the
 * `SuppressedError` of an `await using` whose body and disposal both ended with the cancellation.
 *
 * The cause is matched only as it is (alone or as a member of such an aggregate), or inside the
 * `AbortError` that Node's signal-aware APIs reject with (`{ name: "AbortError", cause:
 * signal.reason }`): a group's cause is usually its first failure, and a sibling's own error may
 * well wrap the same upstream failure without being an echo. A `SuppressedError` with any other
 * part is a failure: the one a task's cleanup failure is reported in also carries the cancellation,
 * and that failure must count. False while `ctx` is not cancelled, so call it as the error arrives.
 * It never throws: an error whose parts cannot be read (a throwing getter, a revoked Proxy) is the
 * task's own failure.
 *
 * @internal
 */
export function isEcho(error: unknown, ctx: Context): boolean {
  return echoOf(error, ctx, true);
}

/**
 * Whether `error` is exactly the cancellation of `ctx`, `ctx.err` or its cause, unwrapped (or an
 * aggregate of nothing else, as {@link isEcho} reads one): what `race` asks before it reports the
 * caller's cancellation in place of every task's failure, where an error that merely wraps a
 * sentinel might be a task's own (its attempt's DeadlineExceeded) and must not be lost.
 *
 * @internal
 */
export function isBareEcho(error: unknown, ctx: Context): boolean {
  return echoOf(error, ctx, false);
}

function echoOf(error: unknown, ctx: Context, wrapped: boolean): boolean {
  try {
    const err = ctx.err;
    if (err === undefined) return false;
    return new EchoTest(err, cause(ctx), wrapped).test(error, true);
  } catch {
    // What cannot be inspected is not recognisably the cancellation.
    return false;
  }
}

/** One question "is this nothing but the cancellation?", with its budget of parts to read. */
class EchoTest {
  #left = PARTS;

  constructor(
    private readonly _err: Error,
    private readonly _why: unknown,
    /** Whether a `.cause` chain down to the cancellation counts, or only the cancellation itself. */
    private readonly _wrapped: boolean,
  ) {}

  /** `whole`: `e` is the task's failure itself or an aggregate's member, not a link of a `.cause` chain. */
  test(e: unknown, whole: boolean): boolean {
    for (;;) {
      if (--this.#left < 0) return false;
      if (e === this._err || (whole && e === this._why) || isAbortOf(e, this._why)) return true;
      if (!(e instanceof Error)) return false;
      const parts = partsOf(e);
      if (parts !== null) return parts.length > 0 && parts.every((p) => this.test(p, true));
      if (!this._wrapped) return false;
      e = e.cause;
      whole = false;
    }
  }
}

/**
 * The parts of an aggregate error, read as `errorIs` reads them: an `AggregateError`'s `errors`,
 * a `SuppressedError`'s `error` and `suppressed`; null for any other error.
 */
function partsOf(e: Error): readonly unknown[] | null {
  const o = e as { errors?: unknown; error?: unknown; suppressed?: unknown };
  const errors = o.errors;
  if (Array.isArray(errors)) return errors;
  if ("suppressed" in o && "error" in o) return [o.error, o.suppressed];
  return null;
}

/**
 * Whether `error` is the `AbortError` that Node's signal-aware APIs (timers/promises, events.once,
 * streams) reject with, `{ name: "AbortError", cause: signal.reason }`, for a signal that aborted
 * with `why`: the cancellation itself, however unwrapped it otherwise is.
 */
function isAbortOf(error: unknown, why: unknown): boolean {
  return error instanceof Error && error.name === "AbortError" && error.cause === why;
}
