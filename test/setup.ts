import { afterAll, afterEach, expect, vi } from "vitest";
import { liveCounts } from "@tether/core/testing";

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

const zero = { nodesWithChildren: 0, foreignListeners: 0, timers: 0, tasks: 0, waiters: 0 };

async function check(): Promise<void> {
  if (vi.isFakeTimers()) vi.useRealTimers();
  // Let settled work drain its microtasks, and a late rejection surface, before counting.
  await new Promise<void>((r) => setImmediate(r));
  expect(problems.splice(0), "warnings, unhandled rejections or uncaught exceptions").toEqual([]);
  expect(liveCounts(), "Tether resources left behind").toEqual(zero);
}

afterEach(check);
afterAll(async () => {
  await check();
  process.off("warning", onWarning);
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
});
