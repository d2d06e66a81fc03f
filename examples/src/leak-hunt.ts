/**
 * leak-hunt: a service that forgets `cancel()`, how to see it, how to find it, and the fix.
 *
 * Every call makes a 30-second timeout under the long-lived service context. The leaky version drops
 * the cancel function, so each finished call leaves its context linked under the service and its
 * deadline timer armed for the rest of the 30 seconds: harmless once, a steady climb in a server
 * that handles thousands of calls. The fixed version cancels in `finally`, on every path.
 *
 * Go's answer is a goroutine profile. Tether's tools, in the same three steps:
 * - see it: the live counters of `@tether/core/testing`, sampled during a soak — `childCount(ctx)`
 *   for what hangs under one context, `liveCounts()` for the process's armed timers;
 * - find it: `dump(ctx)` from `@tether/core/debug` lists what hangs there, and `trackLeaks()`
 *   reports each context whose cancel function was garbage-collected unused, with the stack that
 *   made it — the exact line to fix;
 * - prove the fix: the same soak, flat.
 *
 * (A context that can never be cancelled costs nothing when forgotten: a `withCancel(background())`
 * whose cancel is dropped is linked to nothing and arms nothing. The leak needs a cancellable parent
 * or a deadline.)
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Context, background, withCancel, withTimeout } from "@tether/core";
import { dump } from "@tether/core/debug";
import { type LeakReport, childCount, liveCounts, trackLeaks } from "@tether/core/testing";
import { runIfMain } from "./lib/main.js";

/** The work behind a call: fast, and honours its context. */
async function lookup(ctx: Context, key: string): Promise<string> {
  await Promise.resolve();
  if (ctx.err !== undefined) throw ctx.err;
  return `value-of-${key}`;
}

export type Call = (service: Context, key: string) => Promise<string>;

/** The bug: the timeout's cancel is never called, so the context outlives the call. */
export const leakyCall: Call = async (service, key) => {
  const [ctx] = withTimeout(service, 30_000);
  return await lookup(ctx, key);
};

/** The fix: cancel on every path, so the timer is disarmed and the context unlinked at once. */
export const fixedCall: Call = async (service, key) => {
  const [ctx, cancel] = withTimeout(service, 30_000);
  try {
    return await lookup(ctx, key);
  } finally {
    cancel();
  }
};

export interface Sample {
  readonly calls: number;
  /** Contexts still linked under the service context. */
  readonly children: number;
  /** Deadline and sleep timers armed in the whole process. */
  readonly timers: number;
}

export interface SoakReport {
  readonly samples: readonly Sample[];
  /** The counters once the service context itself is cancelled, as at shutdown. */
  readonly afterShutdown: Sample;
}

/** soak makes `calls` calls under one service context, sampling the counters every `every` calls. */
export async function soak(call: Call, calls: number, every: number): Promise<SoakReport> {
  const [service, shutdown] = withCancel(background());
  const sample = (n: number): Sample => ({ calls: n, children: childCount(service), timers: liveCounts().timers });
  const samples: Sample[] = [];
  for (let i = 1; i <= calls; i++) {
    await call(service, `k${i}`);
    if (i % every === 0) samples.push(sample(i));
  }
  // Cancelling the parent is what finally frees leaked children — in a real server, only at exit.
  shutdown();
  return { samples, afterShutdown: sample(calls) };
}

export interface LeakHunt {
  /** One report per lost cancel: the context's lineage and the stack that derived it. */
  readonly reports: readonly LeakReport[];
  /** `dump()` of the service context after the calls: what still hangs under it. */
  readonly tree: string;
}

/**
 * findLeaks makes `calls` calls under a fresh service context with leak tracking on, then forces
 * garbage collection (`gc` is Node's, from `--expose-gc`) so that every dropped cancel function is
 * reported. Reports are collected before the service shuts down: cancelling a leaked context, even
 * through its parent, clears it from the tracker.
 */
export async function findLeaks(call: Call, calls: number, gc: () => void): Promise<LeakHunt> {
  const [service, shutdown] = withCancel(background());
  const tracker = trackLeaks();
  try {
    for (let i = 1; i <= calls; i++) await call(service, `k${i}`);
    const tree = dump(service);
    // Finalisation callbacks run as tasks after a collection, so collect and yield a few times.
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 0));
    }
    return { reports: [...tracker.leaks], tree };
  } finally {
    tracker.stop();
    shutdown();
  }
}

/** Node's gc(), without asking for a command-line flag: enabled at run time for this program. */
function exposeGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function show(label: string, report: SoakReport): void {
  console.log(label);
  for (const s of report.samples) console.log(`  after ${String(s.calls).padStart(5)} calls: ${String(s.children).padStart(5)} live children, ${String(s.timers).padStart(5)} timers`);
  console.log(`  after shutdown:    ${report.afterShutdown.children} live children, ${report.afterShutdown.timers} timers`);
}

export async function main(): Promise<void> {
  console.log("1. See it: a soak of 10,000 calls, sampling the live counters.");
  show("leaky (cancel forgotten):", await soak(leakyCall, 10_000, 2_000));
  console.log("\n2. Find it: what hangs under the service, and where each leaked context was made.");
  const hunt = await findLeaks(leakyCall, 3, exposeGc());
  console.log(hunt.tree);
  const first = hunt.reports[0];
  console.log(`${hunt.reports.length} lost cancels reported; the first, ${first?.context ?? "(none)"}, was made at:`);
  console.log(`  ${first?.stack.split("\n")[0] ?? "(no stack)"}`);
  console.log("\n3. Prove the fix: the same soak with cancel in finally.");
  show("fixed (cancel in finally):", await soak(fixedCall, 10_000, 2_000));
}

runIfMain(import.meta.url, main);
