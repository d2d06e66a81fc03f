import { describe, expect, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { RWMutex, ReleaseError } from "@tether/sync";
import { lockerSuite } from "./test-helpers/locker-suite.js";
import { ticks, track } from "./test-helpers/settle.js";

lockerSuite("RWMutex (write side)", () => new RWMutex(), "RWMutex.unlock: the write lock is not held");

describe("RWMutex", () => {
  it("RWMutex.rLock() lets many readers in at once", async () => {
    const rw = new RWMutex();
    const holds = await Promise.all([rw.rLock(background()), rw.rLock(background()), rw.rLock(background())]);
    expect(rw.readers).toBe(3);
    expect(rw.tryLock()).toBe(false);
    for (const h of holds) h[Symbol.dispose]();
    expect(rw.readers).toBe(0);
    expect(rw.tryLock()).toBe(true);
    rw.unlock();
  });

  it("RWMutex.lock() waits for the readers to leave, and the last one out lets it in", async () => {
    const rw = new RWMutex();
    const r1 = await rw.rLock(background());
    const r2 = await rw.rLock(background());
    const w = track(rw.lock(background()));
    r1[Symbol.dispose]();
    await ticks(3);
    expect(w.status).toBe("pending");
    r2[Symbol.dispose]();
    await ticks(1);
    expect(w.status).toBe("fulfilled");
    expect(rw.locked).toBe(true);
    w.value?.[Symbol.dispose]();
    expect(rw.locked).toBe(false);
  });

  it("RWMutex.rLock() waits behind a waiting writer, so readers cannot starve it", async () => {
    const rw = new RWMutex();
    const r1 = await rw.rLock(background());
    const order: string[] = [];
    const w = rw.lock(background()).then((h) => {
      order.push("writer");
      h[Symbol.dispose]();
    });
    expect(rw.tryRLock()).toBe(false);
    const r2 = rw.rLock(background()).then((h) => {
      order.push("late reader");
      h[Symbol.dispose]();
    });
    await ticks(3);
    expect(order).toEqual([]);
    expect(rw.waiting).toBe(2);
    r1[Symbol.dispose]();
    await Promise.all([w, r2]);
    expect(order).toEqual(["writer", "late reader"]);
    expect(rw.readers).toBe(0);
    expect(rw.locked).toBe(false);
  });

  it("RWMutex.unlock() lets in every reader queued before the next writer together", async () => {
    const rw = new RWMutex();
    rw.tryLock();
    const ra = track(rw.rLock(background()));
    const rb = track(rw.rLock(background()));
    const w2 = track(rw.lock(background()));
    const rc = track(rw.rLock(background()));
    rw.unlock();
    await ticks(1);
    expect([ra.status, rb.status, w2.status, rc.status]).toEqual(["fulfilled", "fulfilled", "pending", "pending"]);
    expect(rw.readers).toBe(2);
    ra.value?.[Symbol.dispose]();
    rb.value?.[Symbol.dispose]();
    await ticks(1);
    expect(w2.status).toBe("fulfilled");
    w2.value?.[Symbol.dispose]();
    await ticks(1);
    expect(rc.status).toBe("fulfilled");
    rc.value?.[Symbol.dispose]();
    expect(rw.readers).toBe(0);
    expect(rw.waiting).toBe(0);
  });

  it("RWMutex.lock() cancelled while readers hold lets the readers queued behind it in", async () => {
    const rw = new RWMutex();
    const r1 = await rw.rLock(background());
    const [ctx, cancel] = withCancel(background());
    const w = track(rw.lock(ctx));
    const r2 = track(rw.rLock(background()));
    await ticks(2);
    expect(r2.status).toBe("pending");
    cancel();
    await ticks(1);
    expect(w.status).toBe("rejected");
    expect(w.error).toBe(Canceled);
    expect(r2.status).toBe("fulfilled");
    expect(rw.readers).toBe(2);
    r1[Symbol.dispose]();
    r2.value?.[Symbol.dispose]();
    expect(rw.readers).toBe(0);
    expect(rw.waiting).toBe(0);
  });

  it("RWMutex.rLock() on an already-cancelled context rejects even when the lock is free", async () => {
    const rw = new RWMutex();
    const [ctx, cancel] = withCancel(background());
    cancel();
    await expect(rw.rLock(ctx)).rejects.toBe(Canceled);
    expect(rw.readers).toBe(0);
  });

  it("RWMutex.rLock() rejects with ctx.err when cancelled while queued behind a writer", async () => {
    const rw = new RWMutex();
    rw.tryLock();
    const [ctx, cancel] = withCancel(background());
    const r = track(rw.rLock(ctx));
    cancel();
    await ticks(1);
    expect(r.error).toBe(Canceled);
    expect(rw.waiting).toBe(0);
    rw.unlock();
    expect(rw.readers).toBe(0);
  });

  it("RWMutex read hold's disposable releases once", async () => {
    const rw = new RWMutex();
    const a = await rw.rLock(background());
    const b = await rw.rLock(background());
    a[Symbol.dispose]();
    a[Symbol.dispose]();
    expect(rw.readers).toBe(1);
    b[Symbol.dispose]();
    expect(rw.readers).toBe(0);
  });

  it("RWMutex.rUnlock() without a reader throws a ReleaseError and changes nothing", () => {
    const rw = new RWMutex();
    expect(() => rw.rUnlock()).toThrow(ReleaseError);
    expect(() => rw.rUnlock()).toThrow("RWMutex.rUnlock: no read lock is held");
    rw.tryLock();
    expect(() => rw.rUnlock()).toThrow(ReleaseError);
    expect(rw.locked).toBe(true);
    rw.unlock();
  });

  it("RWMutex.unlock() while only readers hold throws a ReleaseError and leaves the readers", () => {
    const rw = new RWMutex();
    expect(rw.tryRLock()).toBe(true);
    expect(() => rw.unlock()).toThrow("RWMutex.unlock: the write lock is not held");
    expect(rw.readers).toBe(1);
    rw.rUnlock();
  });

  it("RWMutex.withRLock() runs fn under a read lock and releases it on throw", async () => {
    const rw = new RWMutex();
    expect(await rw.withRLock(background(), () => rw.readers)).toBe(1);
    const boom = new Error("boom");
    await expect(
      rw.withRLock(background(), () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(rw.readers).toBe(0);
    await expect(rw.withRLock(background(), null as unknown as () => void)).rejects.toThrow(/withRLock: fn must be a function/);
    await expect(rw.rLock(5 as unknown as Context)).rejects.toThrow(/RWMutex.rLock: ctx must be a Context, received 5/);
    expect(rw.readers).toBe(0);
  });

  it("RWMutex.toString() shows who holds it and how many wait", () => {
    const rw = new RWMutex();
    expect(String(rw)).toBe("RWMutex(unlocked, 0 waiting)");
    rw.tryRLock();
    rw.tryRLock();
    expect(String(rw)).toBe("RWMutex(2 readers, 0 waiting)");
    rw.rUnlock();
    expect(String(rw)).toBe("RWMutex(1 reader, 0 waiting)");
    rw.rUnlock();
    rw.tryLock();
    expect(String(rw)).toBe("RWMutex(write-locked, 0 waiting)");
    rw.unlock();
  });
});
