import { describe, expect, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { ReleaseError, Semaphore } from "@tether/sync";
import { binarySemaphore, lockerSuite } from "./test-helpers/locker-suite.js";
import { ticks, track } from "./test-helpers/settle.js";

lockerSuite("Semaphore(1)", binarySemaphore, "Semaphore.release: released more than held: releasing 1 with 0 held");

describe("Semaphore", () => {
  it("new Semaphore() rejects a size that is not a whole number ≥ 1, naming it and the value", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => new Semaphore(bad)).toThrow(RangeError);
    }
    expect(() => new Semaphore(0)).toThrow("Semaphore: size must be a whole number ≥ 1, received 0");
    expect(() => new Semaphore(-0)).toThrow("Semaphore: size must be a whole number ≥ 1, received -0");
    expect(() => new Semaphore(1.5)).toThrow("received 1.5");
    expect(() => new Semaphore(Number.NaN)).toThrow("received NaN");
    expect(() => new Semaphore("3" as unknown as number)).toThrow(new TypeError('Semaphore: size must be a number, received "3"'));
  });

  it("Semaphore.acquire() of more than the size rejects with a RangeError up front and blocks nobody", async () => {
    const sem = new Semaphore(3);
    await expect(sem.acquire(background(), 4)).rejects.toThrow(
      new RangeError("Semaphore.acquire: n must be at most the semaphore's size 3, received 4"),
    );
    expect(() => sem.tryAcquire(4)).toThrow(RangeError);
    expect(sem.waiting).toBe(0);
    const small = await sem.acquire(background(), 1);
    expect(sem.available).toBe(2);
    small[Symbol.dispose]();
    expect(sem.available).toBe(3);
  });

  it("Semaphore.acquire() rejects n that is not a whole number ≥ 1", async () => {
    const sem = new Semaphore(3);
    await expect(sem.acquire(background(), 0)).rejects.toThrow("Semaphore.acquire: n must be a whole number ≥ 1, received 0");
    await expect(sem.acquire(background(), 1.5)).rejects.toThrow(RangeError);
    await expect(sem.acquire(background(), Number.NaN)).rejects.toThrow(RangeError);
    await expect(sem.acquire(background(), "1" as unknown as number)).rejects.toThrow(TypeError);
    expect(() => sem.release(-1)).toThrow(RangeError);
    expect(sem.available).toBe(3);
  });

  it("Semaphore.release() of more than is held throws a ReleaseError and leaves the semaphore unchanged", () => {
    const sem = new Semaphore(3);
    expect(sem.tryAcquire(2)).toBe(true);
    expect(() => sem.release(3)).toThrow(ReleaseError);
    expect(() => sem.release(3)).toThrow("Semaphore.release: released more than held: releasing 3 with 2 held");
    expect(sem.available).toBe(1);
    sem.release(2);
    expect(sem.available).toBe(3);
  });

  it("Semaphore.acquire() disposable gives back its n permits once", async () => {
    const sem = new Semaphore(5);
    const p = await sem.acquire(background(), 3);
    expect(sem.available).toBe(2);
    p[Symbol.dispose]();
    p[Symbol.dispose]();
    expect(sem.available).toBe(5);
  });

  it("Semaphore.release() serves every head waiter that now fits, in order, and stops at the first that does not", async () => {
    const sem = new Semaphore(5);
    sem.tryAcquire(5);
    const a = track(sem.acquire(background(), 2));
    const b = track(sem.acquire(background(), 2));
    const c = track(sem.acquire(background(), 2));
    const d = track(sem.acquire(background(), 1));
    sem.release(4);
    await ticks(1);
    expect([a.status, b.status, c.status, d.status]).toEqual(["fulfilled", "fulfilled", "pending", "pending"]);
    expect(sem.available).toBe(0);
    sem.release(1);
    await ticks(1);
    expect(c.status).toBe("pending");
    expect(d.status).toBe("pending");
    a.value?.[Symbol.dispose]();
    await ticks(1);
    expect([c.status, d.status]).toEqual(["fulfilled", "fulfilled"]);
    b.value?.[Symbol.dispose]();
    c.value?.[Symbol.dispose]();
    d.value?.[Symbol.dispose]();
    expect(sem.available).toBe(5);
    expect(sem.waiting).toBe(0);
  });

  it("Semaphore: the cancelled head waiter lets the ones behind it proceed", async () => {
    const sem = new Semaphore(3);
    sem.tryAcquire(2);
    const [ctx, cancel] = withCancel(background());
    const big = track(sem.acquire(ctx, 3));
    const small = track(sem.acquire(background(), 1));
    await ticks(3);
    expect(small.status).toBe("pending");
    cancel();
    await ticks(1);
    expect(big.status).toBe("rejected");
    expect(big.error).toBe(Canceled);
    expect(small.status).toBe("fulfilled");
    expect(sem.available).toBe(0);
    small.value?.[Symbol.dispose]();
    sem.release(2);
    expect(sem.available).toBe(3);
    expect(sem.waiting).toBe(0);
  });

  it("Semaphore: cancelling the context of every waiter grants none of them, though the head's leaving frees room", async () => {
    const sem = new Semaphore(3);
    sem.tryAcquire(2);
    const [ctx, cancel] = withCancel(background());
    const big = track(sem.acquire(ctx, 3));
    const small = track(sem.acquire(ctx, 1));
    cancel();
    await ticks(1);
    expect([big.status, small.status]).toEqual(["rejected", "rejected"]);
    expect(small.error).toBe(Canceled);
    expect(sem.available).toBe(1);
    expect(sem.waiting).toBe(0);
    sem.release(2);
  });

  it("Semaphore.tryAcquire() fails while anyone waits, even when enough permits are free", async () => {
    const sem = new Semaphore(4);
    sem.tryAcquire(2);
    const [ctx, cancel] = withCancel(background());
    const big = sem.acquire(ctx, 4).catch((e: unknown) => e);
    expect(sem.available).toBe(2);
    expect(sem.tryAcquire(1)).toBe(false);
    cancel();
    expect(await big).toBe(Canceled);
    expect(sem.tryAcquire(1)).toBe(true);
    sem.release(3);
  });

  it("Semaphore: a large acquire is not starved by a stream of small ones", async () => {
    const sem = new Semaphore(4);
    let bigQueued = false;
    let bigGranted = false;
    let overtakes = 0;
    // Three workers never hold more than 3 of the 4 permits, so without strict FIFO they could
    // keep taking the free ones forever and the big acquire would wait for all 3 to stop.
    const small = async (): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        using _ = await sem.acquire(background(), 1);
        if (bigQueued && !bigGranted) overtakes++;
        await ticks(1 + (i % 3));
      }
    };
    const workers = [small(), small(), small()];
    await ticks(10);
    bigQueued = true;
    const hold = await sem.acquire(background(), 4);
    bigGranted = true;
    expect(overtakes).toBe(0);
    expect(sem.available).toBe(0);
    hold[Symbol.dispose]();
    await Promise.all(workers);
    expect(sem.available).toBe(4);
  });

  it("Semaphore.withPermits() holds n permits while fn runs and gives them back on throw", async () => {
    const sem = new Semaphore(4);
    expect(await sem.withPermits(background(), 3, () => sem.available)).toBe(1);
    await expect(
      sem.withPermits(background(), 2, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(sem.available).toBe(4);
    await expect(sem.withPermits(background(), 5, () => 0)).rejects.toThrow(RangeError);
    await expect(sem.withPermits(null as unknown as Context, 1, () => 0)).rejects.toThrow(/Semaphore.withPermits: ctx must be a Context/);
    expect(sem.available).toBe(4);
  });

  it("Semaphore.toString() shows free permits and waiters", () => {
    const sem = new Semaphore(5);
    sem.tryAcquire(3);
    expect(String(sem)).toBe("Semaphore(2/5 free, 0 waiting)");
    sem.release(3);
  });
});

describe("Semaphore.size", () => {
  it("Semaphore.size cannot be assigned at run time, so no permits can be invented", () => {
    const sem = new Semaphore(1);
    expect(() => {
      (sem as { size: number }).size = 3;
    }).toThrow(TypeError);
    expect(sem.size).toBe(1);
    expect(() => sem.tryAcquire(3)).toThrow(RangeError);
  });
});
