import { describe } from "./context.js";
import { CancelNode } from "./node.js";
import { addHooks, tracking } from "./counters.js";
import { captureStack, userFrames } from "./stack.js";

/**
 * LeakReport describes a context whose cancel function was dropped before the context was
 * cancelled, as {@link trackLeaks} finds it.
 *
 * @example
 * ```ts
 * import type { LeakReport } from "@tether/core/testing";
 * const report: LeakReport = { context: "background().withCancel()", stack: "at main (app.ts:3:7)", timer: false };
 * console.assert(report.context.endsWith("withCancel()"));
 * ```
 */
export interface LeakReport {
  /** The context's lineage, as its toString() prints it. */
  readonly context: string;
  /** Where it was derived (Tether's own frames removed). */
  readonly stack: string;
  /** Whether its deadline timer was still armed: memory held until the deadline. */
  readonly timer: boolean;
}

/**
 * LeakTracker is what {@link trackLeaks} returns.
 *
 * @example
 * ```ts
 * import { trackLeaks, type LeakTracker } from "@tether/core/testing";
 * const tracker: LeakTracker = trackLeaks();
 * tracker.stop();
 * console.assert(tracker.leaks.length === 0);
 * ```
 */
export interface LeakTracker {
  /** Every leak found so far, oldest first. */
  readonly leaks: readonly LeakReport[];
  /** Stops tracking new contexts; reports for contexts already tracked may still arrive. */
  stop(): void;
}

/**
 * What the registry keeps for a tracked context. The context is held weakly: a strong hold would
 * keep alive everything it reaches — an abort listener on its signal that calls the cancel
 * function, say — and so the cancel function, which then could never be collected and reported.
 */
type Held = { node: WeakRef<CancelNode>; context: string; stack: string };

/**
 * trackLeaks reports lost cancels — Go vet's `lostcancel`, at run time. From the call on, every
 * `withCancel`, `withCancelCause`, `withDeadline`, `withTimeout` and `withSignal` remembers where it
 * was called; when its cancel function is garbage-collected while the context was never cancelled
 * (by itself or an ancestor), a {@link LeakReport} with that stack is added to `leaks` and passed to
 * `onLeak`. Reports arrive after a garbage collection, so a test runs Node with `--expose-gc` and
 * calls `gc()`. Costs nothing when not called: the hot paths check one hook.
 *
 * @example
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * import { trackLeaks } from "@tether/core/testing";
 * const tracker = trackLeaks();
 * const [, cancel] = withCancel(background());
 * cancel();
 * tracker.stop();
 * console.assert(tracker.leaks.length === 0);
 * ```
 */
export function trackLeaks(options: { onLeak?: ((leak: LeakReport) => void) | undefined } = {}): LeakTracker {
  const leaks: LeakReport[] = [];
  if (options === null || typeof options !== "object") throw new TypeError(`trackLeaks: options must be an object, received ${describe(options)}`);
  const onLeak = options.onLeak;
  if (onLeak !== undefined && typeof onLeak !== "function") throw new TypeError(`trackLeaks: options.onLeak must be a function, received ${describe(onLeak)}`);
  const registry = new FinalizationRegistry<Held>((held) => {
    // Cancelled contexts are unregistered as they are released; one collected with its cancel
    // function was never cancelled either, and an armed timer would have kept it alive.
    const node = held.node.deref();
    if (node !== undefined && node.err !== undefined) return;
    const leak: LeakReport = { context: held.context, stack: userFrames(held.stack), timer: node !== undefined && node._timer !== undefined };
    leaks.push(leak);
    onLeak?.(leak);
  });
  const created = (ctx: object, cancel: (() => void) | undefined): void => {
    // The stack is formatted now: an unformatted one keeps its frames' receivers and functions
    // alive, and through them, often, the very cancel function whose loss it should report.
    // A context born cancelled (under a cancelled parent, or following an aborted signal) holds
    // nothing that a cancel would release: dropping its cancel loses nothing.
    if (cancel !== undefined && ctx instanceof CancelNode && ctx.err === undefined) {
      registry.register(cancel, { node: new WeakRef(ctx), context: String(ctx), stack: captureStack().stack ?? "" }, ctx);
    }
  };
  const released = (node: object): void => {
    registry.unregister(node);
  };
  const remove = addHooks(created, released);
  tracking.leaks++;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    tracking.leaks--;
    remove();
  };
  return { leaks, stop };
}
