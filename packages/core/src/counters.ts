/**
 * Live resource counts, kept by every package of the workspace. They are plain integers bumped on
 * the paths that allocate or free the resource, so keeping them costs an add, and they let a test
 * prove it left nothing behind. Read them through `@tether/core/testing`.
 *
 * @internal
 */
export const live = {
  /** Cancel nodes whose list of children and subscribers is not empty. */
  nodesWithChildren: 0,
  /** `abort` listeners Tether added to signals it does not own. */
  foreignListeners: 0,
  /** Timers armed for deadlines and sleeps, not yet fired or cleared. */
  timers: 0,
  /** Tasks started by runTask that have not settled. */
  tasks: 0,
  /** Waiters queued on a sync primitive (lock, semaphore, channel, wait group). */
  waiters: 0,
};

/**
 * LiveCounts is what `liveCounts()` returns: how many of each resource Tether holds right now.
 * Every count is 0 once all work has ended and every context has been cancelled.
 *
 * @example
 * ```ts
 * import { liveCounts, type LiveCounts } from "@tether/core/testing";
 * const counts: LiveCounts = liveCounts();
 * console.assert(Object.values(counts).every((n) => n === 0));
 * ```
 */
export type LiveCounts = {
  /**
   * Contexts with children or subscribers linked to them, counting the hidden node Tether keeps
   * for each foreign signal it follows (so one `withSignal` child counts 1).
   */
  nodesWithChildren: number;
  /** `abort` listeners Tether added to signals it does not own. */
  foreignListeners: number;
  /** Timers armed for deadlines and sleeps, not yet fired or cleared. */
  timers: number;
  /** Tasks started by `runTask` (or a group) that have not settled. */
  tasks: number;
  /**
   * Waits queued on a sync primitive: lock, semaphore, channel, wait group. A waiting `select`
   * counts once per case it has queued.
   */
  waiters: number;
};

/**
 * Debug hooks, unset unless a debug or testing feature turned them on (trace, leak tracking), so
 * the hot paths pay one `undefined` check for them.
 *
 * @internal
 */
export const hooks: {
  /** Called for every context a `with*` function derives, with its cancel function if it has one. */
  created: ((ctx: object, cancel: (() => void) | undefined) => void) | undefined;
  /** Called for every cancel node as its cancellation is finished. */
  released: ((node: object) => void) | undefined;
} = { created: undefined, released: undefined };

/**
 * How many leak trackers are on. While any is, a derivation's stack is formatted as it is captured
 * (trace included): an unformatted one keeps its frames' receivers and functions alive, and through
 * them, often, the very cancel function whose loss the tracker is there to report.
 *
 * @internal
 */
export const tracking = { leaks: 0 };

type Created = NonNullable<(typeof hooks)["created"]>;
type Released = NonNullable<(typeof hooks)["released"]>;
const createdFns = new Set<Created>();
const releasedFns = new Set<Released>();

function refresh(): void {
  const c = [...createdFns];
  const r = [...releasedFns];
  // Plain loops, no closure per call: a stack captured inside a hook keeps its frames' functions,
  // and a closure over `cancel` among them would keep the cancel function alive.
  hooks.created =
    c.length === 0
      ? undefined
      : c.length === 1
        ? c[0]
        : (ctx, cancel) => {
            for (const f of c) f(ctx, cancel);
          };
  hooks.released =
    r.length === 0
      ? undefined
      : r.length === 1
        ? r[0]
        : (node) => {
            for (const f of r) f(node);
          };
}

/**
 * Installs debug hooks alongside any others; the returned function removes exactly these, in any
 * order, and the hot paths go back to a single `undefined` check once none are left.
 *
 * @internal
 */
export function addHooks(created: Created | undefined, released: Released | undefined): () => void {
  if (created !== undefined) createdFns.add(created);
  if (released !== undefined) releasedFns.add(released);
  refresh();
  return () => {
    if (created !== undefined) createdFns.delete(created);
    if (released !== undefined) releasedFns.delete(released);
    refresh();
  };
}
