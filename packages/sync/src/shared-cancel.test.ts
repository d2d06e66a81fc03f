import { describe, expect, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { dump } from "@tether/core/debug";
import { childCount } from "@tether/core/testing";
import { Channel, Mutex, Semaphore } from "@tether/sync";
import { ticks, track } from "./test-helpers/settle.js";

// Waiters of one wait list that park under the same context share one cancel subscription on it:
// joining and leaving it is a count rather than a link into the context's list at every wait.

describe("shared cancel subscriptions", () => {
  it("waiters parked under one context hold one subscription on it, and dump() counts them", async () => {
    const [ctx, cancel] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const waits = [track(mu.lock(ctx)), track(mu.lock(ctx)), track(mu.lock(ctx))];
    expect(childCount(ctx)).toBe(1);
    expect(dump(ctx)).toContain("Mutex.lock ×3");
    cancel();
    await ticks(2);
    expect(waits.map((w) => w.status)).toEqual(["rejected", "rejected", "rejected"]);
    mu.unlock();
  });

  it("cancelling a shared subscription rejects its waiters with ctx.err in queue order and leaves none queued", async () => {
    const [ctx, cancel] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const order: number[] = [];
    const waits = [0, 1, 2].map((i) =>
      mu.lock(ctx).then(
        () => "served",
        (err: unknown) => {
          order.push(i);
          return err;
        },
      ),
    );
    cancel();
    expect(mu.waiting).toBe(0);
    expect(await Promise.all(waits)).toEqual([Canceled, Canceled, Canceled]);
    expect(order).toEqual([0, 1, 2]);
    expect(mu.locked).toBe(true);
    mu.unlock();
    expect(mu.locked).toBe(false);
  });

  it("the shared subscription is withdrawn once its last waiter is served", async () => {
    const [ctx, cancel] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const a = track(mu.lock(ctx));
    const b = track(mu.lock(ctx));
    mu.unlock();
    expect(childCount(ctx)).toBe(1);
    mu.unlock();
    expect(childCount(ctx)).toBe(0);
    await ticks(1);
    expect([a.status, b.status]).toEqual(["fulfilled", "fulfilled"]);
    mu.unlock();
    cancel();
  });

  it("a waiter under another context subscribes on its own, and each cancel rejects only its own waiters", async () => {
    const [ctx1, cancel1] = withCancel(background());
    const [ctx2, cancel2] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const a = track(mu.lock(ctx1));
    const b = track(mu.lock(ctx2));
    const c = track(mu.lock(ctx1));
    expect([childCount(ctx1), childCount(ctx2)]).toEqual([1, 1]);
    cancel1();
    await ticks(1);
    expect([a.status, b.status, c.status]).toEqual(["rejected", "pending", "rejected"]);
    expect(mu.waiting).toBe(1);
    mu.unlock();
    await ticks(1);
    expect(b.status).toBe("fulfilled");
    expect(childCount(ctx2)).toBe(0);
    mu.unlock();
    cancel2();
  });

  it("once a context's waiters are gone, the next context's waiters share a subscription of their own", async () => {
    const [ctx1, cancel1] = withCancel(background());
    const [ctx2, cancel2] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const first = track(mu.lock(ctx1));
    mu.unlock();
    const later = [track(mu.lock(ctx2)), track(mu.lock(ctx2))];
    expect([childCount(ctx1), childCount(ctx2)]).toEqual([0, 1]);
    cancel2();
    await ticks(1);
    expect([first.status, ...later.map((w) => w.status)]).toEqual(["fulfilled", "rejected", "rejected"]);
    mu.unlock();
    cancel1();
  });

  it("Semaphore: cancelling shared waiters at the head lets a smaller waiter under another context proceed", async () => {
    const [big, cancelBig] = withCancel(background());
    const [small, cancelSmall] = withCancel(background());
    const sem = new Semaphore(3);
    sem.tryAcquire(2);
    const heads = [track(sem.acquire(big, 2)), track(sem.acquire(big, 3))];
    const behind = track(sem.acquire(small, 1));
    await ticks(1);
    expect(behind.status).toBe("pending");
    cancelBig();
    await ticks(1);
    expect(heads.map((w) => w.status)).toEqual(["rejected", "rejected"]);
    expect(behind.status).toBe("fulfilled");
    expect([sem.available, sem.waiting]).toEqual([0, 0]);
    sem.release(3);
    cancelSmall();
  });

  it("Channel: receivers sharing a context are served in order, and the subscription ends with the last", async () => {
    const [ctx, cancel] = withCancel(background());
    const ch = new Channel<number>();
    const got = [ch.recv(ctx), ch.recv(ctx), ch.recv(ctx)];
    expect(childCount(ctx)).toBe(1);
    for (let v = 0; v < 3; v++) expect(ch.trySend(v)).toBe(true);
    expect(childCount(ctx)).toBe(0);
    expect((await Promise.all(got)).map((r) => r.value)).toEqual([0, 1, 2]);
    cancel();
  });

  it("a late cancel call for a subscription already dropped touches none of the waiters after it", async () => {
    // A foreign context whose signal has aborted while its err still reads undefined: core reports
    // its cancellation to the subscriber in a microtask, by which time the waiter was served and a
    // waiter under another context holds the list's subscription.
    const signal = AbortSignal.abort();
    const stale: Context = { deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal, value: () => undefined };
    const [ctx, cancel] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const first = track(mu.lock(stale));
    mu.unlock();
    const second = track(mu.lock(ctx));
    await ticks(3);
    expect([first.status, second.status]).toEqual(["fulfilled", "pending"]);
    expect(mu.waiting).toBe(1);
    // The late call left the list's slot to the subscription that holds it now.
    expect(mu._q._sub?._ctx).toBe(ctx);
    mu.unlock();
    await ticks(1);
    expect(second.status).toBe("fulfilled");
    mu.unlock();
    cancel();
  });
});
