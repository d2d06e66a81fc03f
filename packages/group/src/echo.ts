import { type Context, cause } from "@tether/core";
import { cancelEpoch, waitErr } from "@tether/core/internal";

/** How deep an echo is looked for, through `.cause` links and nested aggregates: far past any real wrapping, short of a cycle. */
const DEPTH = 16;

/** How many parts of an error are read at most: what ends a getter that makes new parts at every read. */
const PARTS = 100_000;

/**
 * Whether `error` is the cancellation of `ctx`, a child of `parent`, coming back: the cause itself,
 * as a fetch-style API rejects with it; `ctx.err`, or `parent.err` (a foreign parent may say its
 * cancellation is an error of its own, and a task may wait on the parent directly), each itself or
 * wrapped by the task in errors of its own through `.cause` (`throw new Error("step failed", {
 * cause: e })`); or an aggregate of nothing but such echoes: the `AggregateError` of a
 * `Promise.any` whose every call was cancelled, or the `SuppressedError` of an `await using` whose
 * body and disposal both ended with the cancellation.
 *
 * A cause the group gave itself is matched only as it is (alone, or as a member of such an
 * aggregate that is itself the task's error), or inside the `AbortError` that Node's signal-aware
 * APIs reject with (`{ name: "AbortError", cause: signal.reason }`): it is the group's first
 * failure, and a sibling's own error may well wrap the same upstream failure without being an
 * echo. A cause the parent's cancellation brought is matched wrapped too. Errors of another realm
 * are read as this realm's are. An aggregate
 * with any other part is a failure: the `SuppressedError` a task's cleanup failure is reported in
 * also carries the cancellation, and that failure must count; so must an empty `AggregateError`.
 * False while `ctx` is not cancelled, so call it as the error arrives. It never throws: an error
 * whose parts cannot be read (a throwing getter, a revoked Proxy) is the task's own failure.
 *
 * @internal
 */
export function isEcho(error: unknown, ctx: Context, parent: Context): boolean {
  try {
    const err = ctx.err;
    if (err === undefined) return false;
    const why = cause(ctx);
    // A cause the parent's cancellation brought, not one the group gave itself: matched wrapped
    // too, as `fetch` rejects with it and the task wraps that in an error of its own.
    const fromParent = isReason(why, ctx) && causeOf(parent) === why;
    return new EchoTest([err, waitErr(parent, err)], why, true, fromParent).test(error, true, DEPTH);
  } catch {
    // What cannot be inspected is not recognisably the cancellation.
    return false;
  }
}

/**
 * Whether `error` is exactly the cancellation of `ctx` (race's caller's context, `child` its own):
 * `ctx.err`, `child.err` or the cause, unwrapped (or an aggregate of nothing else, as
 * {@link isEcho} reads one), or a cause of the caller's own wrapped: what `race` asks before it
 * reports the caller's cancellation in place of every task's failure, where an error that merely
 * wraps a sentinel might be a task's own (its attempt's DeadlineExceeded) and must not be lost.
 *
 * @internal
 */
export function isBareEcho(error: unknown, ctx: Context, child: Context): boolean {
  try {
    const err = ctx.err;
    if (err === undefined) return false;
    // `child`'s err too: under a foreign parent that names its cancellation with an error of its
    // own, the tasks' waits on their own context reject with the child's. A cause of the caller's
    // own, not a sentinel, is matched wrapped too (a fetch rejection in the task's own error): no
    // attempt of the task's own times out with it.
    const why = cause(ctx);
    return new EchoTest([err, waitErr(child, err)], why, false, why !== err && isReason(why, ctx)).test(error, true, DEPTH);
  } catch {
    return false;
  }
}

/**
 * The cancels with which a group, `run` or `map` cancelled its context for a task's failure, by the
 * failure: each error's `cancelEpoch`s. Such a cause, reaching a nested group as its parent's, is
 * still a task's failure, which a sibling's own error may wrap (a Go-style sentinel, a memoised
 * rejection shared by two tasks), not a cancellation reason; only a reason that code gave a cancel
 * (`withCancelCause`, a timeout's cause, an aborted request's signal) is matched wrapped. The cancel
 * is recorded, not only the error: the same error object given to a cancel elsewhere (a server shut
 * down with the sentinel one of its groups once failed with) is a reason there. A weak map: it
 * holds no error alive, and an error's numbers go with it.
 */
const failures = new WeakMap<object, Set<number>>();

