import { describe, expect, it } from "vitest";
import { Canceled, DeadlineExceeded, background, withCancel, type Context } from "@tether/core";
import { Channel, Mutex, RWMutex, Semaphore, WaitGroup, select } from "@tether/sync";

const notAContext = 7 as unknown as Context;
const bg = background();

describe("a bad argument to a method that returns a promise", () => {
  const calls: Array<[string, () => Promise<unknown>, RegExp]> = [
    ["Mutex.lock", () => new Mutex().lock(notAContext), /^Mutex.lock: ctx must be a Context, received 7$/],
    ["Mutex.withLock", () => new Mutex().withLock(bg, 5 as never), /^Mutex.withLock: fn must be a function, received 5$/],
    ["RWMutex.lock", () => new RWMutex().lock(notAContext), /^RWMutex.lock: ctx must be a Context/],
    ["RWMutex.rLock", () => new RWMutex().rLock(notAContext), /^RWMutex.rLock: ctx must be a Context/],
    ["RWMutex.withLock", () => new RWMutex().withLock(notAContext, () => 1), /^RWMutex.withLock: ctx must be a Context/],
    ["RWMutex.withRLock", () => new RWMutex().withRLock(bg, null as never), /^RWMutex.withRLock: fn must be a function/],
    ["Semaphore.acquire", () => new Semaphore(2).acquire(bg, 3), /^Semaphore.acquire: n must be at most the semaphore's size 2, received 3$/],
    ["Semaphore.withPermits", () => new Semaphore(2).withPermits(bg, 0, () => 1), /^Semaphore.withPermits: n must be a whole number ≥ 1, received 0$/],
    ["Channel.send", () => new Channel<number>().send(notAContext, 1), /^Channel.send: ctx must be a Context/],
    ["Channel.recv", () => new Channel<number>().recv(notAContext), /^Channel.recv: ctx must be a Context/],
    ["select", () => select(bg, "cases" as never), /^select: cases must be an array/],
    ["WaitGroup.wait", () => new WaitGroup().wait(notAContext), /^WaitGroup.wait: ctx must be a Context/],
  ];

  it.each(calls)("%s() rejects with an error naming the argument, and never throws synchronously", async (_name, call, message) => {
    let p: Promise<unknown> | undefined;
    expect(() => (p = call())).not.toThrow();
    await expect(p).rejects.toThrow(message);
  });

  it("Promise.all() over a good lock and a bad acquire rejects with the bad one, and the lock is not orphaned", async () => {
    const mu = new Mutex();
    const sem = new Semaphore(1);
    const lock = mu.lock(bg);
    await expect(Promise.all([lock, sem.acquire(bg, 2)])).rejects.toThrow(RangeError);
    (await lock)[Symbol.dispose]();
    expect([mu.locked, sem.available]).toEqual([false, 1]);
  });

  it("a revoked Proxy as ctx makes lock() and recv() reject with a TypeError, not throw", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    let lock: Promise<unknown> | undefined;
    let recv: Promise<unknown> | undefined;
    expect(() => (lock = new Mutex().lock(proxy as Context))).not.toThrow();
    expect(() => (recv = new Channel().recv(proxy as Context))).not.toThrow();
    await expect(lock).rejects.toThrow(/^Mutex.lock: ctx must be a Context, received <uninspectable value>$/);
    await expect(recv).rejects.toThrow(TypeError);
  });

  it("select() checks the cases it queues: an array getter that answers differently on a later read makes it reject, queueing nothing", async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const cases: unknown[] = [a.recvCase(), undefined];
    let reads = 0;
    Object.defineProperty(cases, 1, { get: () => (++reads <= 1 ? b.recvCase() : {}) });
    await expect(select(bg, cases as never)).rejects.toThrow(/^select: cases\[1\] must be a case made by recvCase\(\) or sendCase\(\), received <Object>$/);
    expect([a.waiting, b.waiting]).toEqual([0, 0]);
    expect(a.trySend(42)).toBe(false);
  });

  it("select() refuses a Proxy around a real case without reading through it, and queues nothing", async () => {
    const ch = new Channel<number>();
    const reads: PropertyKey[] = [];
    const proxied = new Proxy(ch.recvCase(), {
      get(target, key, receiver) {
        reads.push(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
      getPrototypeOf(target) {
        reads.push("getPrototypeOf");
        return Reflect.getPrototypeOf(target);
      },
    });
    await expect(select(bg, [proxied])).rejects.toThrow(/^select: cases\[0\] must be a case made by recvCase\(\) or sendCase\(\), received /);
    // Only the error message may look at it (to name it); no case field is read.
    expect(reads.filter((k) => typeof k === "string" && k.startsWith("_"))).toEqual([]);
    expect(ch.waiting).toBe(0);
  });

  it("select() rejects, never throws, for a forged case that only shares the prototype of a real one, and reads none of its fields", async () => {
    const real = new Channel<number>().recvCase();
    const forged = Object.create(Object.getPrototypeOf(real) as object, {
      _send: {
        get(): never {
          throw new Error("forged");
        },
      },
    }) as typeof real;
    let p: Promise<unknown> | undefined;
    expect(() => (p = select(bg, [forged]))).not.toThrow();
    await expect(p).rejects.toThrow(/^select: cases\[0\] must be a case made by recvCase\(\) or sendCase\(\), received /);
  });
});

describe("a waiter whose foreign context breaks while it is queued", () => {
  it("Mutex.unlock() fails that waiter with what its context threw and hands the mutex to the next", async () => {
    const target = { deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal: new AbortController().signal, value: () => undefined };
    const { proxy, revoke } = Proxy.revocable(target, {});
    const mu = new Mutex();
    mu.tryLock();
    const broken = mu.lock(proxy as Context);
    const next = mu.lock(bg);
    revoke();
    expect(() => mu.unlock()).not.toThrow();
    await expect(broken).rejects.toThrow(TypeError);
    (await next)[Symbol.dispose]();
    expect([mu.locked, mu.waiting]).toEqual([false, 0]);
  });
});

describe("select() and the caller's code that runs inside it", () => {
  it("a default getter that fills the channel cannot make a send case report a send that never happened", async () => {
    const ch = new Channel<string>(1);
    const options = {
      get default(): undefined {
        ch.trySend("other");
        return undefined;
      },
    };
    const picked = select(bg, [ch.sendCase("mine")], options);
    expect(ch.waiting).toBe(1);
    expect(await ch.recv(bg)).toEqual({ done: false, value: "other" });
    expect(await picked).toEqual({ index: 0, value: undefined, done: false });
    expect(await ch.recv(bg)).toEqual({ done: false, value: "mine" });
  });

  it("an array getter that fills a channel runs before the sampling, so the case it made ready is committed with its value", async () => {
    const ch0 = new Channel<string>(1);
    const ch1 = new Channel<string>(1);
    const cases: unknown[] = [ch0.recvCase()];
    Object.defineProperty(cases, 1, {
      get: () => {
        ch0.trySend("first");
        return ch1.recvCase();
      },
    });
    expect(await select(bg, cases as never)).toEqual({ index: 0, value: "first", done: false });
    expect([ch0.waiting, ch1.waiting, ch0.length]).toEqual([0, 0, 0]);
  });

  it("an array getter that fills a channel cannot make select report a send that never happened", async () => {
    const ch0 = new Channel<string>(1);
    const ch1 = new Channel<string>(1);
    const cases: unknown[] = [ch0.sendCase("X")];
    Object.defineProperty(cases, 1, {
      get: () => {
        ch0.trySend("Y");
        return ch1.recvCase();
      },
    });
    const [ctx, cancel] = withCancel(bg);
    const picked = select(ctx, cases as never);
    expect(ch0.tryRecv()).toEqual({ done: false, value: "Y" });
    expect(await picked).toEqual({ index: 0, value: undefined, done: false });
    expect(ch0.tryRecv()).toEqual({ done: false, value: "X" });
    cancel();
  });

  it("an array getter that cancels the context makes select reject, committing and queueing nothing", async () => {
    const ch = new Channel<number>(1);
    ch.trySend(1);
    const [ctx, cancel] = withCancel(bg);
    const cases: unknown[] = [];
    Object.defineProperty(cases, 0, {
      get: () => {
        cancel();
        return ch.recvCase();
      },
    });
    await expect(select(ctx, cases as never)).rejects.toBe(Canceled);
    expect([ch.length, ch.waiting]).toEqual([1, 0]);
  });

  it("a select whose foreign context is revoked while it waits ends with that error and leaves the channel usable", async () => {
    const target = { deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal: new AbortController().signal, value: () => undefined };
    const { proxy, revoke } = Proxy.revocable(target, {});
    const ch = new Channel<number>();
    const waiting = select(proxy as Context, [ch.recvCase()]);
    revoke();
    expect(ch.trySend(1)).toBe(false);
    await expect(waiting).rejects.toThrow(TypeError);
    expect(ch.waiting).toBe(0);
    const got = ch.recv(bg);
    expect(ch.trySend(2)).toBe(true);
    expect(await got).toEqual({ done: false, value: 2 });
  });
});

describe("a foreign context whose err getter operates the channel it waits on", () => {
  it("a send that the getter's own send overtakes finds no receiver, and no value is lost", async () => {
    const ch = new Channel<string>();
    let armed = false;
    const foreign: Context = {
      deadline: undefined,
      get err(): undefined {
        if (armed) {
          armed = false;
          expect(ch.trySend("b")).toBe(true);
        }
        return undefined;
      },
      done: new Promise<void>(() => {}),
      signal: new AbortController().signal,
      value: () => undefined,
    };
    const got = ch.recv(foreign);
    armed = true;
    expect(ch.trySend("a")).toBe(false);
    expect(await got).toEqual({ done: false, value: "b" });
    expect(ch.waiting).toBe(0);
  });
});

describe("select() and a waiter whose foreign context expires while select asks it", () => {
  /** A foreign context whose err reads undefined until its k-th read after `arm()`, then DeadlineExceeded. */
  function lazyDeadline(k: number): { ctx: Context; arm: () => void } {
    let armed = false;
    let reads = 0;
    const ctx: Context = {
      deadline: undefined,
      get err(): Error | undefined {
        return armed && ++reads >= k ? DeadlineExceeded : undefined;
      },
      done: new Promise<void>(() => {}),
      signal: new AbortController().signal,
      value: () => undefined,
    };
    return { ctx, arm: () => (armed = true) };
  }

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "a send case that counted on such a receiver is reported sent only if the value was delivered (expiry at read %i)",
    async (k) => {
      const ch = new Channel<number>();
      const lazy = lazyDeadline(k);
      const parked = ch.recv(lazy.ctx).then(
        (r) => ({ got: r.value }),
        (e: unknown) => ({ err: e }),
      );
      lazy.arm();
      const [ctx, cancel] = withCancel(bg);
      let sent = false;
      const picked = select(ctx, [ch.sendCase(42)]).then(() => (sent = true));
      const outcome = await parked;
      if ("got" in outcome) {
        expect(outcome.got).toBe(42);
        await picked;
        expect(sent).toBe(true);
      } else {
        expect(outcome.err).toBe(DeadlineExceeded);
        // The value was not delivered, so the select still offers it, to the next receiver.
        expect(await ch.recv(bg)).toEqual({ done: false, value: 42 });
        await picked;
      }
      expect(ch.waiting).toBe(0);
      cancel();
    },
  );

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "a receive case that counted on such a sender never resolves with nothing (expiry at read %i)",
    async (k) => {
      const ch = new Channel<number>();
      const lazy = lazyDeadline(k);
      const parked = ch.send(lazy.ctx, 7).then(
        () => "sent",
        (e: unknown) => e,
      );
      lazy.arm();
      const [ctx, cancel] = withCancel(bg);
      const picked = select(ctx, [ch.recvCase()]);
      const outcome = await parked;
      if (outcome === "sent") expect(await picked).toEqual({ index: 0, value: 7, done: false });
      else {
        expect(outcome).toBe(DeadlineExceeded);
        expect(ch.trySend(8)).toBe(true);
        expect(await picked).toEqual({ index: 0, value: 8, done: false });
      }
      expect(ch.waiting).toBe(0);
      cancel();
    },
  );
});

