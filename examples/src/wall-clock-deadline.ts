/**
 * wall-clock-deadline: work that must be done by a time of day, not within a duration.
 *
 * A batch job that must finish by 17:00 UTC says so: `withDeadline(ctx, at)` with a `Date`, and a
 * cause that names the window, so the log says "window closed at 17:00" rather than a generic
 * "deadline exceeded". Three behaviours matter and are shown here: a deadline already past gives a
 * context that is already cancelled (the job does not start, and no timer is armed); a parent with
 * an earlier deadline wins (the child keeps the parent's and arms no timer of its own); and a
 * scheduler can refuse up front to start work when too little of the window is left.
 */
import { type Context, background, cause, sleep, withDeadline, withTimeout } from "@tether/core";
import { runIfMain } from "./lib/main.js";

/** The cause when a job's window closes. */
export class WindowClosedError extends Error {
  override readonly name = "WindowClosedError";
  constructor(readonly at: Date) {
    super(`window closed at ${at.toISOString()}`);
  }
}

/** withDeadlineAt is `withDeadline` at a Date, with a cause that says which window closed. */
export function withDeadlineAt(parent: Context, at: Date): [Context, () => void] {
  return withDeadline(parent, at, new WindowClosedError(at));
}

/** The cause when a scheduler refuses to start a job: not enough of its window is left. */
export class WindowTooShortError extends Error {
  override readonly name = "WindowTooShortError";
}

/**
 * withDeadlineIfRoom is withDeadlineAt, except that it throws a {@link WindowTooShortError} instead
 * of handing out a doomed context when less than `minBudgetMs` is left before `at`.
 */
export function withDeadlineIfRoom(parent: Context, at: Date, minBudgetMs: number): [Context, () => void] {
  const left = at.getTime() - Date.now();
  if (left < minBudgetMs) {
    throw new WindowTooShortError(`only ${Math.max(0, left)}ms left before ${at.toISOString()}, need ${minBudgetMs}ms`);
  }
  return withDeadlineAt(parent, at);
}

export interface BatchReport {
  readonly done: readonly string[];
  /** Why the job stopped early, or undefined when it finished. */
  readonly stoppedBy: unknown;
}

/** runBatchesUntil processes `batches` in order, `batchMs` each, until they are done or `at` comes. */
export async function runBatchesUntil(parent: Context, at: Date, batches: readonly string[], batchMs: number): Promise<BatchReport> {
  const [ctx, cancel] = withDeadlineAt(parent, at);
  const done: string[] = [];
  try {
    for (const b of batches) {
      await sleep(ctx, batchMs);
      done.push(b);
    }
    return { done, stoppedBy: undefined };
  } catch (err) {
    if (err !== ctx.err) throw err;
    return { done, stoppedBy: cause(ctx) };
  } finally {
    cancel();
  }
}

export async function main(): Promise<void> {
  const batches = ["north", "south", "east", "west"];
  const soon = new Date(Date.now() + 250);
  const a = await runBatchesUntil(background(), soon, batches, 100);
  console.log(`window ending ${soon.toISOString()}: done ${a.done.join(", ")}; stopped by: ${String(a.stoppedBy)}`);
  // The caller's own deadline comes first: the later wall-clock time cannot extend it.
  const [caller, release] = withTimeout(background(), 150);
  try {
    const late = new Date(Date.now() + 60_000);
    const c = await runBatchesUntil(caller, late, batches, 100);
    console.log(`window ending ${late.toISOString()} under a caller's 150 ms: done ${c.done.join(", ")}; stopped by: ${String(c.stoppedBy)}`);
  } finally {
    release();
  }
  const past = new Date(Date.now() - 60_000);
  const b = await runBatchesUntil(background(), past, batches, 100);
  console.log(`window that ended ${past.toISOString()}: done ${b.done.length} batches; stopped by: ${String(b.stoppedBy)}`);
  try {
    withDeadlineIfRoom(background(), new Date(Date.now() + 50), 1_000);
  } catch (err) {
    console.log(`scheduler refused: ${String(err)}`);
  }
}

runIfMain(import.meta.url, main);
