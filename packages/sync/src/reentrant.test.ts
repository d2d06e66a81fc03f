import { describe, expect, it } from "vitest";
import { Canceled, DeadlineExceeded, background, withCancel, type Context } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { childCount } from "@tether/core/testing";
import { Channel, Mutex, Semaphore, WaitGroup, select } from "@tether/sync";
import { ForeignContext } from "../../core/src/test-helpers/foreign.js";
import { ticks, track } from "./test-helpers/settle.js";

const bg = background();

/**
 * A foreign context that expires lazily, as some adapters do: the first read of `err` after
 * `arm()` runs `hook` (its on-cancel code) and reports DeadlineExceeded from then on. A channel
 * reads a waiter's `err` while it looks for a peer to serve, so `hook` runs inside that operation.
 */
function lazyExpiry(hook: () => void, { abortFirst = false } = {}): { ctx: Context; arm: () => void } {
  let armed = false;
  let expired = false;
  const ac = new AbortController();
  const ctx: Context = {
    deadline: undefined,
    get err(): Error | undefined {
      if (!armed) return undefined;
      if (!expired) {
        expired = true;
        // An adapter may abort its signal before it runs its hooks: Tether's listener then takes
        // the waits under it out of their queues first.
        if (abortFirst) ac.abort(DeadlineExceeded);
        hook();
      }
      return DeadlineExceeded;
    },
    done: new Promise<void>(() => {}),
    signal: ac.signal,
    value: () => undefined,
  };
  return { ctx, arm: () => (armed = true) };
}

