import { type Context, type Task, type TaskResult, withCancelCause } from "@tether/core";
import { type TaskRecord, asContext, asTask, isGeneratorFunction, parentDeadline, watchTask } from "@tether/core/internal";
import { isBareEcho, isEcho } from "./echo.js";

/**
 * race starts every task under a child of `ctx` and resolves with the value of the first to
 * fulfil. Every task is called, even after an earlier one returned a value at once. The others are
 * then cancelled and awaited — their cleanup has run before race settles, and if a loser's cleanup
 * fails, race rejects with that failure rather than lose it. A loser that had failed before the
 * cancel went out is an attempt that lost, dropped as `Promise.any` drops it; the cancel goes out
 * as the win comes or, for a win while the tasks are still being started, once the last has been
 * (a microtask later, if any was started after the win or is a generator task). After that, a
 * generator task's driver tells a cleanup failure (after the cancel reached the task) from the
 * task's own. A plain or async task cannot be told apart: any failure of it after the win, but the
 * cancellation itself (`ctx.err` or its cause, also wrapped), fails race. So a loser that should
 * lose quietly honours `ctx` (its waits then reject with the cancellation), or is a generator task.
 * When every task fails, race rejects with an `AggregateError` of their errors in task order (also
 * for no tasks at all, like `Promise.any`) — or with `ctx.err` when they failed only because `ctx`
 * was cancelled. On a cancelled context it rejects with `ctx.err` and
 * calls no task.
 *
 * @example Hedged requests
 * ```ts
 * import { background, sleep } from "@tether/core";
 * import { race } from "@tether/group";
 * const fastest = await race(
 *   background(),
 *   async (ctx) => (await sleep(ctx, 50), "replica"),
 *   async () => "primary",
 * );
 * console.assert(fastest === "primary");
 * ```
 */
export async function race<const T extends readonly Task<unknown>[]>(ctx: Context, ...tasks: T): Promise<TaskResult<T[number]>> {
  const c = asContext(ctx, "race", "ctx");
  parentDeadline(c, "race", "ctx");
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    // The argument's name is made only for the error, as in `run`.
    if (typeof t !== "function" || isGeneratorFunction(t)) asTask(t, "race", `tasks[${i}]`);
  }
  const err = c.err;
  if (err !== undefined) throw err;
  const n = tasks.length;
  if (n === 0) throw new AggregateError([], "race: every task failed (no tasks were given)");
  const [child, cancel] = withCancelCause(c);
  const errors = new Array<unknown>(n);
  // How many failures were exactly the caller's cancellation, judged as each arrived: a task that
  // failed before `ctx` was cancelled failed on its own, even with the same sentinel, and one that
  // wraps a sentinel may be reporting its own attempt's timeout. Either kind is kept.
  let echoes = 0;
  let winner: { value: unknown } | undefined;
  // The promises being watched, until each reports; and which losers had already settled when the
  // win came, so failed on their own rather than in the cleanup the win's cancel started.
  const watched = new Array<Promise<unknown> | undefined>(n);
  const settledFirst = new Array<boolean>(n).fill(false);
  // Losers whose failure, not the cancellation the win sent, arrived after the win, in order; the
  // records of the generator tasks, whose driver says whether a failure came in cleanup; and the
  // first such cleanup failure, whenever it came.
  const late: { i: number; error: unknown }[] = [];
  const records = new Array<TaskRecord | undefined>(n);
  let cleanupFailure: { error: unknown } | undefined;
  let left = n;
  // Every task is called, whatever an earlier one did at once: a win while they are being started
  // sends the cancel once the last has been.
  let starting = true;
  let startedAfterWin = false;
  let cancelSent = false;
  const sendCancel = (): void => {
    cancelSent = true;
    // A reaction attached to an already-settled promise is queued at once, ahead of the marker
    // queued after them; one that settles in the cancel below, or later, comes after the marker.
    let marked = false;
    for (let j = 0; j < n; j++) {
      const p = watched[j];
      if (p === undefined) continue;
      const probe = (): void => {
        if (!marked) settledFirst[j] = true;
      };
      p.then(probe, probe);
    }
    void Promise.resolve().then(() => (marked = true));
    cancel();
  };
  try {
    await new Promise<void>((resolve) => {
      for (let i = 0; i < n; i++) {
        const record = watchTask(
          child,
          tasks[i] as Task<unknown>,
          undefined,
          (value) => {
            watched[i] = undefined;
            if (winner === undefined) {
              winner = { value };
              if (!starting) sendCancel();
              else startedAfterWin = i < n - 1;
            }
            if (--left === 0) resolve();
          },
          (error: unknown) => {
            watched[i] = undefined;
            errors[i] = error;
            if (isBareEcho(error, c, child)) echoes++;
            const rec = records[i];
            if (rec !== undefined) {
              if (rec.cleanupFailed && cleanupFailure === undefined && !isEcho(error, child, c)) cleanupFailure = { error };
            } else if (winner !== undefined && !isEcho(error, child, c)) {
              late.push({ i, error });
              // Before the cancel was sent: an attempt that lost, not a cleanup.
              if (!cancelSent) settledFirst[i] = true;
            }
            if (--left === 0) resolve();
          },
        );
        if (record !== undefined) {
          watched[i] = record.promise ?? undefined;
          if (record.generator) records[i] = record;
        }
      }
      starting = false;
      // A microtask later if a task was started after the win, or any is a generator task: a
      // generator whose body failed on its own at once has its failure seen by its driver first,
      // before the cancel, as an attempt that lost; otherwise the driver would take it for a
      // failed cleanup. Else at once: nobody needs the wait, and the losers get no extra turn.
      if (winner !== undefined) {
        if (startedAfterWin || records.some((r) => r !== undefined)) queueMicrotask(sendCancel);
        else sendCancel();
      }
    });
  } finally {
    cancel();
  }
  if (winner === undefined) {
    // Every task stopped only because the caller's context was cancelled: report that, as run does.
    const err = c.err;
    if (err !== undefined && echoes === n) throw err;
    throw new AggregateError(errors, "race: every task failed");
  }
  // A loser that fails in its cleanup fails race, like a failing dispose after a successful
  // `using` body. A generator task's driver says which failures those are, whenever they came; for
  // any other task, any failure after the win but the cancellation counts, except one that had
  // failed before the win, its failure merely reported after it: an attempt that lost, as in
  // Promise.any. Every probe has run by now: each was queued with its promise's report, before
  // the outer promise could resume this function.
  if (cleanupFailure !== undefined) throw cleanupFailure.error;
  for (const { i, error } of late) if (!settledFirst[i]) throw error;
  return winner.value as TaskResult<T[number]>;
}
