import { describe, expect, it } from "vitest";
import { background, type Context } from "@tether/core";
import { Channel, Mutex, RWMutex, Semaphore, WaitGroup, select } from "@tether/sync";

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
