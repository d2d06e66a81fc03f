/**
 * ctx-mutex: a lock whose wait is bounded by a context.
 *
 * One printer, several jobs. Each job is willing to wait only so long for the printer — that
 * patience is a context on the `lock()` call alone, not on the printing: a job that got the printer
 * finishes its page. A job that runs out of patience leaves the queue as if it had never joined,
 * and the jobs behind it move up; the mutex is never left held by a `lock` that failed.
 *
 * `using` releases the lock on every path out of the block, including a throw.
 */
import { type Context, background, sleep, withTimeout } from "@tether/core";
import { Group } from "@tether/group";
import { Mutex } from "@tether/sync";
import { runIfMain } from "./lib/main.js";

export interface Job {
  readonly name: string;
  /** How long printing takes once the printer is ours. */
  readonly printMs: number;
  /** How long the job will wait for the printer. */
  readonly patienceMs: number;
}

export interface JobOutcome {
  readonly name: string;
  /** "printed", or why the job gave up. */
  readonly outcome: string;
}

export class Printer {
  readonly #mu = new Mutex();

  /** The state of the printer's lock, for the log. */
  get state(): string {
    return String(this.#mu);
  }

  /** print waits at most `job.patienceMs` for the printer, then prints under `ctx`. */
  async print(ctx: Context, job: Job, log: (line: string) => void): Promise<void> {
    const [waitCtx, cancelWait] = withTimeout(ctx, job.patienceMs);
    let held: Disposable;
    try {
      held = await this.#mu.lock(waitCtx);
    } finally {
      cancelWait();
    }
    using _ = held;
    log(`${job.name}: printing`);
    await sleep(ctx, job.printMs);
    log(`${job.name}: done`);
  }
}

/** printAll submits every job at once, in order, and reports how each one ended. */
export async function printAll(ctx: Context, jobs: readonly Job[], log: (line: string) => void = console.log): Promise<JobOutcome[]> {
  const printer = new Printer();
  const outcomes: JobOutcome[] = [];
  // failFast off: one impatient job giving up is its own business, not a reason to stop the others.
  const group = new Group(ctx, { failFast: false });
  for (const job of jobs) {
    group.go(async (gctx) => {
      try {
        await printer.print(gctx, job, log);
        outcomes.push({ name: job.name, outcome: "printed" });
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        log(`${job.name}: gave up: ${why} (printer ${printer.state})`);
        outcomes.push({ name: job.name, outcome: why });
      }
    });
  }
  await group.wait();
  return outcomes;
}

export async function main(): Promise<void> {
  const outcomes = await printAll(background(), [
    { name: "annual-report", printMs: 300, patienceMs: 1_000 },
    { name: "quick-memo", printMs: 10, patienceMs: 100 },
    { name: "invoice", printMs: 50, patienceMs: 1_000 },
  ]);
  for (const o of outcomes) console.log(`${o.name.padEnd(14)} ${o.outcome}`);
}

runIfMain(import.meta.url, main);
