import { getEventListeners } from "node:events";
import { describe, expect, it, vi } from "vitest";
import {
  afterFunc,
  background,
  createKey,
  todo,
  withCancel,
  withTimeout,
  withValue,
  withoutCancel,
} from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { ForeignContext } from "./test-helpers/foreign.js";
import { macrotask, microtasks } from "./test-helpers/flush.js";

describe("afterFunc()", () => {
  it("runs fn once, after cancel() has returned, never inside it", async () => {
    const [ctx, cancel] = withCancel(background());
    let runs = 0;
    let errInsideFn: unknown = "not run";
    afterFunc(ctx, () => {
      runs++;
      errInsideFn = ctx.err;
    });
    cancel();
    expect(runs).toBe(0);
    await macrotask();
    expect(runs).toBe(1);
    expect(errInsideFn).toBe(ctx.err);
    cancel();
    await macrotask();
    expect(runs).toBe(1);
  });

  it("does not run fn inside an ancestor's cancel() either, and runs it once", async () => {
    const [root, cancelRoot] = withCancel(background());
    const [mid] = withCancel(withValue(root, createKey("k"), 1));
    const ran: string[] = [];
    afterFunc(mid, () => ran.push("mid"));
    afterFunc(root, () => ran.push("root"));
    cancelRoot();
    expect(ran).toEqual([]);
    await macrotask();
    expect(ran.sort()).toEqual(["mid", "root"]);
  });

  it("runs fn when the deadline expires", async () => {
    vi.useFakeTimers();
    const [ctx, cancel] = withTimeout(background(), 100);
    let runs = 0;
    afterFunc(ctx, () => runs++);
    vi.advanceTimersByTime(100);
    expect(runs).toBe(0);
    await microtasks();
    expect(runs).toBe(1);
    cancel();
  });

  it("runs fn soon, but not synchronously, for a context that is already done", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    let runs = 0;
    const stop = afterFunc(ctx, () => runs++);
    expect(runs).toBe(0);
    await macrotask();
    expect(runs).toBe(1);
    expect(stop()).toBe(false);
  });

  it("stop() returns true when it prevents the call, then false", async () => {
    const [ctx, cancel] = withCancel(background());
    let runs = 0;
    const stop = afterFunc(ctx, () => runs++);
    expect(childCount(ctx)).toBe(1);
    expect(stop()).toBe(true);
    expect(childCount(ctx)).toBe(0);
    expect(stop()).toBe(false);
    cancel();
    await macrotask();
    expect(runs).toBe(0);
    expect(stop()).toBe(false);
  });

  it("stop() between cancel() and the queued call still prevents it", async () => {
    const [ctx, cancel] = withCancel(background());
    let runs = 0;
    const stop = afterFunc(ctx, () => runs++);
    cancel();
    expect(stop()).toBe(true);
    await macrotask();
    expect(runs).toBe(0);
  });

  it("stop() returns false once fn has started, including from inside fn", async () => {
    const [ctx, cancel] = withCancel(background());
    let fromInside: boolean | undefined;
    const stop = afterFunc(ctx, () => {
      fromInside = stop();
    });
    cancel();
    await macrotask();
    expect(fromInside).toBe(false);
    expect(stop()).toBe(false);
  });

  it("stop() returns true on a context that can never be cancelled, and fn never runs", async () => {
    let runs = 0;
    const stops = [background(), todo(), withoutCancel(background())].map((ctx) => afterFunc(ctx, () => runs++));
    expect(stops.map((stop) => stop())).toEqual([true, true, true]);
    expect(stops.map((stop) => stop())).toEqual([false, false, false]);
    await macrotask();
    expect(runs).toBe(0);
  });

  it("on a detached context is not run by the parent's cancel", async () => {
    const [parent, cancel] = withCancel(background());
    let runs = 0;
    const stop = afterFunc(withoutCancel(parent), () => runs++);
    cancel();
    await macrotask();
    expect(runs).toBe(0);
    expect(stop()).toBe(true);
  });

  it("on a foreign context runs when its signal aborts, sharing one listener that the last stop() removes", async () => {
    const foreign = new ForeignContext();
    let runs = 0;
    afterFunc(foreign, () => runs++);
    const stop = afterFunc(foreign, () => runs++);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(1);
    expect(stop()).toBe(true);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(1);
    const other = new ForeignContext();
    const stopOther = afterFunc(other, () => runs++);
    expect(getEventListeners(other.signal, "abort")).toHaveLength(1);
    expect(stopOther()).toBe(true);
    expect(getEventListeners(other.signal, "abort")).toHaveLength(0);
    foreign.cancel();
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
    await macrotask();
    expect(runs).toBe(1);
    expect(liveCounts().foreignListeners).toBe(0);
  });

  it("many registrations on one long-lived context, stopped, leave it no children", () => {
    const [ctx, cancel] = withCancel(background());
    const stops = Array.from({ length: 1_000 }, () => afterFunc(ctx, () => {}));
    expect(childCount(ctx)).toBe(1_000);
    for (let i = 0; i < stops.length; i += 2) stops[i]?.();
    for (let i = 1; i < stops.length; i += 2) stops[i]?.();
    expect(childCount(ctx)).toBe(0);
    expect(liveCounts().nodesWithChildren).toBe(0);
    cancel();
  });
});

describe("afterFunc() and a function whose name is odd", () => {
  it("afterFunc() takes a function named by a Symbol and runs it after the cancel", async () => {
    const [ctx, cancel] = withCancel(background());
    let ran = 0;
    const fn = Object.defineProperty(() => void ran++, "name", { value: Symbol("odd") });
    afterFunc(ctx, fn);
    cancel();
    await Promise.resolve();
    expect(ran).toBe(1);
  });
});
