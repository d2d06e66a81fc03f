import { getEventListeners } from "node:events";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Canceled, DeadlineExceeded, background, sleep, withCancel, withCancelCause, withTimeout } from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { ForeignContext } from "./test-helpers/foreign.js";
import { isSettled } from "./test-helpers/flush.js";

describe("sleep()", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it("resolves after ms, not a millisecond before", async () => {
    const slept = sleep(background(), 100);
    expect(liveCounts().timers).toBe(1);
    vi.advanceTimersByTime(99);
    expect(await isSettled(slept)).toBe(false);
    vi.advanceTimersByTime(1);
    await expect(slept).resolves.toBeUndefined();
    expect(liveCounts().timers).toBe(0);
  });

  it.each([-1, -Infinity, 0])("sleep(ctx, %o) is a sleep of 0, as in Go: it resolves at the next timer turn", async (ms) => {
    const slept = sleep(background(), ms);
    expect(await isSettled(slept)).toBe(false);
    vi.advanceTimersByTime(0);
    await expect(slept).resolves.toBeUndefined();
    expect(liveCounts().timers).toBe(0);
  });

  it("a fractional sleep never resolves early: its timer rounds up", async () => {
    const slept = sleep(background(), 1.5);
    vi.advanceTimersByTime(1);
    expect(await isSettled(slept)).toBe(false);
    vi.advanceTimersByTime(1);
    await expect(slept).resolves.toBeUndefined();
  });

  it("resolves on a cancellable context and unlinks from it", async () => {
    const [ctx, cancel] = withCancel(background());
    const slept = sleep(ctx, 10);
    expect(childCount(ctx)).toBe(1);
    vi.advanceTimersByTime(10);
    await expect(slept).resolves.toBeUndefined();
    expect(childCount(ctx)).toBe(0);
    cancel();
  });

  it("rejects with ctx.err at once on cancel and clears its timer", async () => {
    const [ctx, cancel] = withCancelCause(background());
    const slept = sleep(ctx, 60_000);
    expect(liveCounts().timers).toBe(1);
    cancel(new Error("the cause is not what sleep rejects with"));
    expect(liveCounts().timers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(childCount(ctx)).toBe(0);
    await expect(slept).rejects.toBe(Canceled);
  });

  it("rejects with DeadlineExceeded when the context's deadline comes first", async () => {
    const [ctx, cancel] = withTimeout(background(), 50);
    const slept = sleep(ctx, 1_000);
    vi.advanceTimersByTime(50);
    await expect(slept).rejects.toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    cancel();
  });

  it("rejects at once for an already-cancelled context, arming no timer", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    const slept = sleep(ctx, 1_000);
    expect(liveCounts().timers).toBe(0);
    expect(await isSettled(slept)).toBe(true);
    await expect(slept).rejects.toBe(Canceled);
  });

  it("with Infinity waits for cancellation only, arming no timer", async () => {
    const [ctx, cancel] = withCancel(background());
    const slept = sleep(ctx, Infinity);
    expect(liveCounts().timers).toBe(0);
    vi.advanceTimersByTime(2 ** 40);
    expect(await isSettled(slept)).toBe(false);
    cancel();
    await expect(slept).rejects.toBe(Canceled);
  });

  it("measures elapsed time: it resolves on time under fake timers that leave Date alone", async () => {
    vi.useRealTimers();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const slept = sleep(background(), 1_000);
    vi.advanceTimersByTime(999);
    expect(await isSettled(slept)).toBe(false);
    vi.advanceTimersByTime(1);
    await expect(slept).resolves.toBeUndefined();
    expect(liveCounts().timers).toBe(0);
  });

  it("beyond 2^31-1 ms does not resolve early", async () => {
    const ms = 2 ** 31 + 5;
    const slept = sleep(background(), ms);
    vi.advanceTimersByTime(ms - 1);
    expect(await isSettled(slept)).toBe(false);
    vi.advanceTimersByTime(1);
    await expect(slept).resolves.toBeUndefined();
    expect(liveCounts().timers).toBe(0);
  });

  it("on a foreign context rejects when its signal aborts and removes its listener", async () => {
    const foreign = new ForeignContext();
    const slept = sleep(foreign, 60_000);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(1);
    foreign.cancel(new Error("gone"));
    await expect(slept).rejects.toBe(Canceled);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
    expect(liveCounts().timers).toBe(0);
  });

  it("on a foreign context that resolves removes its listener", async () => {
    const foreign = new ForeignContext();
    const slept = sleep(foreign, 10);
    vi.advanceTimersByTime(10);
    await expect(slept).resolves.toBeUndefined();
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
  });
});