/**
 * Cancels `scope`, a group's context, with `error`, a task's failure, through `cancel`, and
 * records that cancel as a failure's if it is the one that cancelled `scope` (see {@link failures}).
 */
export function cancelWithFailure(scope: Context, cancel: (cause: unknown) => void, error: unknown): void {
  const alive = scope.err === undefined;
  cancel(error);
  if (!alive || error === null || (typeof error !== "object" && typeof error !== "function")) return;
  const epoch = cancelEpoch(scope);
  if (epoch === undefined) return;
  let epochs = failures.get(error);
  if (epochs === undefined) failures.set(error, (epochs = new Set()));
  epochs.add(epoch);
}

/**
 * Whether `why`, the cause of the cancellation of `ctx`, may be matched wrapped: an object, and not
 * a failure that a group's cancel for it reached `ctx` with. Where the cancel that reached `ctx`
 * cannot be known (it came through a signal Tether does not own), an error some group failed with
 * is taken for that failure: a wrapped reason then counts as a failure, never a task's own failure
 * as the cancellation.
 */
function isReason(why: unknown, ctx: Context): boolean {
  if (why === null || (typeof why !== "object" && typeof why !== "function")) return false;
  const epochs = failures.get(why);
  if (epochs === undefined) return true;
  const epoch = cancelEpoch(ctx);
  return epoch !== undefined && !epochs.has(epoch);
}

/** `cause(ctx)`, or undefined if it cannot be read. */
function causeOf(ctx: Context): unknown {
  try {
    return cause(ctx);
  } catch {
    return undefined;
  }
}

/** One question "is this nothing but the cancellation?", with its budget of parts to read. */
class EchoTest {
  #left = PARTS;

  constructor(
    /** The cancellation as the task's context says it, and as its parent does. */
    private readonly _errs: readonly [unknown, unknown],
    private readonly _why: unknown,
    /** Whether the cancellation's err counts wrapped in a `.cause` chain, or only as the error itself. */
    private readonly _wrapped: boolean,
    /** Whether the cause counts wrapped too, or only as the error itself (or an aggregate's member). */
    private readonly _whyWrapped: boolean,
  ) {}

  /**
   * Whether `e` is an echo. `whole`: `e` is the task's error itself, or a member of an aggregate
   * that is, rather than something a `.cause` link reached. `depth`: links and nestings left.
   */
  test(e: unknown, whole: boolean, depth: number): boolean {
    for (; depth > 0; depth--) {
      if (--this.#left < 0) return false;
      const errHere = whole || this._wrapped;
      const whyHere = whole || this._whyWrapped;
      if (errHere && (e === this._errs[0] || e === this._errs[1])) return true;
      if (whyHere && e === this._why) return true;
      if ((errHere || whyHere) && isAbortOf(e, this._why)) return true;
      // Any object, not only `instanceof Error`: an error made in another realm (a vm context, a
      // test runner's sandbox) wraps the same way.
      if (e === null || typeof e !== "object") return false;
      const parts = partsOf(e);
      if (parts !== null) {
        if (parts.length === 0) return false;
        // An indexed loop, not `every`, which skips holes: a slot with nothing in it is no echo.
        for (let i = 0; i < parts.length; i++) if (!this.test(parts[i], whole, depth - 1)) return false;
        // An aggregate's own cause, if it has one, is a link like any other: it must be an echo too.
        const why = (e as { cause?: unknown }).cause;
        return why === undefined || this.test(why, false, depth - 1);
      }
      if (!this._wrapped && !this._whyWrapped) return false;
      e = (e as { cause?: unknown }).cause;
      whole = false;
    }
    return false;
  }
}

/**
 * The members of an aggregate error, read as `errorIs` reads them: an `AggregateError`'s `errors`,
 * a `SuppressedError`'s `error` and `suppressed`; null for any other error.
 */
function partsOf(e: object): readonly unknown[] | null {
  const o = e as { errors?: unknown; error?: unknown; suppressed?: unknown };
  const errors = o.errors;
  if (Array.isArray(errors)) return errors as unknown[];
  if ("suppressed" in o && "error" in o) return [o.error, o.suppressed];
  return null;
}

/**
 * Whether `error` is the `AbortError` that Node's signal-aware APIs (timers/promises, events.once,
 * streams) reject with, `{ name: "AbortError", cause: signal.reason }`, for a signal that aborted
 * with `why`: the cancellation itself, however unwrapped it otherwise is.
 */
function isAbortOf(error: unknown, why: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  const e = error as { name?: unknown; cause?: unknown };
  return e.name === "AbortError" && e.cause === why;
}
