import { describe, expect, it } from "vitest";
import { background, withCancel, type Context } from "@tether/core";
import { Channel, ChannelClosedError, RWMutex, Semaphore, select } from "@tether/sync";
import { type Locker, lockers } from "./test-helpers/locker-suite.js";
import { below, mulberry32, runSeed } from "./test-helpers/prng.js";
import { type When, randomWhen, schedule, settlesByTurn, ticks } from "./test-helpers/settle.js";

/** Thousands of seeded rounds: a second on an idle machine, several on a loaded one; not a hang. */
const SEEDED_TIMEOUT = 60_000;

// Cancel racing the hand-over. Each round parks waiters, then fires the release (unlock, release,
// send…) and the cancels at random moments around it — in the same synchronous step in a random
// order, in a microtask, or some microtask turns later — and checks that every waiter ended with
// the resource or with an error, never both, and that nothing was lost or doubled.

const seed = runSeed();

/** The failure context of one round: the seed replays the whole run. */
const where = (test: string, round: number): string => `${test}: seed ${seed}, round ${round} (replay with TETHER_SEED=${seed})`;

/** `n` fresh cancellable contexts. */
function contexts(n: number): Array<[Context, () => void]> {
  return Array.from({ length: n }, () => withCancel(background()));
}

/**
 * The contexts of `n` waiters: one to `n` fresh contexts, and for each waiter the index of its own.
 * Waiters that share a context share its cancel subscription on a wait list, so both kinds race.
 */
function waiterContexts(n: number, rnd: () => number): { ctxs: Array<[Context, () => void]>; of: number[] } {
  const ctxs = contexts(1 + below(rnd, n));
  const of = Array.from({ length: n }, (_, i) => (i < ctxs.length ? i : below(rnd, ctxs.length)));
  return { ctxs, of };
}

/**
 * Awaits every waiter, then cancels every context. A waiter still queued once nothing else can
 * happen means a lost hand-over: the round fails with `msg` rather than hanging.
 */
/** Schedules the cancel of about 60% of the contexts at random moments; returns which. */
function cancelSome(ctxs: Array<[Context, () => void]>, rnd: () => number, actions: Array<[When, () => void]>): Set<number> {
  const cancelled = new Set<number>();
  ctxs.forEach(([, cancel], i) => {
    if (rnd() < 0.6) {
      cancelled.add(i);
      actions.push([randomWhen(rnd), cancel]);
    }
  });
  return cancelled;
}

async function finish(waiters: Array<Promise<void>>, ctxs: Array<[Context, () => void]>, msg: string): Promise<void> {
  const all = Promise.all(waiters);
  const settled = await settlesByTurn(all);
  for (const [, cancel] of ctxs) cancel();
  await all;
  expect(settled, `${msg}: a waiter that was not cancelled was never served`).toBe(true);
}

async function lockerRound(lk: Locker, rnd: () => number, msg: string): Promise<void> {
  expect(lk.tryLock(), msg).toBe(true);
  let inside = 1;
  let peak = 1;
  const { ctxs, of } = waiterContexts(1 + below(rnd, 6), rnd);
  const outcome: Array<"held" | "error"> = [];
  const waiters = of.map((k, i) => {
    const [ctx] = ctxs[k] as [Context, () => void];
    const holdFor = below(rnd, 4);
    return lk.lock(ctx).then(
      async (hold) => {
        outcome[i] = "held";
        peak = Math.max(peak, ++inside);
        await ticks(holdFor);
        inside--;
        hold[Symbol.dispose]();
      },
      (err: unknown) => {
        outcome[i] = "error";
        expect(err, msg).toBe(ctx.err);
      },
    );
  });
  const actions: Array<[When, () => void]> = [
    [
      randomWhen(rnd),
      () => {
        inside--;
        lk.unlock();
      },
    ],
  ];
  const cancelled = cancelSome(ctxs, rnd, actions);
  await schedule(rnd, actions);
  await finish(waiters, ctxs, msg);
  expect(peak, `${msg}: two holders at once`).toBe(1);
  of.forEach((k, i) => {
    expect(outcome[i], `${msg}: waiter ${i} never settled`).toBeDefined();
    if (!cancelled.has(k)) expect(outcome[i], `${msg}: waiter ${i} was never cancelled`).toBe("held");
  });
  expect(lk.waiting, msg).toBe(0);
  expect(lk.locked, `${msg}: left held`).toBe(false);
  expect(lk.tryLock(), msg).toBe(true);
  lk.unlock();
}

