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

/** @internal */
export type LiveCounts = { -readonly [K in keyof typeof live]: number };

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
