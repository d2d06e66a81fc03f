import type { Context } from "./context.js";

/**
 * For a context that tasks queue on before they start (a Group's), the names of those queued now.
 * A module of its own, so that `@tether/core/debug` does not export the hook that fills it.
 */
const queues = new WeakMap<object, () => readonly string[]>();

/**
 * @internal Lets `dump()` show the tasks queued on `ctx`, not started yet (a Group's beyond its
 * limit): `names` returns their names, in queue order, when a dump is printed.
 */
export function reportQueued(ctx: Context, names: () => readonly string[]): void {
  queues.set(ctx, names);
}

/** The names of the tasks queued on `ctx` that {@link reportQueued} was told of, if any. */
export function queuedOn(ctx: Context): (() => readonly string[]) | undefined {
  return queues.get(ctx);
}
