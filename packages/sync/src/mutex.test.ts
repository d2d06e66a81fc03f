import { describe, expect, expectTypeOf, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { Mutex } from "@tether/sync";
import { lockerSuite } from "./test-helpers/locker-suite.js";
import { ticks, track } from "./test-helpers/settle.js";

lockerSuite("Mutex", () => new Mutex(), "Mutex.unlock: the mutex is not locked");

/** A Context that is not Tether's: it follows an AbortController through its signal. */
function foreignContext(): [Context, () => void] {
  const ac = new AbortController();
  const ctx: Context = {
    deadline: undefined,
    get err() {
      return ac.signal.aborted ? Canceled : undefined;
    },
    done: new Promise<void>((r) => ac.signal.addEventListener("abort", () => r())),
    signal: ac.signal,
    value: () => undefined,
  };
  return [ctx, () => ac.abort()];
}

describe("Mutex", () => {
  it("Mutex.lock() works with `using`: the block's end releases the mutex", async () => {
    const mu = new Mutex();
    {
      using _ = await mu.lock(background());
      expect(mu.locked).toBe(true);
    }
    expect(mu.locked).toBe(false);
  });

  it("Mutex.unlock() by hand makes the hold's disposable a no-op, even after someone else locks", async () => {
    const mu = new Mutex();
    const hold = await mu.lock(background());
    mu.unlock();
    const next = await mu.lock(background());
    hold[Symbol.dispose]();
    expect(mu.locked).toBe(true);
    next[Symbol.dispose]();
    expect(mu.locked).toBe(false);
  });

  it("a stale Mutex hold does not release a tryLock() holder, nor a hold handed over by unlock()", async () => {
    const mu = new Mutex();
    const stale = await mu.lock(background());
    mu.unlock();
    expect(mu.tryLock()).toBe(true);
    stale[Symbol.dispose]();
    expect(mu.locked).toBe(true);
    const queued = mu.lock(background());
    mu.unlock();
    const handed = await queued;
    stale[Symbol.dispose]();
    expect(mu.locked).toBe(true);
    handed[Symbol.dispose]();
    expect(mu.locked).toBe(false);
  });

  it("Mutex.lock() with a foreign context rejects when its signal aborts and leaves no waiter", async () => {
    const mu = new Mutex();
    mu.tryLock();
    const [ctx, abort] = foreignContext();
    const p = track(mu.lock(ctx));
    await ticks(2);
    expect(mu.waiting).toBe(1);
    abort();
    await ticks(2);
    expect(p.status).toBe("rejected");
    expect(p.error).toBe(Canceled);
    expect(mu.waiting).toBe(0);
    mu.unlock();
  });

  it("Mutex.lock() with a foreign context that is served withdraws its signal listener", async () => {
    const mu = new Mutex();
    mu.tryLock();
    const [ctx, abort] = foreignContext();
    const p = mu.lock(ctx);
    mu.unlock();
    const hold = await p;
    abort();
    expect(mu.locked).toBe(true);
    hold[Symbol.dispose]();
    expect(mu.locked).toBe(false);
  });

  it("Mutex.toString() shows whether it is locked and how many wait", async () => {
    const mu = new Mutex();
    expect(String(mu)).toBe("Mutex(unlocked, 0 waiting)");
    mu.tryLock();
    const [ctx, cancel] = withCancel(background());
    const p = mu.lock(ctx).catch(() => "cancelled");
    expect(String(mu)).toBe("Mutex(locked, 1 waiting)");
    cancel();
    expect(await p).toBe("cancelled");
    mu.unlock();
  });

  it("Mutex has the public types of the design: lock resolves to a Disposable, withLock to fn's result", () => {
    const mu = new Mutex();
    expectTypeOf(mu.lock).returns.toEqualTypeOf<Promise<Disposable>>();
    expectTypeOf(mu.withLock<number>).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(mu.locked).toEqualTypeOf<boolean>();
    expectTypeOf(mu.tryLock).returns.toEqualTypeOf<boolean>();
    // The types are checked by tsc; at run time the same shape holds.
    expect(mu.locked).toBe(false);
    expect(mu.tryLock()).toBe(true);
    expect(mu.locked).toBe(true);
    mu.unlock();
  });
});
