import { afterAll, afterEach, beforeEach, expect, vi } from "vitest";
import { type LiveCounts, liveCounts } from "@tether/core/testing";

// Every test file runs under these guards. Vitest already fails the run on an unhandled rejection
// or an uncaught exception; recording them here too pins the failure on the test that caused it.
// A process warning (MaxListenersExceededWarning, TimeoutOverflowWarning, …) fails the test, and
// every test — and every file, after its hooks — must leave Tether's live counters at zero.
const problems: string[] = [];
const onWarning = (w: Error): void => void problems.push(`process warning ${w.name}: ${w.message}`);
const onRejection = (r: unknown): void => void problems.push(`unhandled rejection: ${String(r)}`);
const onException = (e: unknown): void => void problems.push(`uncaught exception: ${String(e)}`);
process.on("warning", onWarning);
process.on("unhandledRejection", onRejection);
process.on("uncaughtException", onException);

const zero: LiveCounts = { nodesWithChildren: 0, foreignListeners: 0, timers: 0, tasks: 0, waiters: 0 };

// What was live as the test started: zero, unless an earlier test of the file leaked. That test has
// failed already; a later one fails only for what it adds itself, so one leak fails one test, not
// every test after it. The file's last check, after its hooks, still requires zero: a later test
// whose own leak an earlier leak's release hides (the counts only net out) fails the file there.
let atStart: LiveCounts = zero;
beforeEach(() => {
  atStart = liveCounts();
});

/** The counts that grew since `from`, each with its value now; empty when none did. */
function grown(from: LiveCounts, now: LiveCounts): Partial<LiveCounts> {
  const out: Partial<LiveCounts> = {};
  for (const key of Object.keys(now) as (keyof LiveCounts)[]) if (now[key] > from[key]) out[key] = now[key];
  return out;
}

async function check(from: LiveCounts): Promise<void> {
  if (vi.isFakeTimers()) vi.useRealTimers();
  // Let settled work drain its microtasks, and a late rejection surface, before counting.
  await new Promise<void>((r) => setImmediate(r));
  expect(problems.splice(0), "warnings, unhandled rejections or uncaught exceptions").toEqual([]);
  expect(grown(from, liveCounts()), "Tether resources left behind").toEqual({});
}

afterEach(() => check(atStart));
afterAll(async () => {
  await check(zero);
  process.off("warning", onWarning);
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
});
