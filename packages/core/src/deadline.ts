import { attach, cancelNode } from "./cancel.js";
import { CancelNode, Kind } from "./node.js";
import { type Context, asContext, describe } from "./context.js";
import { hooks } from "./counters.js";
import { Canceled, DeadlineExceeded } from "./errors.js";
import { armAfter, checkMs } from "./timer.js";

function setTimer(node: CancelNode, t: ReturnType<typeof setTimeout> | undefined): void {
  node._timer = t;
}

function expire(node: CancelNode): void {
  cancelNode(node, DeadlineExceeded, node._atCause);
}

function deadlineNode(p: Context, at: number, cause: unknown, kind: Kind): [Context, () => void] {
  const pd = p.deadline;
  const parentFirst = pd !== undefined && pd <= at;
  const node = new CancelNode(p, kind, parentFirst || at === Infinity ? pd : at);
  node._at = at;
  node._atCause = cause;
  attach(node, p);
  const cancel = (): void => cancelNode(node, Canceled, undefined);
  if (hooks.created !== undefined) hooks.created(node, cancel);
  if (node.err !== undefined || at === Infinity) return [node, cancel];
  // A deadline already past expires the node now, even under a parent whose earlier deadline has
  // passed too but whose timer has not run yet: the contract is "a deadline in the past gives a
  // context already cancelled" (Go would return a child that waits for the parent's timer).
  const left = at - Date.now();
  if (left <= 0) expire(node);
  // When the parent's deadline comes first, its expiry reaches this node; no timer of our own.
  else if (parentFirst) return [node, cancel];
  // Deadline timers are bookkeeping, not work: they must not keep a Node process alive.
  else armAfter(left, true, node, expire, setTimer);
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
  let ms: number;
  if (typeof at === "number") ms = at;
  else if (at instanceof Date) ms = at.getTime();
  else throw new TypeError(`withDeadline: at must be epoch milliseconds or a Date, received ${describe(at)}`);
  if (Number.isNaN(ms)) throw new RangeError(`withDeadline: at must be a valid time, received ${describe(at)}`);
  return deadlineNode(p, ms, cause, Kind.Deadline);
}

/**
 * withTimeout is `withDeadline(parent, Date.now() + ms, cause)`. `ms` must be a number ≥ 0; 0
 * gives a child that is already cancelled, `Infinity` one with no deadline of its own.
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
  return deadlineNode(p, ms === Infinity ? Infinity : Date.now() + ms, cause, Kind.Timeout);
}
