import { CancelNode } from "./node.js";
import { linkedOwnerOf } from "./bridge.js";
import { type Context, Ctx, asContext } from "./context.js";
import { type LiveCounts, live } from "./counters.js";
import { sweepIdle } from "./linger.js";

export type { LiveCounts } from "./counters.js";
export { trackLeaks, type LeakReport, type LeakTracker } from "./leaks.js";

/**
 * liveCounts returns a snapshot of what Tether holds right now, across every package of the
 * process: cancel nodes with children or subscribers, `abort` listeners on foreign signals, armed
 * timers, running tasks and queued waiters. After a test has cancelled what it made and awaited
 * what it started, every count is zero.
 *
 * A sync primitive keeps a cancel subscription linked for a moment after its last waiter leaves,
 * for the next wait under the same context to reuse; core withdraws such idle subscriptions at the
 * next timer turn, and this function withdraws them first, so it counts only what still waits.
 *
 * @example Prove a test left nothing behind
 * ```ts
 * import { background, withTimeout } from "@tether/core";
 * import { liveCounts } from "@tether/core/testing";
 * const [, cancel] = withTimeout(background(), 1_000);
 * console.assert(liveCounts().timers === 1);
 * cancel();
 * console.assert(liveCounts().timers === 0);
 * ```
 */
export function liveCounts(): LiveCounts {
  sweepIdle();
  return { ...live };
}

/**
 * childCount returns how many children and internal subscribers (afterFunc, sleep, waiters) are
 * linked under `ctx` right now: 0 for a context that cannot be cancelled, or one that was.
 * For a value layer it counts the list of the cancel node it shares; for a context Tether did not
 * make, the list its followers join: the one that follows its signal, or, for a wrapper around a
 * Tether context, that context's whole list. Like {@link liveCounts}, it
 * first withdraws the idle subscriptions sync primitives keep between waits.
 *
 * @example
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * import { childCount } from "@tether/core/testing";
 * const [parent, cancelParent] = withCancel(background());
 * const [, cancelChild] = withCancel(parent);
 * console.assert(childCount(parent) === 1);
 * cancelChild();
 * console.assert(childCount(parent) === 0);
 * cancelParent();
 * ```
 */
export function childCount(ctx: Context): number {
  const c = asContext(ctx, "childCount", "ctx");
  sweepIdle();
  const layer = c instanceof Ctx ? c._src : c;
  // A foreign context's followers join the bridge that follows it, or the Tether node whose
  // signal it lends; a value layer over a foreign parent shares that list too.
  const src = layer === null || layer instanceof CancelNode ? layer : linkedOwnerOf(layer);
  if (src === null || src === undefined) return 0;
  let n = 0;
  for (let m = src._head; m !== null; m = m._next) n++;
  return n;
}
