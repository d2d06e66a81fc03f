import { describe, expect, it } from "vitest";
import { background, type Context } from "@tether/core";
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
});
