import { Canceled, DeadlineExceeded, background, withCancel, withTimeout } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { processItems } from "./process-items.js";

describe("processItems", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("processItems() resolves with every item processed in order when nobody cancels", async () => {
    const running = processItems(background(), ["a", "b", "c"], { costMs: 50 });
    await vi.advanceTimersByTimeAsync(150);
    await expect(running).resolves.toEqual(["processed:a", "processed:b", "processed:c"]);
  });

  it("processItems() rejects with Canceled in the middle of an item and starts no other", async () => {
    const [ctx, cancel] = withCancel(background());
    const seen: string[] = [];
    const running = processItems(ctx, ["a", "b", "c", "d"], { costMs: 50, onItem: (r) => seen.push(r) });
    const outcome = running.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(125);
    expect(seen).toEqual(["processed:a", "processed:b"]);
    cancel();
    // The error is ctx.err itself, not a wrapper, and the third item's timer is gone at once.
    expect(await outcome).toBe(Canceled);
    expect(liveCounts().timers).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(seen).toEqual(["processed:a", "processed:b"]);
  });

  it("processItems() rejects with DeadlineExceeded when the budget runs out", async () => {
    const [ctx, cancel] = withTimeout(background(), 120);
    const seen: string[] = [];
    const outcome = processItems(ctx, ["a", "b", "c", "d"], { costMs: 50, onItem: (r) => seen.push(r) }).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(120);
    expect(await outcome).toBe(DeadlineExceeded);
    expect(seen).toEqual(["processed:a", "processed:b"]);
    cancel();
  });

  it("processItems() rejects without doing any work on a context already cancelled", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    const onItem = vi.fn();
    await expect(processItems(ctx, ["a"], { onItem })).rejects.toBe(Canceled);
    expect(onItem).not.toHaveBeenCalled();
  });
});