describe("a channel operation inside which a waiter's foreign context runs code of its own", () => {
  it("Channel.send() rejects with ChannelClosedError when the code it ran closed the channel, and waits on nothing", async () => {
    const ch = new Channel<string>();
    const lazy = lazyExpiry(() => ch.close());
    const receiver = track(ch.recv(lazy.ctx));
    lazy.arm();
    const send = track(ch.send(bg, "job"));
    await ticks(3);
    expect(receiver.error).toBe(DeadlineExceeded);
    expect(send.status).toBe("rejected");
    expect(send.error).toMatchObject({ name: "ChannelClosedError", value: "job" });
    expect(ch.waiting).toBe(0);
    expect(await ch.recv(bg)).toEqual({ value: undefined, done: true });
  });

  it.each(["send", "recv"] as const)(
    "Channel.%s() rejects with ctx.err, subscribing to nothing, when the code it ran cancelled its context",
    async (op) => {
      const ch = new Channel<string>();
      const [ctx, cancel] = withCancel(bg);
      const lazy = lazyExpiry(cancel);
      const peer = track<unknown>(op === "send" ? ch.recv(lazy.ctx) : ch.send(lazy.ctx, "peer's"));
      lazy.arm();
      const mine = track<unknown>(op === "send" ? ch.send(ctx, "mine") : ch.recv(ctx));
      await ticks(3);
      expect(peer.error).toBe(DeadlineExceeded);
      expect(mine.error).toBe(Canceled);
      expect(ch.waiting).toBe(0);
      expect(childCount(ctx)).toBe(0);
    },
  );

  it("a full buffered channel keeps its capacity and its send order when a waiting sender's context sends as a receive asks it", async () => {
    const ch = new Channel<string>(1);
    expect(ch.trySend("A")).toBe(true);
    const late: boolean[] = [];
    const lazy = lazyExpiry(() => late.push(ch.trySend("C")));
    const b = track(ch.send(lazy.ctx, "B"));
    lazy.arm();
    expect(ch.tryRecv()).toEqual({ value: "A", done: false });
    // The buffer was still full when the code ran: C was refused, and B expired with its context.
    expect(late).toEqual([false]);
    expect(ch.length).toBeLessThanOrEqual(ch.capacity);
    await ticks(2);
    expect(b.error).toBe(DeadlineExceeded);
    expect(ch.tryRecv()).toBeUndefined();
  });

  it("a buffered receive that finds the buffer emptied by the code it ran takes the waiting sender's value", async () => {
    const ch = new Channel<string>(1);
    expect(ch.trySend("A")).toBe(true);
    const taken: unknown[] = [];
    // The first sender's context takes A as the receive below asks it; the second sender waits on.
    const lazy = lazyExpiry(() => taken.push(ch.tryRecv()));
    const first = track(ch.send(lazy.ctx, "B"));
    const second = track(ch.send(bg, "C"));
    lazy.arm();
    expect(ch.tryRecv()).toEqual({ value: "C", done: false });
    expect(taken).toEqual([{ value: "A", done: false }]);
    await ticks(2);
    expect(first.error).toBe(DeadlineExceeded);
    expect(second.status).toBe("fulfilled");
    expect([ch.length, ch.waiting]).toEqual([0, 0]);
  });

  it("an iterator's return() withdraws only its own receives, not one that code run inside its next() queued", async () => {
    const ch = new Channel<string>(1);
    expect(ch.trySend("A")).toBe(true);
    let other: ReturnType<typeof track<IteratorResult<string, undefined>>> | undefined;
    const lazy = lazyExpiry(() => {
      other = track(ch.recv(bg));
    });
    const b = track(ch.send(lazy.ctx, "B"));
    lazy.arm();
    const it = ch.values(bg);
    const next = track(it.next());
    await ticks(2);
    expect(b.error).toBe(DeadlineExceeded);
    // The other reader, started inside next(), took A first: next() waits.
    expect(other?.value).toEqual({ value: "A", done: false });
    expect(next.status).toBe("pending");
    expect(await it.return?.()).toEqual({ value: undefined, done: true });
    expect(await next.promise).toEqual({ value: undefined, done: true });
    expect(ch.waiting).toBe(0);
    const reader = track(ch.recv(bg));
    expect(ch.trySend("D")).toBe(true);
    expect(await reader.promise).toEqual({ value: "D", done: false });
  });

  it("select() commits a case that code run while it checked a later case made ready, rather than waiting beside it", async () => {
    const ch0 = new Channel<string>();
    const ch1 = new Channel<string>();
    let sent: ReturnType<typeof track<void>> | undefined;
    let waiting: ReturnType<typeof track<void>> | undefined;
    const lazy = lazyExpiry(() => {
      sent = track(ch0.send(bg, "x"));
    });
    // Read once to sample, once to copy: the copy, the last read, parks a sender under the lazy
    // context on ch1, so select's last pass asks it, and its code sends on ch0, a case passed already.
    const c1 = ch1.recvCase();
    let reads = 0;
    const cases = [ch0.recvCase()];
    Object.defineProperty(cases, 1, {
      enumerable: true,
      get() {
        if (++reads === 2) {
          waiting = track(ch1.send(lazy.ctx, "y"));
          lazy.arm();
        }
        return c1;
      },
    });
    const picked = await select(bg, cases);
    expect(picked).toEqual({ index: 0, value: "x", done: false });
    await ticks(2);
    expect(waiting?.error).toBe(DeadlineExceeded);
    expect(sent?.status).toBe("fulfilled");
    expect([ch0.waiting, ch1.waiting]).toEqual([0, 0]);
  });

  it("select() is not fooled by a waiter gone from a list and another come to it in one pass: it commits the case they made ready", async () => {
    const chA = new Channel<string>();
    const chB = new Channel<string>();
    let r2: ReturnType<typeof track<IteratorResult<string, undefined>>> | undefined;
    // W, a sender on chB, parks a receiver R2 on chA when select asks it, checking its case 1.
    const lazyW = lazyExpiry(() => {
      r2 = track(chA.recv(bg));
    });
    // R1, a receiver on chA, parks W when select asks it, checking its case 0: chA's receive list
    // then goes from one waiter to none and back to one within the pass.
    let w: ReturnType<typeof track<void>> | undefined;
    const lazyR1 = lazyExpiry(() => {
      w = track(chB.send(lazyW.ctx, "w"));
      lazyW.arm();
    });
    let r1: ReturnType<typeof track<IteratorResult<string, undefined>>> | undefined;
    const c1 = chB.recvCase();
    let reads = 0;
    const cases = [chA.sendCase("s")];
    Object.defineProperty(cases, 1, {
      enumerable: true,
      get() {
        if (++reads === 2) {
          r1 = track(chA.recv(lazyR1.ctx));
          lazyR1.arm();
        }
        return c1;
      },
    });
    expect(await select(bg, cases)).toEqual({ index: 0, value: undefined, done: false });
    await ticks(2);
    expect([r1?.error, w?.error]).toEqual([DeadlineExceeded, DeadlineExceeded]);
    expect(r2?.value).toEqual({ value: "s", done: false });
    expect([chA.waiting, chB.waiting]).toEqual([0, 0]);
  });
});

