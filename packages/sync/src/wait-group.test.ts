import { describe, expect, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { ReleaseError, WaitGroup } from "@tether/sync";
import { ticks, track } from "./test-helpers/settle.js";

describe("WaitGroup", () => {
  it("WaitGroup.wait() resolves at once when the counter is zero", async () => {
    const wg = new WaitGroup();
    const w = track(wg.wait(background()));
    await ticks(1);
    expect(w.status).toBe("fulfilled");
    expect(wg.waiting).toBe(0);
  });

  it("WaitGroup.wait() resolves every waiter once the last job is done, not before", async () => {
    const wg = new WaitGroup();
    wg.add(3);
    const w1 = track(wg.wait(background()));
    const w2 = track(wg.wait(background()));
    wg.done();
    wg.done();
    await ticks(3);
    expect([w1.status, w2.status]).toEqual(["pending", "pending"]);
    expect(wg.waiting).toBe(2);
    wg.done();
    await ticks(1);
    expect([w1.status, w2.status]).toEqual(["fulfilled", "fulfilled"]);
    expect(wg.waiting).toBe(0);
    expect(wg.count).toBe(0);
  });

  it("WaitGroup.wait() rejects with ctx.err when cancelled and leaves the counter alone", async () => {
    const wg = new WaitGroup();
    wg.add();
    const [ctx, cancel] = withCancel(background());
    const w = track(wg.wait(ctx));
    cancel();
    await ticks(1);
    expect(w.error).toBe(Canceled);
    expect(wg.waiting).toBe(0);
    expect(wg.count).toBe(1);
    await expect(wg.wait(ctx)).rejects.toBe(Canceled);
    wg.done();
    await expect(wg.wait(ctx)).rejects.toBe(Canceled);
  });

  it("WaitGroup.done() below zero throws a ReleaseError and leaves the counter at zero", () => {
    const wg = new WaitGroup();
    expect(() => wg.done()).toThrow(new ReleaseError("WaitGroup.done: the counter is already zero"));
    wg.add(2);
    expect(() => wg.add(-3)).toThrow(new ReleaseError("WaitGroup.add: the counter would go negative: 2 + -3"));
    expect(wg.count).toBe(2);
    wg.add(-2);
    expect(wg.count).toBe(0);
  });

  it("WaitGroup.add() throws, and wait() rejects, with a TypeError or RangeError naming the bad argument", async () => {
    const wg = new WaitGroup();
    expect(() => wg.add(1.5)).toThrow(new RangeError("WaitGroup.add: n must be a whole number, received 1.5"));
    expect(() => wg.add("1" as unknown as number)).toThrow(TypeError);
    await expect(wg.wait({} as Context)).rejects.toThrow(/WaitGroup.wait: ctx must be a Context/);
    expect(wg.count).toBe(0);
  });

  it("WaitGroup.add() throws a RangeError and changes nothing when the counter would pass Number.MAX_SAFE_INTEGER", () => {
    const wg = new WaitGroup();
    wg.add(Number.MAX_SAFE_INTEGER);
    expect(() => wg.add(2)).toThrow(RangeError);
    expect(() => wg.add(2)).toThrow(/WaitGroup.add: the counter would pass Number.MAX_SAFE_INTEGER/);
    expect(wg.count).toBe(Number.MAX_SAFE_INTEGER);
    wg.add(-Number.MAX_SAFE_INTEGER);
    expect(wg.count).toBe(0);
  });

  it("WaitGroup.toString() shows the counter and the waiters", () => {
    const wg = new WaitGroup();
    wg.add(2);
    expect(String(wg)).toBe("WaitGroup(2 running, 0 waiting)");
    wg.add(-2);
  });
});
