import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { Canceled, type Context, background, withCancel } from "@tether/core";
import { live } from "@tether/core/internal";
import { childCount, liveCounts } from "@tether/core/testing";
import { Channel, Mutex, Semaphore } from "@tether/sync";
import { runNodeReport } from "../../../test/child.js";
import { heapGrowthMB } from "../../../test/heap.js";
import { ForeignContext } from "../../core/src/test-helpers/foreign.js";
import { ticks, track } from "./test-helpers/settle.js";

// When the last waiter of a list's shared cancel subscription leaves, the subscription stays
// linked, idle, so that the next wait under the same context joins it for the cost of a count.
// Core's sweep withdraws it at the next timer turn, or at once when the testing counters are read.
// These tests read `live` directly, which sweeps nothing, to see what is linked in between.

/** Resolves once a timer armed now has fired: after every timer armed before it with no longer delay. */
const timerTurn = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe("idle shared subscriptions", () => {
  it("Channel.recv() joins its list's idle subscription again under the same context, and the next timer turn withdraws it", async () => {
    const [ctx, cancel] = withCancel(background());
    const ch = new Channel<number>();
    const first = ch.recv(ctx);
    const sub = ch._recvq._sub;
    expect(sub).not.toBeNull();
    ch.trySend(1);
    expect(live.nodesWithChildren).toBe(1);
    const second = ch.recv(ctx);
    expect(ch._recvq._sub).toBe(sub);
    ch.trySend(2);
    expect([(await first).value, (await second).value]).toEqual([1, 2]);
    expect(live.nodesWithChildren).toBe(1);
    await timerTurn();
    expect(live.nodesWithChildren).toBe(0);
    expect(ch._recvq._sub).toBeNull();
    cancel();
  });

  it("childCount() and liveCounts() withdraw idle subscriptions before they count", async () => {
    const [ctx, cancel] = withCancel(background());
    const ch = new Channel<number>();
    const got = ch.recv(ctx);
    ch.trySend(1);
    expect(live.nodesWithChildren).toBe(1);
    expect(childCount(ctx)).toBe(0);
    expect(live.nodesWithChildren).toBe(0);
    const again = ch.recv(ctx);
    ch.trySend(2);
    expect(liveCounts().nodesWithChildren).toBe(0);
    expect([(await got).value, (await again).value]).toEqual([1, 2]);
    cancel();
  });

  it("a subscription found busy by a sweep is withdrawn by the sweep after it goes idle", async () => {
    const [ctx, cancel] = withCancel(background());
    const ch = new Channel<number>();
    const first = ch.recv(ctx);
    await timerTurn();
    expect(live.nodesWithChildren).toBe(1);
    ch.trySend(1);
    expect(live.nodesWithChildren).toBe(1);
    await timerTurn();
    expect(live.nodesWithChildren).toBe(0);
    expect((await first).value).toBe(1);
    cancel();
  });

  it("a wait under another context takes the slot of an idle subscription at once", async () => {
    const [a, cancelA] = withCancel(background());
    const [b, cancelB] = withCancel(background());
    const ch = new Channel<number>();
    const first = ch.recv(a);
    ch.trySend(1);
    const second = ch.recv(b);
    // Only b's subscription is linked: a's was withdrawn rather than left beside it.
    expect(live.nodesWithChildren).toBe(1);
    expect(ch._recvq._sub?._ctx).toBe(b);
    cancelB();
    await expect(second).rejects.toBe(Canceled);
    expect((await first).value).toBe(1);
    expect(ch.waiting).toBe(0);
    cancelA();
  });

  it("cancelling a context whose subscription is idle frees the slot, and the next wait under it rejects at once", async () => {
    const [a, cancelA] = withCancel(background());
    const [b, cancelB] = withCancel(background());
    const sem = new Semaphore(1);
    sem.tryAcquire(1);
    const first = track(sem.acquire(a, 1));
    sem.release(1);
    await ticks(1);
    expect(first.status).toBe("fulfilled");
    cancelA();
    expect(sem._q._sub).toBeNull();
    expect(live.nodesWithChildren).toBe(0);
    await expect(sem.acquire(a, 1)).rejects.toBe(Canceled);
    const later = track(sem.acquire(b, 1));
    expect(sem._q._sub?._ctx).toBe(b);
    sem.release(1);
    await ticks(1);
    expect(later.status).toBe("fulfilled");
    expect(sem.available).toBe(0);
    sem.release(1);
    cancelB();
  });

  it("Mutex: the next run of contention under the same context keeps the subscription, and a cancel still rejects that run's waiters", async () => {
    const [ctx, cancel] = withCancel(background());
    const mu = new Mutex();
    mu.tryLock();
    const first = track(mu.lock(ctx));
    const sub = mu._q._sub;
    mu.unlock();
    await ticks(1);
    expect(first.status).toBe("fulfilled");
    // The mutex is held by the first waiter; a new run of contention starts a fresh list.
    const before = mu._q;
    const second = track(mu.lock(ctx));
    const third = track(mu.lock(ctx));
    expect(mu._q).not.toBe(before);
    expect(mu._q._sub).toBe(sub);
    expect(before._sub).toBeNull();
    expect(live.nodesWithChildren).toBe(1);
    cancel();
    await ticks(1);
    expect([second.status, third.status]).toEqual(["rejected", "rejected"]);
    expect([second.error, third.error]).toEqual([Canceled, Canceled]);
    expect([mu.waiting, mu.locked]).toEqual([0, true]);
    (first.value as Disposable)[Symbol.dispose]();
    expect(mu.locked).toBe(false);
  });

  it("Mutex: a late cancel of a foreign context still reaches the next run's waiter after the subscription moved lists", async () => {
    // A foreign context whose signal has aborted while its err still reads undefined: core reports
    // its cancellation to the subscriber in a microtask. Before that, the first waiter is served and
    // a new run of contention moves the idle subscription to a fresh list, where a second waiter
    // under the same context joins it.
    const stale: Context = { deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal: AbortSignal.abort(), value: () => undefined };
    const mu = new Mutex();
    mu.tryLock();
    const first = track(mu.lock(stale));
    mu.unlock();
    const second = track(mu.lock(stale));
    await ticks(3);
    expect([first.status, second.status]).toEqual(["fulfilled", "rejected"]);
    expect([mu.waiting, mu.locked]).toEqual([0, true]);
    (first.value as Disposable)[Symbol.dispose]();
    expect(mu.locked).toBe(false);
  });

  it("an idle subscription under a foreign context holds the one abort listener on its signal only until the sweep", async () => {
    const foreign = new ForeignContext();
    const ch = new Channel<number>();
    const got = ch.recv(foreign);
    ch.trySend(1);
    expect((await got).value).toBe(1);
    // Two hidden nodes hold it: the foreign context's, and its signal's, which owns the listener.
    expect([live.nodesWithChildren, live.foreignListeners]).toEqual([2, 1]);
    await timerTurn();
    expect([live.nodesWithChildren, live.foreignListeners]).toEqual([0, 0]);
    // The signal can still cancel a later wait: its bridge is made again.
    const later = ch.recv(foreign);
    foreign.cancel();
    await expect(later).rejects.toBe(Canceled);
  });

  it("fake timers installed after Tether loaded neither see the sweep nor strand it when uninstalled", async () => {
    vi.useFakeTimers();
    const [ctx, cancel] = withCancel(background());
    const ch = new Channel<number>();
    const got = ch.recv(ctx);
    ch.trySend(1);
    expect((await got).value).toBe(1);
    expect(live.nodesWithChildren).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    await timerTurn();
    expect(live.nodesWithChildren).toBe(0);
    cancel();
  });

  it("a burst of waits that never yields to timers does not keep every displaced subscription's context", async () => {
    const mu = new Mutex();
    // Each wait under a fresh context displaces the previous context's subscription; nothing here
    // yields to timers, so the sweep's timer cannot run. (A WeakRef cannot show this: its target
    // is kept until the microtask queue drains.)
    const burst = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const [ctx, cancel] = withCancel(background());
        mu.tryLock();
        const waited = mu.lock(ctx);
        mu.unlock();
        (await waited)[Symbol.dispose]();
        cancel();
      }
    };
    const grown = await heapGrowthMB(
      () => burst(5_000),
      () => burst(100_000),
    );
    // Unbounded, the queue held about 330 bytes per wait: 30 MB here.
    expect(grown).toBeLessThan(8);
  });

  const fixture = fileURLToPath(new URL("./test-helpers/idle-exit.mjs", import.meta.url));
  const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));

  it(
    "a process whose channel keeps an idle subscription exits as soon as its work is done",
    async () => {
      expect(existsSync(built), `${built} is missing: build with \`npx tsc -b\` first`).toBe(true);
      // The bound is this test's timeout: the sweep's timer is unref'd, so it holds nothing open.
      // Linked, so the sweep is armed; not among the resources that keep the process alive.
      expect(await runNodeReport(fixture)).toEqual({ value: 1, linked: 1, timers: 0 });
    },
    15_000,
  );
});
