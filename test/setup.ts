import { afterEach, expect, vi } from "vitest";
import { liveCounts } from "@tether/core/testing";

// Every test file runs under these guards: a process warning (MaxListenersExceededWarning, a
// TimeoutOverflowWarning, ...) fails the test that caused it, and every test must leave Tether's
// live counters at zero. Unhandled rejections and uncaught exceptions already fail a vitest run.
const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w);
};
process.on("warning", onWarning);

afterEach(async () => {
  if (vi.isFakeTimers()) vi.useRealTimers();
  // Let settled work drain its microtasks before counting.
  await new Promise<void>((r) => setImmediate(r));
  const seen = warnings.splice(0);
  expect(seen.map((w) => `${w.name}: ${w.message}`), "process warnings").toEqual([]);
  expect(liveCounts(), "Tether resources left behind by this test").toEqual({
    nodesWithChildren: 0,
    foreignListeners: 0,
    timers: 0,
    tasks: 0,
    waiters: 0,
  });
});
