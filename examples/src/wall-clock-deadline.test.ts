import { DeadlineExceeded, background, withTimeout } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WindowClosedError, WindowTooShortError, runBatchesUntil, withDeadlineAt, withDeadlineIfRoom } from "./wall-clock-deadline.js";

const FIVE_PM = new Date("2025-03-14T17:00:00.000Z");

describe("wall-clock deadlines", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2025-03-14T16:59:59.750Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runBatchesUntil() stops when the wall clock reaches the deadline, naming the window", async () => {
    const running = runBatchesUntil(background(), FIVE_PM, ["a", "b", "c", "d"], 100);
    await vi.advanceTimersByTimeAsync(250);
    const report = await running;
    expect(report.done).toEqual(["a", "b"]);
    expect(report.stoppedBy).toBeInstanceOf(WindowClosedError);
    expect(String(report.stoppedBy)).toBe("WindowClosedError: window closed at 2025-03-14T17:00:00.000Z");
  });

  it("withDeadlineAt() with a time already past gives a context already cancelled, and arms no timer", () => {
    const [ctx, cancel] = withDeadlineAt(background(), new Date("2025-03-14T16:00:00.000Z"));
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    cancel();
  });

  it("runBatchesUntil() with a deadline already past does no batch at all", async () => {
    const report = await runBatchesUntil(background(), new Date("2025-03-14T16:00:00.000Z"), ["a"], 100);
    expect(report.done).toEqual([]);
    expect(report.stoppedBy).toBeInstanceOf(WindowClosedError);
  });

  it("withDeadlineAt() keeps the parent's earlier deadline and arms no timer of its own", () => {
    const [parent, cancelParent] = withTimeout(background(), 50);
    const [ctx, cancel] = withDeadlineAt(parent, FIVE_PM);
    expect(ctx.deadline).toBe(parent.deadline);
    expect(ctx.deadline).toBeLessThan(FIVE_PM.getTime());
    expect(liveCounts().timers).toBe(1);
    cancel();
    cancelParent();
  });

  it("withDeadlineAt() uses its own deadline when it is earlier than the parent's", () => {
    const [parent, cancelParent] = withTimeout(background(), 60_000);
    const [ctx, cancel] = withDeadlineAt(parent, FIVE_PM);
    expect(ctx.deadline).toBe(FIVE_PM.getTime());
    cancel();
    cancelParent();
  });

  it("withDeadlineIfRoom() refuses to start when less than the minimum budget is left", () => {
    expect(() => withDeadlineIfRoom(background(), FIVE_PM, 1_000)).toThrow(WindowTooShortError);
    expect(() => withDeadlineIfRoom(background(), FIVE_PM, 1_000)).toThrow("only 250ms left before 2025-03-14T17:00:00.000Z, need 1000ms");
    const [ctx, cancel] = withDeadlineIfRoom(background(), FIVE_PM, 200);
    expect(ctx.err).toBeUndefined();
    cancel();
  });
});
