import { attach, cancelNode } from "./cancel.js";
import { CancelNode, Kind } from "./node.js";
import { Ctx, type Context, asContext, describe, parentDeadline } from "./context.js";
import { hooks } from "./counters.js";
import { Canceled, DeadlineExceeded } from "./errors.js";
import { armAfter, checkMs, elapsed } from "./timer.js";

function setTimer(node: CancelNode, t: ReturnType<typeof setTimeout> | undefined): void {
  node._timer = t;
}

function expire(node: CancelNode): void {
  cancelNode(node, DeadlineExceeded, node._atCause);
}

/**
 * Expires the Tether ancestor of `p` that owns deadline `pd`, which the wall clock shows passed,
 * if its timer is overdue though it has not run yet (the thread was busy): the owner is the
 * deadline node whose timer is armed for it. A child made now then inherits its err and cause,
 * rather than waiting for that timer or expiring with a cause of its own. Overdue is judged by
 * elapsed time, so a wall clock stepped forward expires nothing. A foreign owner is left to its
 * own timer.
 */
function expireOverdue(p: Context, pd: number): void {
  let c = p instanceof Ctx ? p._src : null;
  while (c instanceof CancelNode && c.err === undefined) {
    if (c._at === pd && c._timer !== undefined) {
      // Within two milliseconds: the wall clock, read in whole milliseconds and at another instant
      // than the elapsed one, can show a deadline passed up to that much before the elapsed clock
      // reaches it. A clock stepped forward by more still expires nothing.
      if (c._due <= elapsed() + 2) expire(c);
      return;
    }
    const up: Context = c._parent;
    c = up instanceof Ctx ? up._src : null;
  }
}

function deadlineNode(p: Context, at: number, cause: unknown, kind: Kind, now: number, fn: string): [Context, () => void] {
  const pd = parentDeadline(p, fn);
  if (pd !== undefined && pd <= now) expireOverdue(p, pd);
  const parentFirst = pd !== undefined && pd <= at;
  const node = new CancelNode(p, kind, parentFirst || at === Infinity ? pd : at);
  node._at = at;
  node._atCause = cause;
  attach(node, p);
  const cancel = (): void => cancelNode(node, Canceled, undefined);
  if (hooks.created !== undefined) hooks.created(node, cancel);
  if (node.err !== undefined || at === Infinity) return [node, cancel];
  // A deadline of the node's own already past expires it now: the contract is "a deadline in the
  // past gives a context already cancelled". A parent's deadline that seems past is the parent's to
  // act on, as in Go: an overdue Tether parent was expired above; a foreign one, or one that only a
  // wall clock stepped forward shows past, expires by its own timer.
  const left = at - now;
  if (left <= 0) expire(node);
  // When the parent's deadline comes first, its expiry reaches this node; no timer of our own.
  else if (parentFirst) return [node, cancel];
  // Deadline timers are bookkeeping, not work: they must not keep a Node process alive.
  else {
    node._due = elapsed() + left;
    armAfter(left, true, node, expire, setTimer);
  }
  return [node, cancel];
}

/**
 * withDeadline returns a child of `parent` that is cancelled with `DeadlineExceeded` once the wall
 * clock reaches `at` (epoch ms or a Date), or earlier by `cancel` or by the parent. The child's
 * deadline is the earlier of `at` and the parent's; when the parent's is earlier no timer is made.
 * A deadline already past gives a child that is already cancelled. `cause`, when given, is what
 * {@link cause} reports if the deadline is what ends the child; `err` is still `DeadlineExceeded`.
 * `Infinity` means no deadline. Call `cancel` when done: it clears the timer at once.
 *
 * @example
 * ```ts
 * import { background, withDeadline } from "@tether/core";
 * const at = Date.now() + 5_000;
 * const [ctx, cancel] = withDeadline(background(), new Date(at));
 * console.assert(ctx.deadline === at);
 * cancel();
 * ```
 */
export function withDeadline(parent: Context, at: number | Date, cause?: unknown): [ctx: Context, cancel: () => void] {
  const p = asContext(parent, "withDeadline");
  const ms = typeof at === "number" ? at : timeOf(at);
  if (ms === undefined) throw new TypeError(`withDeadline: at must be epoch milliseconds or a Date, received ${describe(at)}`);
  if (Number.isNaN(ms)) throw new RangeError(`withDeadline: at must be a valid time, received ${describe(at)}`);
  return deadlineNode(p, ms, cause, Kind.Deadline, Date.now(), "withDeadline");
}

const getTime = Date.prototype.getTime;

/**
 * The time of a Date, from this realm or another (a vm context, an iframe), which `instanceof`
 * would refuse; undefined for anything else, whatever its `Symbol.toStringTag` claims.
 */
function timeOf(d: unknown): number | undefined {
  if (typeof d !== "object" || d === null) return undefined;
  try {
    return getTime.call(d);
  } catch {
    return undefined;
  }
}

/**
 * withTimeout is `withDeadline(parent, Date.now() + ms, cause)`. 0 or less gives a child that is
 * already cancelled, its deadline now, as Go's `WithTimeout` does, so a timeout computed from a budget already spent
 * needs no check of its own; `Infinity` gives one with no deadline of its own. NaN throws.
 *
 * @example Bound a call
 * ```ts
 * import { background, withTimeout, sleep, errorIs, DeadlineExceeded } from "@tether/core";
 * const [ctx, cancel] = withTimeout(background(), 10);
 * try {
 *   await sleep(ctx, 1_000);
 * } catch (err) {
 *   console.assert(errorIs(err, DeadlineExceeded));
 * } finally {
 *   cancel();
 * }
 * ```
 */
export function withTimeout(parent: Context, ms: number, cause?: unknown): [ctx: Context, cancel: () => void] {
  const p = asContext(parent, "withTimeout");
  checkMs(ms, "withTimeout", "ms");
  const now = Date.now();
  // A timeout below 0 is one already up, its deadline now: -Infinity would make a deadline of -Infinity.
  return deadlineNode(p, ms === Infinity ? Infinity : now + Math.max(0, ms), cause, Kind.Timeout, now, "withTimeout");
}
