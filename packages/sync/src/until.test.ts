import { describe, expect, it } from "vitest";
import { Canceled, type Context, background, runTask, until, withCancel } from "@tether/core";
import { Channel, Mutex, Semaphore, select } from "@tether/sync";

/** Resolves after every queued microtask and one macrotask turn have run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

// A generator task may wrap a wait in `yield* until(...)`. A hand-over that lands in the same
// synchronous turn as the task's cancel fulfilled the wait's promise first: the lock, permits or
// value must reach the task, or nobody would ever release or receive them.
describe("sync waits inside yield* until()", () => {
  it("yield* until(mu.lock(ctx)) keeps a lock handed over in the same turn as the cancel, and releases it", async () => {
    const mu = new Mutex();
    const holder = await mu.lock(background());
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    const task = runTask(ctx, async function* () {
      using _ = yield* until(mu.lock(ctx));
      log.push("got the lock");
      yield;
    });
    await turn();
    holder[Symbol.dispose]();
    cancel();
    await expect(task).rejects.toBe(Canceled);
    expect(log).toEqual(["got the lock"]);
    expect(mu.locked).toBe(false);
  });

  it("yield* until(sem.acquire(ctx, n)) keeps permits granted in the same turn as the cancel, and gives them back", async () => {
    const sem = new Semaphore(2);
    sem.tryAcquire(2);
    const [ctx, cancel] = withCancel(background());
    const task = runTask(ctx, async function* () {
      using _ = yield* until(sem.acquire(ctx, 2));
      yield;
    });
    await turn();
    sem.release(2);
    cancel();
    await expect(task).rejects.toBe(Canceled);
    expect(sem.available).toBe(2);
  });

  // A receive waiting in until(): the value is handed over, then the cancel comes, in one turn.
  const receives: Array<[string, (ch: Channel<string>, ctx: Context) => Promise<unknown>]> = [
    ["ch.recv(ctx)", async (ch, ctx) => (await ch.recv(ctx)).value],
    ["select(ctx, [ch.recvCase(fn)]), whose result is one step later", (ch, ctx) => select(ctx, [ch.recvCase((r) => r.value)])],
    ["select(ctx, [ch.recvCase(async fn)]), whose result is three steps later", (ch, ctx) => select(ctx, [ch.recvCase(async (r) => r.value)])],
  ];

  it.each(receives)("yield* until(%s) gets a value delivered in the same turn as the cancel", async (_, receive) => {
    const ch = new Channel<string>();
    const [ctx, cancel] = withCancel(background());
    const got: unknown[] = [];
    const task = runTask(ctx, async function* () {
      got.push(yield* until(receive(ch, ctx)));
    });
    await turn();
    expect(ch.trySend("payload")).toBe(true);
    cancel();
    await task;
    expect(got).toEqual(["payload"]);
  });

  it.each([
    ["yield* until(mu.lock(ctx))", (mu: Mutex, ctx: Context) => mu.lock(ctx)],
    ["yield* until() of a lock reached through a .then", (mu: Mutex, ctx: Context) => mu.lock(ctx).then((h) => h)],
  ])("%s on a free mutex keeps the lock when the cancel lands in the same turn, before the driver reads the wait", async (_name, lockOf) => {
    const mu = new Mutex();
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    const task = runTask(ctx, async function* () {
      const hold = yield* until(lockOf(mu, ctx));
      log.push("got the lock");
      try {
        yield;
      } finally {
        hold[Symbol.dispose]();
      }
    });
    // The same turn as the grant: the generator has yielded, the driver has not read it yet.
    cancel();
    await expect(task).rejects.toBe(Canceled);
    expect(log).toEqual(["got the lock"]);
    expect(mu.locked).toBe(false);
  });

  it("yield* until(ch.recv(ctx)) of a buffered value keeps it when the cancel lands before the driver reads the wait", async () => {
    const ch = new Channel<string>(1);
    ch.trySend("payload");
    const [ctx, cancel] = withCancel(background());
    const got: unknown[] = [];
    const task = runTask(ctx, async function* () {
      got.push((yield* until(ch.recv(ctx))).value);
    });
    cancel();
    await task;
    expect(got).toEqual(["payload"]);
    expect(ch.length).toBe(0);
  });
});

describe("sync waits yielded without until()", () => {
  it("yield mu.lock(ctx), a misuse the driver refuses, leaves the mutex free for the next locker", async () => {
    const mu = new Mutex();
    const task = runTask(background(), async function* (ctx) {
      yield mu.lock(ctx);
    });
    await expect(task).rejects.toThrow(/received <MutexHold> \(it was disposed of/);
    expect(mu.locked).toBe(false);
    using _ = await mu.lock(background());
    expect(mu.locked).toBe(true);
  });

  it("yield sem.acquire(ctx, n), a misuse the driver refuses, gives the permits back", async () => {
    const sem = new Semaphore(3);
    const task = runTask(background(), async function* (ctx) {
      yield sem.acquire(ctx, 2);
    });
    await expect(task).rejects.toThrow(TypeError);
    expect(sem.available).toBe(3);
  });
});
