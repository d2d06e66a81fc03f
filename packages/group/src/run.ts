import { type Context, type Task, type TaskResult, withCancelCause } from "@tether/core";
import { asContext, asTask, isGeneratorFunction, parentDeadline, waitErr, watchTask } from "@tether/core/internal";
import { cancelWithFailure, isEcho } from "./echo.js";

/**
 * RunResults is the tuple of results `run` resolves with, one per task, in order.
 *
 * @example
 * ```ts
 * import type { RunResults } from "@tether/group";
 * type Tasks = [() => number, () => Promise<string>];
 * const results: RunResults<Tasks> = [1, "one"];
 * console.assert(results.length === 2);
 * ```
 */
export type RunResults<T extends readonly Task<unknown>[]> = { -readonly [K in keyof T]: TaskResult<T[K]> };

/**
 * run starts every task under a child of `ctx` and resolves with their results as a typed tuple,
 * in order. Every task is called, even after an earlier one threw at once. The first failure
 * cancels the siblings (with that error as the cause) and is what run rejects with — but only
 * after every task has settled, generator cleanup included. A task's echo of the cancellation
 * (`ctx.err`, wrapped or in an aggregate of nothing else) is not a failure:
 * if the caller's cancellation stopped the tasks, run rejects with `ctx.err`, unless one of them
 * then failed on its own (its cleanup threw), which it rejects with instead. On a cancelled
 * context run rejects with `ctx.err` and calls no task; `run(ctx)` resolves with `[]`. The child
 * context is cancelled when run settles.
 *
 * @example Two calls at once, typed
 * ```ts
 * import { background } from "@tether/core";
 * import { run } from "@tether/group";
 * const [user, count] = await run(background(), async () => ({ name: "ada" }), () => 42);
 * const name: string = user.name;
 * const n: number = count;
 * console.assert(name === "ada" && n === 42);
 * ```
 */
export async function run<const T extends readonly Task<unknown>[]>(ctx: Context, ...tasks: T): Promise<RunResults<T>> {
  const c = asContext(ctx, "run", "ctx");
  parentDeadline(c, "run", "ctx");
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    // The argument's name is made only for the error: `run` checks every task of every call.
    if (typeof t !== "function" || isGeneratorFunction(t)) asTask(t, "run", `tasks[${i}]`);
  }
  const err = c.err;
  if (err !== undefined) throw err;
  const n = tasks.length;
  const results = new Array<unknown>(n);
  if (n === 0) return results as RunResults<T>;
  const [child, cancel] = withCancelCause(c);
  let failure: { error: unknown } | undefined;
  /** Whether `failure` is only the parent's cancellation coming back. */
  let stopped = false;
  let left = n;
  // Every task is called, whatever an earlier one did at once: a failure while they are being
  // started cancels the siblings once the last has been.
  let starting = true;
  try {
    await new Promise<void>((resolve) => {
      for (let i = 0; i < n; i++) {
        watchTask(
          child,
          tasks[i] as Task<unknown>,
          undefined,
          (v) => {
            results[i] = v;
            if (--left === 0) resolve();
          },
          (error: unknown) => {
            // The first failure wins, but the parent's cancellation coming back is not a failure:
            // a task's own failure after it (its cleanup's) takes its place.
            const echo = isEcho(error, child, c);
            if (failure === undefined || (stopped && !echo)) {
              stopped = echo;
              failure = { error };
              if (!starting) {
                if (echo) cancel(error);
                else cancelWithFailure(child, cancel, error);
              }
            }
            if (--left === 0) resolve();
          },
        );
      }
      starting = false;
      if (failure !== undefined) {
        // A task started meanwhile may have cancelled the parent: the child's cause is then the
        // parent's, and the cancel below, which does nothing, is not recorded as the failure's.
        if (stopped) cancel(failure.error);
        else cancelWithFailure(child, cancel, failure.error);
      }
    });
  } finally {
    cancel();
  }
  // Stopped only by the caller's cancellation: reject with its err, whatever form its echo took.
  if (failure !== undefined) throw stopped ? waitErr(c, failure.error) : failure.error;
  return results as RunResults<T>;
}