describe("a lock or a wait inside which a waiter's foreign context runs code of its own", () => {
  it("Mutex.unlock() hands the mutex to a lock() that the code it ran queued, rather than leaving it free", async () => {
    const mu = new Mutex();
    expect(mu.tryLock()).toBe(true);
    let late: ReturnType<typeof track<Disposable>> | undefined;
    const lazy = lazyExpiry(
      () => {
        late = track(mu.lock(bg));
      },
      { abortFirst: true },
    );
    const first = track(mu.lock(lazy.ctx));
    lazy.arm();
    mu.unlock();
    // The expired waiter left; the lock() made while it was asked is the next in line, and has it.
    expect([mu.locked, mu.waiting]).toEqual([true, 0]);
    await ticks(2);
    expect(first.error).toBe(DeadlineExceeded);
    expect(late?.status).toBe("fulfilled");
    expect(mu.tryLock()).toBe(false);
    late?.value?.[Symbol.dispose]();
    expect(mu.locked).toBe(false);
  });

  it("WaitGroup releases only the waits queued when its counter reached zero, not one that the code it ran queued after adding", async () => {
    const wg = new WaitGroup();
    wg.add(1);
    let later: ReturnType<typeof track<void>> | undefined;
    let seen = -1;
    const lazy = lazyExpiry(() => {
      wg.add(1);
      later = track(wg.wait(bg));
      // Still queued: the expiring wait, being asked, and the one queued after it, both still to be
      // released; and this one.
      seen = wg.waiting;
    });
    const first = track(wg.wait(lazy.ctx));
    const second = track(wg.wait(bg));
    lazy.arm();
    wg.done();
    await ticks(2);
    expect(first.error).toBe(DeadlineExceeded);
    expect(second.status).toBe("fulfilled");
    expect(seen).toBe(3);
    expect([wg.count, wg.waiting, later?.status]).toEqual([1, 1, "pending"]);
    wg.done();
    await ticks(2);
    expect([later?.status, wg.waiting]).toEqual(["fulfilled", 0]);
  });
});

/**
 * A foreign context whose `signal` getter runs `hook` on its second read: the first is Tether's
 * check that the context is a Context, the second is the wait subscribing to it. With `refuse`,
 * its signal's `addEventListener` then throws, so the subscription fails after the hook ran.
 */
function hookOnSubscribe(hook: () => void, { refuse = false } = {}): { ctx: Context; ac: AbortController } {
  const ac = new AbortController();
  if (refuse) {
    ac.signal.addEventListener = () => {
      throw new Error("listener refused");
    };
  }
  let reads = 0;
  const ctx: Context = {
    deadline: undefined,
    get err(): Error | undefined {
      return ac.signal.aborted ? Canceled : undefined;
    },
    done: new Promise<void>(() => {}),
    get signal(): AbortSignal {
      if (++reads === 2) hook();
      return ac.signal;
    },
    value: () => undefined,
  };
  return { ctx, ac };
}