describe("cancel racing the hand-over", () => {
  for (const [name, factory] of lockers) {
    it(`${name}: a lock cancelled around unlock() ends held or rejected, never both, over 2,000 seeded rounds`, async () => {
      const rnd = mulberry32(seed);
      const lk = factory();
      for (let round = 0; round < 2000; round++) await lockerRound(lk, rnd, where(name, round));
    }, SEEDED_TIMEOUT);
  }

  it("Semaphore: weighted acquires cancelled around release() lose and duplicate no permit, over 2,000 seeded rounds", async () => {
    const rnd = mulberry32(seed);
    for (let round = 0; round < 2000; round++) {
      const msg = where("Semaphore", round);
      const size = 1 + below(rnd, 4);
      const sem = new Semaphore(size);
      expect(sem.tryAcquire(size), msg).toBe(true);
      let held = size;
      let peak = size;
      const { ctxs, of } = waiterContexts(1 + below(rnd, 6), rnd);
      const outcome: Array<"held" | "error"> = [];
      const waiters = of.map((k, i) => {
        const [ctx] = ctxs[k] as [Context, () => void];
        const n = 1 + below(rnd, size);
        const holdFor = below(rnd, 4);
        return sem.acquire(ctx, n).then(
          async (permits) => {
            outcome[i] = "held";
            held += n;
            peak = Math.max(peak, held);
            await ticks(holdFor);
            held -= n;
            permits[Symbol.dispose]();
          },
          (err: unknown) => {
            outcome[i] = "error";
            expect(err, msg).toBe(ctx.err);
          },
        );
      });
      // The initial permits come back in random pieces at random moments.
      const actions: Array<[When, () => void]> = [];
      for (let left = size; left > 0; ) {
        const piece = 1 + below(rnd, left);
        left -= piece;
        actions.push([
          randomWhen(rnd),
          () => {
            held -= piece;
            sem.release(piece);
          },
        ]);
      }
      const cancelled = cancelSome(ctxs, rnd, actions);
      await schedule(rnd, actions);
      await finish(waiters, ctxs, msg);
      expect(peak, `${msg}: more permits held than exist`).toBeLessThanOrEqual(size);
      of.forEach((k, i) => {
        if (!cancelled.has(k)) expect(outcome[i], `${msg}: waiter ${i} was never cancelled`).toBe("held");
        else expect(outcome[i], msg).toBeDefined();
      });
      expect(held, msg).toBe(0);
      expect(sem.available, `${msg}: permits lost`).toBe(size);
      expect(sem.waiting, msg).toBe(0);
    }
  }, SEEDED_TIMEOUT);

  it("RWMutex: readers and writers cancelled around unlock() and rUnlock() keep the lock consistent, over 2,000 seeded rounds", async () => {
    const rnd = mulberry32(seed);
    for (let round = 0; round < 2000; round++) {
      const msg = where("RWMutex", round);
      const rw = new RWMutex();
      let readers = 0;
      let writers = 0;
      const actions: Array<[When, () => void]> = [];
      // Start held by a writer, or by one to three readers; each lets go at a random moment.
      if (rnd() < 0.5) {
        rw.tryLock();
        writers = 1;
        actions.push([
          randomWhen(rnd),
          () => {
            writers--;
            rw.unlock();
          },
        ]);
      } else {
        for (let i = 1 + below(rnd, 3); i > 0; i--) {
          rw.tryRLock();
          readers++;
          actions.push([
            randomWhen(rnd),
            () => {
              readers--;
              rw.rUnlock();
            },
          ]);
        }
      }
      const { ctxs, of } = waiterContexts(1 + below(rnd, 6), rnd);
      const outcome: Array<"held" | "error"> = [];
      const waiters = of.map((k, i) => {
        const [ctx] = ctxs[k] as [Context, () => void];
        const write = rnd() < 0.5;
        const holdFor = below(rnd, 4);
        return (write ? rw.lock(ctx) : rw.rLock(ctx)).then(
          async (hold) => {
            outcome[i] = "held";
            if (write) {
              expect(writers + readers, `${msg}: writer ${i} let in beside others`).toBe(0);
              writers++;
            } else {
              expect(writers, `${msg}: reader ${i} let in beside a writer`).toBe(0);
              readers++;
            }
            await ticks(holdFor);
            if (write) writers--;
            else readers--;
            hold[Symbol.dispose]();
          },
          (err: unknown) => {
            outcome[i] = "error";
            expect(err, msg).toBe(ctx.err);
          },
        );
      });
      const cancelled = cancelSome(ctxs, rnd, actions);
      await schedule(rnd, actions);
      await finish(waiters, ctxs, msg);
      of.forEach((k, i) => {
        if (!cancelled.has(k)) expect(outcome[i], `${msg}: waiter ${i} was never cancelled`).toBe("held");
      });
      expect([rw.locked, rw.readers, rw.waiting], `${msg}: not free at the end`).toEqual([false, 0, 0]);
      expect(rw.tryLock(), msg).toBe(true);
      rw.unlock();
    }
  }, SEEDED_TIMEOUT);

  it("Channel: sends and receives, direct or through select, cancelled around each other deliver every value exactly once, over 3,000 seeded rounds", async () => {
    const rnd = mulberry32(seed);
    for (let round = 0; round < 3000; round++) {
      const msg = where("Channel", round);
      const cap = below(rnd, 4);
      const a = new Channel<number>(cap);
      const b = new Channel<number>(cap);
      const delivered: number[] = [];
      const received: number[] = [];
      const ops: Array<Promise<void>> = [];
      const actions: Array<[When, () => void]> = [];
      // Operations may share a context, and so a channel queue's shared cancel subscription.
      const pool = contexts(1 + below(rnd, 6));
      const pick = (): [Context, () => void] => pool[below(rnd, pool.length)] as [Context, () => void];
      const senders = Array.from({ length: 1 + below(rnd, 5) }, pick);
      const receivers = Array.from({ length: 1 + below(rnd, 5) }, pick);
      senders.forEach(([ctx, cancel], i) => {
        const v = round * 100 + i;
        const how = below(rnd, 3);
        actions.push([
          randomWhen(rnd),
          () => {
            const sent =
              how === 0 ? a.send(ctx, v) : how === 1 ? b.send(ctx, v) : select(ctx, [a.sendCase(v), b.sendCase(v)]).then(() => undefined);
            ops.push(
              sent.then(
                () => void delivered.push(v),
                (err: unknown) => {
                  if (err instanceof ChannelClosedError) expect(err.value, msg).toBe(v);
                  else expect(err, msg).toBe(ctx.err);
                },
              ),
            );
          },
        ]);
        if (rnd() < 0.5) actions.push([randomWhen(rnd), cancel]);
      });
      receivers.forEach(([ctx, cancel]) => {
        const how = below(rnd, 3);
        actions.push([
          randomWhen(rnd),
          () => {
            const got = how === 0 ? a.recv(ctx) : how === 1 ? b.recv(ctx) : select(ctx, [a.recvCase((r) => r), b.recvCase((r) => r)]);
            ops.push(
              got.then(
                (r) => {
                  if (!r.done) received.push(r.value);
                },
                (err: unknown) => expect(err, msg).toBe(ctx.err),
              ),
            );
          },
        ]);
        if (rnd() < 0.5) actions.push([randomWhen(rnd), cancel]);
      });
      if (rnd() < 0.2) actions.push([randomWhen(rnd), () => a.close()]);
      await schedule(rnd, actions);
      await ticks(8);
      // Whatever still waits has no partner left: cancelling everyone ends every operation.
      for (const [, cancel] of pool) cancel();
      await Promise.all(ops);
      for (const ch of [a, b]) {
        for (let r = ch.tryRecv(); r !== undefined && !r.done; r = ch.tryRecv()) received.push(r.value);
        expect(ch.waiting, msg).toBe(0);
      }
      expect(
        [...received].sort((x, y) => x - y),
        `${msg}: values received are not exactly the values whose send resolved`,
      ).toEqual([...delivered].sort((x, y) => x - y));
    }
  }, SEEDED_TIMEOUT);
});
