import { describe, expect, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { Mutex, RWMutex, ReleaseError, Semaphore } from "@tether/sync";
import { ticks, track } from "./settle.js";

/** The exclusive-lock face shared by Mutex, RWMutex's write side and Semaphore(1). */
export interface Locker {
  lock(ctx: Context): Promise<Disposable>;
  tryLock(): boolean;
  unlock(): void;
  withLock<T>(ctx: Context, fn: () => T | PromiseLike<T>): Promise<T>;
  /** Whether the lock is held. */
  readonly locked: boolean;
  /** How many lock calls are queued. */
  readonly waiting: number;
}

/** Semaphore(1) seen as a lock. */
export function binarySemaphore(): Locker {
  const sem = new Semaphore(1);
  return {
    lock: (ctx) => sem.acquire(ctx),
    tryLock: () => sem.tryAcquire(),
    unlock: () => sem.release(),
    withLock: (ctx, fn) => sem.withPermits(ctx, 1, fn),
    get locked() {
      return sem.available === 0;
    },
    get waiting() {
      return sem.waiting;
    },
  };
}

/** Every exclusive lock of the package, by name. */
export const lockers: ReadonlyArray<readonly [string, () => Locker]> = [
  ["Mutex", () => new Mutex()],
  ["RWMutex (write side)", () => new RWMutex()],
  ["Semaphore(1)", binarySemaphore],
];

/**
 * lockerSuite is the contract every exclusive lock keeps: exclusion, FIFO hand-over, tryLock,
 * unlock misuse, a disposable that releases once, withLock that releases on throw, and cancellation
 * that leaves the lock as if the wait never happened. `unlockMessage` is the ReleaseError's message.
 */
export function lockerSuite(name: string, factory: () => Locker, unlockMessage: string): void {
  describe(`${name} (locker contract)`, () => {
    it(`${name}: lock() on a free lock resolves at once and holds it until the disposable is disposed`, async () => {
      const lk = factory();
      const hold = await lk.lock(background());
      expect(lk.locked).toBe(true);
      hold[Symbol.dispose]();
      expect(lk.locked).toBe(false);
    });

    it(`${name}: a second lock() waits until the holder unlocks`, async () => {
      const lk = factory();
      const first = await lk.lock(background());
      const second = track(lk.lock(background()));
      await ticks(10);
      expect(second.status).toBe("pending");
      expect(lk.waiting).toBe(1);
      first[Symbol.dispose]();
      await ticks(1);
      expect(second.status).toBe("fulfilled");
      expect(lk.locked).toBe(true);
      expect(lk.waiting).toBe(0);
      second.value?.[Symbol.dispose]();
      expect(lk.locked).toBe(false);
    });

    it(`${name}: concurrent critical sections never overlap`, async () => {
      const lk = factory();
      let inside = 0;
      let peak = 0;
      let total = 0;
      const worker = async (): Promise<void> => {
        for (let i = 0; i < 100; i++) {
          using _ = await lk.lock(background());
          peak = Math.max(peak, ++inside);
          const seen = total;
          await ticks(i % 3);
          total = seen + 1;
          inside--;
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      expect(peak).toBe(1);
      expect(total).toBe(400);
      expect(lk.locked).toBe(false);
    });

    it(`${name}: waiters get the lock in the order they asked for it`, async () => {
      const lk = factory();
      expect(lk.tryLock()).toBe(true);
      const order: number[] = [];
      const waiters = [0, 1, 2, 3, 4].map((i) =>
        lk.lock(background()).then((hold) => {
          order.push(i);
          hold[Symbol.dispose]();
        }),
      );
      expect(lk.waiting).toBe(5);
      lk.unlock();
      await Promise.all(waiters);
      expect(order).toEqual([0, 1, 2, 3, 4]);
      expect(lk.locked).toBe(false);
    });

    it(`${name}: tryLock() takes a free lock and fails on a held one without waiting`, () => {
      const lk = factory();
      expect(lk.tryLock()).toBe(true);
      expect(lk.locked).toBe(true);
      expect(lk.tryLock()).toBe(false);
      expect(lk.waiting).toBe(0);
      lk.unlock();
      expect(lk.locked).toBe(false);
    });

    it(`${name}: unlock() of an unheld lock throws a ReleaseError and leaves the lock usable`, async () => {
      const lk = factory();
      expect(() => lk.unlock()).toThrow(ReleaseError);
      expect(() => lk.unlock()).toThrow(unlockMessage);
      expect(lk.locked).toBe(false);
      const hold = await lk.lock(background());
      hold[Symbol.dispose]();
      expect(lk.locked).toBe(false);
    });

    it(`${name}: the disposable releases once: a second dispose does not release the next holder`, async () => {
      const lk = factory();
      const hold = await lk.lock(background());
      hold[Symbol.dispose]();
      expect(lk.tryLock()).toBe(true);
      hold[Symbol.dispose]();
      expect(lk.locked).toBe(true);
      lk.unlock();
      expect(() => lk.unlock()).toThrow(ReleaseError);
    });

    it(`${name}: withLock() resolves with fn's result and releases the lock`, async () => {
      const lk = factory();
      const v = await lk.withLock(background(), async () => {
        expect(lk.locked).toBe(true);
        return 42;
      });
      expect(v).toBe(42);
      expect(lk.locked).toBe(false);
    });

    it(`${name}: withLock() releases the lock when fn throws or rejects, and passes the error on`, async () => {
      const lk = factory();
      const boom = new Error("boom");
      await expect(
        lk.withLock(background(), () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(lk.locked).toBe(false);
      await expect(lk.withLock(background(), () => Promise.reject(boom))).rejects.toBe(boom);
      expect(lk.locked).toBe(false);
    });

    it(`${name}: withLock() on a cancelled context rejects with ctx.err and never calls fn`, async () => {
      const lk = factory();
      const [ctx, cancel] = withCancel(background());
      cancel();
      let called = false;
      await expect(lk.withLock(ctx, () => (called = true))).rejects.toBe(Canceled);
      expect(called).toBe(false);
      expect(lk.locked).toBe(false);
    });

    it(`${name}: lock() on an already-cancelled context rejects even when the lock is free`, async () => {
      const lk = factory();
      const [ctx, cancel] = withCancel(background());
      cancel();
      await expect(lk.lock(ctx)).rejects.toBe(ctx.err);
      expect(lk.locked).toBe(false);
      expect(lk.waiting).toBe(0);
    });

    it(`${name}: lock() rejects with ctx.err when cancelled while queued, and leaves no waiter`, async () => {
      const lk = factory();
      expect(lk.tryLock()).toBe(true);
      const [ctx, cancel] = withCancel(background());
      const p = track(lk.lock(ctx));
      expect(lk.waiting).toBe(1);
      cancel();
      expect(lk.waiting).toBe(0);
      await ticks(1);
      expect(p.status).toBe("rejected");
      expect(p.error).toBe(Canceled);
      lk.unlock();
      expect(lk.locked).toBe(false);
    });

    it(`${name}: a waiter cancelled in the middle of the queue is skipped and the rest keep their order`, async () => {
      const lk = factory();
      expect(lk.tryLock()).toBe(true);
      const [ctx, cancel] = withCancel(background());
      const order: string[] = [];
      const take = (c: Context, name: string): Promise<void> =>
        lk.lock(c).then(
          (hold) => {
            order.push(name);
            hold[Symbol.dispose]();
          },
          () => {
            order.push(`${name} cancelled`);
          },
        );
      const all = [take(background(), "a"), take(ctx, "b"), take(background(), "c")];
      cancel();
      lk.unlock();
      await Promise.all(all);
      // When the rejection arrives relative to the others' grants is not part of the contract.
      expect(order.filter((o) => o !== "b cancelled")).toEqual(["a", "c"]);
      expect(order).toContain("b cancelled");
      expect(lk.locked).toBe(false);
      expect(lk.waiting).toBe(0);
    });

    it(`${name}: a cancel that comes right after the hand-over leaves the lock with the waiter`, async () => {
      const lk = factory();
      expect(lk.tryLock()).toBe(true);
      const [ctx, cancel] = withCancel(background());
      const p = track(lk.lock(ctx));
      lk.unlock();
      cancel();
      await ticks(1);
      expect(p.status).toBe("fulfilled");
      expect(lk.locked).toBe(true);
      p.value?.[Symbol.dispose]();
      expect(lk.locked).toBe(false);
    });

    it(`${name}: a lock released while the waiter's context is being cancelled is not handed to that waiter`, async () => {
      const lk = factory();
      expect(lk.tryLock()).toBe(true);
      const [ctx, cancel] = withCancel(background());
      // An abort listener runs inside cancel(), after ctx.err is set and before the waiter hears of it.
      ctx.signal.addEventListener("abort", () => lk.unlock());
      const p = track(lk.lock(ctx));
      cancel();
      await ticks(1);
      expect(p.status).toBe("rejected");
      expect(p.error).toBe(Canceled);
      expect(lk.locked).toBe(false);
      expect(lk.waiting).toBe(0);
    });

    it(`${name}: lock() and withLock() reject with a TypeError naming ctx or fn when given something else`, async () => {
      const lk = factory();
      await expect(lk.lock(undefined as unknown as Context)).rejects.toThrow(TypeError);
      await expect(lk.lock({} as Context)).rejects.toThrow(/ctx must be a Context, received <Object>/);
      await expect(lk.withLock(background(), 5 as unknown as () => void)).rejects.toThrow(/fn must be a function, received 5/);
      await expect(lk.withLock(null as unknown as Context, () => undefined)).rejects.toThrow(/ctx must be a Context, received null/);
      expect(lk.locked).toBe(false);
    });
  });
}