describe("a wait whose foreign context runs code of its own as the wait subscribes to it", () => {
  it("Mutex.lock() is granted by an unlock() that code made, rather than waiting on a free mutex", async () => {
    const mu = new Mutex();
    expect(mu.tryLock()).toBe(true);
    const f = hookOnSubscribe(() => mu.unlock());
    const hold = await mu.lock(f.ctx);
    expect([mu.locked, mu.waiting]).toEqual([true, 0]);
    hold[Symbol.dispose]();
    expect(mu.locked).toBe(false);
    f.ac.abort();
  });

  it("Semaphore.acquire() is granted by a release() that code made", async () => {
    const sem = new Semaphore(2);
    expect(sem.tryAcquire(2)).toBe(true);
    const f = hookOnSubscribe(() => sem.release(2));
    const permits = await sem.acquire(f.ctx, 2);
    expect([sem.available, sem.waiting]).toEqual([0, 0]);
    permits[Symbol.dispose]();
    expect(sem.available).toBe(2);
    f.ac.abort();
  });

  it("WaitGroup.wait() is released by a done() that code made, rather than waiting at zero", async () => {
    const wg = new WaitGroup();
    wg.add(1);
    const f = hookOnSubscribe(() => wg.done());
    await wg.wait(f.ctx);
    expect([wg.count, wg.waiting]).toEqual([0, 0]);
    f.ac.abort();
  });

  it("Channel.recv() and select() receive a value that code buffered, rather than waiting beside it", async () => {
    const ch = new Channel<number>(1);
    const f = hookOnSubscribe(() => expect(ch.trySend(7)).toBe(true));
    expect(await ch.recv(f.ctx)).toEqual({ value: 7, done: false });
    const g = hookOnSubscribe(() => expect(ch.trySend(8)).toBe(true));
    expect(await select(g.ctx, [ch.recvCase()])).toEqual({ index: 0, value: 8, done: false });
    expect([ch.length, ch.waiting]).toEqual([0, 0]);
    f.ac.abort();
    g.ac.abort();
  });

  it("a wait served while its subscription failed keeps what it was given; one not served rejects with the failure and leaves no waiter", async () => {
    const mu = new Mutex();
    expect(mu.tryLock()).toBe(true);
    const served = hookOnSubscribe(() => mu.unlock(), { refuse: true });
    const hold = await mu.lock(served.ctx);
    expect(mu.locked).toBe(true);
    const refused = hookOnSubscribe(() => {}, { refuse: true });
    await expect(mu.lock(refused.ctx)).rejects.toThrow("listener refused");
    expect(mu.waiting).toBe(0);
    hold[Symbol.dispose]();
    expect(mu.locked).toBe(false);
    const ch = new Channel<number>(1);
    const sel = hookOnSubscribe(() => ch.trySend(9), { refuse: true });
    expect(await select(sel.ctx, [ch.recvCase()])).toEqual({ index: 0, value: 9, done: false });
    const selRefused = hookOnSubscribe(() => {}, { refuse: true });
    await expect(select(selRefused.ctx, [ch.recvCase()])).rejects.toThrow("listener refused");
    expect(ch.waiting).toBe(0);
  });

  it("a semaphore's head wait whose subscription failed lets a smaller one queued behind it meanwhile proceed", async () => {
    const sem = new Semaphore(3);
    expect(sem.tryAcquire(2)).toBe(true);
    let small: ReturnType<typeof track<Disposable>> | undefined;
    const f = hookOnSubscribe(() => {
      small = track(sem.acquire(bg, 1));
    }, { refuse: true });
    await expect(sem.acquire(f.ctx, 3)).rejects.toThrow("listener refused");
    await ticks(2);
    expect(small?.status).toBe("fulfilled");
    expect([sem.available, sem.waiting]).toEqual([0, 0]);
    small?.value?.[Symbol.dispose]();
    sem.release(2);
    expect(sem.available).toBe(3);
  });
});

