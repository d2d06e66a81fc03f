/**
 * cause-worker: a worker with three ways to be stopped, each reported by its own cause.
 *
 * `ctx.err` only says *that* a context ended (Canceled or DeadlineExceeded); `cause(ctx)` says
 * *why*. The worker gives every source its own cause — the parent's (inherited: cancelling a parent
 * hands its cause down the tree), a named budget error for the deadline, and `UserQuitError` for
 * the quit signal — so the log line tells the on-call engineer which one it was.
 */
import { type Context, background, cause, sleep, withCancelCause, withTimeout } from "@tether/core";
import { runIfMain } from "./lib/main.js";

/** The cause when the user asked the worker to quit. */
export class UserQuitError extends Error {
  override readonly name = "UserQuitError";
  constructor() {
    super("user pressed quit");
  }
}

/** The cause when the worker's own time budget ran out. */
export class BudgetExceededError extends Error {
  override readonly name = "BudgetExceededError";
  constructor(budgetMs: number) {
    super(`worker budget of ${budgetMs}ms exhausted`);
  }
}

export interface WorkerOptions {
  /** Aborting this is the user's "quit". */
  quit: AbortSignal;
  /** The worker's own deadline. Default: 500 ms. */
  budgetMs?: number;
  /** The time one unit of work takes. Default: 10 ms. */
  tickMs?: number;
  /** Where the worker logs. Default: console.log. */
  log?: (line: string) => void;
}

/** runWorker works in ticks until one of the three sources stops it, and resolves with that cause. */
export async function runWorker(parent: Context, options: WorkerOptions): Promise<unknown> {
  const { quit, budgetMs = 500, tickMs = 10, log = console.log } = options;
  const [withQuit, cancel] = withCancelCause(parent);
  const [ctx, cancelBudget] = withTimeout(withQuit, budgetMs, new BudgetExceededError(budgetMs));
  const onQuit = (): void => cancel(new UserQuitError());
  if (quit.aborted) onQuit();
  else quit.addEventListener("abort", onQuit, { once: true });
  let ticks = 0;
  try {
    for (;;) {
      await sleep(ctx, tickMs);
      ticks++;
    }
  } catch (err) {
    // Only a cancellation ends the loop; anything else is a bug and must not be logged as one.
    const ctxErr = ctx.err;
    if (ctxErr === undefined || err !== ctxErr) throw err;
    const why = cause(ctx);
    log(`worker stopped after ${ticks} ticks: err=${ctxErr.message}, cause=${why instanceof Error ? why.message : String(why)}`);
    return why;
  } finally {
    quit.removeEventListener("abort", onQuit);
    cancelBudget();
    cancel();
  }
}

export async function main(): Promise<void> {
  const budgetMs = 200;
  {
    const quit = new AbortController();
    setTimeout(() => quit.abort(), 50);
    await runWorker(background(), { quit: quit.signal, budgetMs });
  }
  {
    const quit = new AbortController();
    await runWorker(background(), { quit: quit.signal, budgetMs });
  }
  {
    const quit = new AbortController();
    const [parent, cancelParent] = withCancelCause(background());
    setTimeout(() => cancelParent(new Error("server shutting down")), 50);
    await runWorker(parent, { quit: quit.signal, budgetMs });
  }
}

runIfMain(import.meta.url, main);
