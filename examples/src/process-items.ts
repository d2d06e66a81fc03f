/**
 * process-items: per-item work that stops the moment its caller gives up.
 *
 * Each item costs a simulated `costMs`. The wait is `sleep(ctx, …)`, not a bare timer, so a cancel
 * in the middle of an item ends it at once instead of after the rest of its cost; and the error is
 * `ctx.err` itself, so callers can test it with `errorIs(err, Canceled)` or `DeadlineExceeded`.
 */
import { type Context, DeadlineExceeded, background, errorIs, sleep, withTimeout } from "@tether/core";
import { runIfMain } from "./lib/main.js";

export interface ProcessOptions {
  /** What one item costs, in milliseconds. Default: 50. */
  costMs?: number;
  /** Called after each item is done, with its result. */
  onItem?: (result: string) => void;
}

/**
 * processItems handles `items` one at a time and resolves with their results in order. On
 * cancellation it rejects with `ctx.err` (Canceled or DeadlineExceeded), unwrapped, and does no
 * further work.
 */
export async function processItems(ctx: Context, items: readonly string[], options: ProcessOptions = {}): Promise<string[]> {
  const { costMs = 50, onItem } = options;
  const out: string[] = [];
  for (const item of items) {
    // Checked before each item too: a context cancelled between items must not start another one,
    // even one that would cost nothing.
    if (ctx.err !== undefined) throw ctx.err;
    await sleep(ctx, costMs);
    const result = `processed:${item}`;
    out.push(result);
    onItem?.(result);
  }
  return out;
}

export async function main(): Promise<void> {
  const items = ["a", "b", "c", "d", "e", "f"];
  // 50 ms per item and a 180 ms budget: three items fit, the fourth is interrupted half-way.
  const [ctx, cancel] = withTimeout(background(), 180);
  try {
    const out = await processItems(ctx, items, { onItem: (r) => console.log(`done ${r}`) });
    console.log(`all done: ${out.join(", ")}`);
  } catch (err) {
    console.log(`stopped: ${String(err)}; errorIs(err, DeadlineExceeded) = ${errorIs(err, DeadlineExceeded)}`);
  } finally {
    cancel();
  }
}

runIfMain(import.meta.url, main);