describe("waits that code run while a wait subscribes starts on the same list", () => {
  it.each(["Mutex.lock", "Channel.recv"] as const)(
    "%s: such a wait under another context is failed by that context's cancel, and the first by its own",
    async (op) => {
      const mu = new Mutex();
      expect(mu.tryLock()).toBe(true);
      const ch = new Channel<number>();
      const wait = (ctx: Context): Promise<unknown> => (op === "Mutex.lock" ? mu.lock(ctx) : ch.recv(ctx));
      const [g, cancelG] = withCancel(bg);
      let inner: ReturnType<typeof track<unknown>> | undefined;
      const f = hookOnSubscribe(() => {
        inner = track(wait(g));
      });
      const outer = track(wait(f.ctx));
      cancelG();
      await ticks(2);
      expect(inner?.error).toBe(Canceled);
      expect(outer.status).toBe("pending");
      f.ac.abort();
      await ticks(2);
      expect(outer.error).toBe(Canceled);
      expect([mu.waiting, ch.waiting]).toEqual([0, 0]);
      mu.unlock();
    },
  );

  it("a wait served by code that its subscription's sweep runs leaves that subscription idle, and a later wait under the context is cancellable", async () => {
    // A foreign signal whose removeEventListener runs code: withdrawing its idle subscription
    // (the sweep, forced early by 1,024 subscriptions queued for it) unlocks the mutex.
    let hook: (() => void) | null = null;
    const x = new ForeignContext();
    const signal = x.signal;
    const remove = signal.removeEventListener.bind(signal);
    signal.removeEventListener = (type: string, listener: Parameters<AbortSignal["removeEventListener"]>[1]) => {
      remove(type, listener);
      const h = hook;
      hook = null;
      h?.();
    };
    const muX = new Mutex();
    expect(muX.tryLock()).toBe(true);
    const px = muX.lock(x);
    muX.unlock();
    (await px)[Symbol.dispose]();
    const fillers: Array<[Mutex, () => void, Promise<unknown>]> = [];
    for (let i = 0; i < 1_023; i++) {
      const m = new Mutex();
      m.tryLock();
      const [c, cancel] = withCancel(bg);
      fillers.push([m, cancel, m.lock(c).catch(() => undefined)]);
    }
    const mu = new Mutex();
    expect(mu.tryLock()).toBe(true);
    hook = () => mu.unlock();
    const [t, cancelT] = withCancel(bg);
    const first = await mu.lock(t);
    for (const [, cancel] of fillers) cancel();
    await Promise.all(fillers.map(([, , p]) => p));
    first[Symbol.dispose]();
    expect(mu.tryLock()).toBe(true);
    const second = track(mu.lock(t));
    cancelT();
    await ticks(2);
    expect(second.error).toBe(Canceled);
    expect(mu.waiting).toBe(0);
    mu.unlock();
    x.cancel();
    await new Promise<void>((r) => setTimeout(r, 0));
    expect(liveCounts().nodesWithChildren).toBe(0);
  });

  it("select() whose subscription throws null rejects with null", async () => {
    const ch = new Channel<number>();
    const refusing = hookOnSubscribe(() => {});
    refusing.ac.signal.addEventListener = () => {
      throw null;
    };
    await expect(select(refusing.ctx, [ch.recvCase()])).rejects.toBeNull();
    expect(ch.waiting).toBe(0);
  });
});

describe("results with done: true", () => {
  it("are fresh, mutable objects each time, as an async generator's are", async () => {
    const ch = new Channel<number>();
    ch.close();
    const first = await ch.recv(bg);
    const second = ch.tryRecv();
    expect(first).toEqual({ value: undefined, done: true });
    expect(second).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
    const it = ch.values(bg);
    const ended = await it.return?.();
    expect(await it.next()).not.toBe(ended);
    expect(Object.isFrozen(ended)).toBe(false);
  });
});
