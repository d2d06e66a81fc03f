import { describe, expect, it } from "vitest";
import { background, createKey, runTask, sleep, until, withValue, type Context } from "@tether/core";
import { Channel, Mutex, RWMutex, Semaphore, WaitGroup, select } from "@tether/sync";
import { adapter } from "../../../test/adapter.js";

/** A foreign context whose signal refuses a listener: subscribing to it throws. */
function refusing(): Context {
  const failure = new Error("no listeners today");
  const signal = {
    aborted: false,
    reason: undefined,
    addEventListener(): void {
      throw failure;
    },
    removeEventListener(): void {},
  } as unknown as AbortSignal;
  return { deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal, value: () => undefined };
}

/** Calls `fn`, expecting its promise to reject (not the call to throw) with the signal's error. */
async function fails(fn: () => Promise<unknown>): Promise<void> {
  let p: Promise<unknown> | undefined;
  expect(() => (p = fn())).not.toThrow();
  await expect(p).rejects.toThrow("no listeners today");
}

describe("a wait whose foreign context cannot be subscribed to", () => {
  it("Mutex.lock() fails and leaves no waiter: the next unlock frees the mutex", async () => {
    const mu = new Mutex();
    mu.tryLock();
    await fails(() => mu.lock(refusing()));
    expect(mu.waiting).toBe(0);
    mu.unlock();
    expect(mu.locked).toBe(false);
    (await mu.lock(background()))[Symbol.dispose]();
  });

  it("Semaphore.acquire() fails and loses no permit", async () => {
    const sem = new Semaphore(2);
    expect(sem.tryAcquire(2)).toBe(true);
    await fails(() => sem.acquire(refusing(), 1));
    expect(sem.waiting).toBe(0);
    sem.release(2);
    expect(sem.available).toBe(2);
  });

  it("RWMutex.lock() and rLock() fail and leave no waiter", async () => {
    const rw = new RWMutex();
    rw.tryLock();
    await fails(() => rw.lock(refusing()));
    await fails(() => rw.rLock(refusing()));
    rw.unlock();
    (await rw.lock(background()))[Symbol.dispose]();
    expect(rw.toString()).toBe("RWMutex(unlocked, 0 waiting)");
  });

  it("Channel.recv() fails and no later value goes to it", async () => {
    const ch = new Channel<string>(1);
    await fails(() => ch.recv(refusing()));
    expect(ch.trySend("precious")).toBe(true);
    expect(ch.tryRecv()).toEqual({ done: false, value: "precious" });
  });

  it("Channel.send() on a full channel fails and its value is never delivered", async () => {
    const ch = new Channel<string>(1);
    ch.trySend("first");
    await fails(() => ch.send(refusing(), "job-42"));
    expect(ch.tryRecv()).toEqual({ done: false, value: "first" });
    expect(ch.tryRecv()).toBeUndefined();
  });

  it("select() fails and leaves no case queued on any channel", async () => {
    const ch = new Channel<string>();
    await fails(() => select(refusing(), [ch.recvCase(), ch.sendCase("x")]));
    expect(ch.waiting).toBe(0);
    expect(ch.trySend("precious")).toBe(false);
  });

  it("WaitGroup.wait() fails and leaves no waiter", async () => {
    const wg = new WaitGroup();
    wg.add(1);
    await fails(() => wg.wait(refusing()));
    wg.done();
    await wg.wait(background());
    expect(wg.count).toBe(0);
  });
});

/** `primitive`, once `take` has made a wait on it block. */
function held<P>(primitive: P, take: (p: P) => unknown): P {
  take(primitive);
  return primitive;
}

describe("a queued wait under a foreign context that lends a Tether context's signal", () => {
  it.each<[string, (ctx: Context) => Promise<unknown>]>([
    ["Mutex.lock()", (ctx) => held(new Mutex(), (mu) => mu.tryLock()).lock(ctx)],
    ["RWMutex.rLock()", (ctx) => held(new RWMutex(), (rw) => rw.tryLock()).rLock(ctx)],
    ["Semaphore.acquire()", (ctx) => held(new Semaphore(1), (sem) => sem.tryAcquire(1)).acquire(ctx, 1)],
    ["WaitGroup.wait()", (ctx) => held(new WaitGroup(), (wg) => wg.add(1)).wait(ctx)],
    ["Channel.recv()", (ctx) => new Channel<number>().recv(ctx)],
    ["select()", (ctx) => select(ctx, [new Channel<number>().recvCase()])],
    ["sleep()", (ctx) => sleep(ctx, 60_000)],
    [
      "yield* until() in a task",
      (ctx) =>
        runTask(ctx, async function* () {
          yield* until(new Promise<never>(() => {}));
        }),
    ],
  ])("%s rejects with that context's err, not the Tether context's", async (_name, wait) => {
    const { ctx, cancel, own } = adapter();
    const p = wait(ctx);
    // A turn first, so that every wait is queued (a generator task reaches its until) before the cancel.
    await new Promise<void>((r) => setImmediate(r));
    cancel();
    await expect(p).rejects.toBe(own);
  });

  it("Mutex.lock() and sleep() under a value layer over that context reject with the layer's err, which is that context's", async () => {
    const { ctx, cancel, own } = adapter();
    const layer = withValue(ctx, createKey<number>("attempt"), 1);
    const mu = new Mutex();
    mu.tryLock();
    const lock = mu.lock(layer);
    const nap = sleep(layer, 60_000);
    cancel();
    expect(layer.err).toBe(own);
    await expect(lock).rejects.toBe(own);
    await expect(nap).rejects.toBe(own);
    mu.unlock();
  });

  it("Mutex.lock() rejects with that context's err when a second waiter under it shares the cancel subscription", async () => {
    const { ctx, cancel, own } = adapter();
    const mu = new Mutex();
    mu.tryLock();
    const first = mu.lock(ctx);
    const second = mu.lock(ctx);
    cancel();
    await expect(first).rejects.toBe(own);
    await expect(second).rejects.toBe(own);
    mu.unlock();
  });
});
