import { expect, it } from "vitest";
import { Canceled, type Context } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { ReleaseError, Semaphore } from "@tether/sync";
import { explore, prng, seedCount, type Rng } from "../../../test/model.js";
import { Contexts, SHARED, assertNothingLive, flush, same, show } from "./test-helpers/model-kit.js";
import { track, type Tracked } from "./test-helpers/settle.js";

// The weighted semaphore against a synchronous reference model: a permit count and a FIFO of
// waiting weights. Random acquires (some on their own context, some on shared ones in a small
// tree, some too big), tryAcquires, releases (some of more than is held), disposals of granted
// permits (some twice) and cancels. The real semaphore is driven one operation at a time, the
// microtask queue flushed after each; then `available`, `waiting`, and how every acquire so far
// has settled (granted, or rejected with the very `ctx.err`) must match the model. At the end
// every context is cancelled: no waiter may be left and Tether's live counters must be zero.

// Operations name what they act on by stable ids, never by position, so that the shrinker can drop
// any of them without changing what the others mean: an acquire has an id, its context is shared
// context `ctx` or (own) a child of it of its own, and `dispose`/`cancel` name an acquire by id.
type Op =
  | { op: "acquire"; id: number; n: number; ctx: number; own: boolean }
  | { op: "try"; n: number }
  | { op: "release"; n: number }
  | { op: "dispose"; of: number }
  | { op: "cancel"; ctx: number }
  | { op: "cancel"; of: number };

/** The semaphore's size for a seed: the first draw of its PRNG, so check() can recompute it. */
const sizeOf = (rng: Rng): number => 1 + rng.int(6);

function generate(rng: Rng): Op[] {
  const size = sizeOf(rng);
  // Mostly valid weights; now and then one above the size, which must reject and block nobody.
  // A quarter ask for the whole semaphore, to make heads that block smaller waiters behind them.
  const weight = (): number => (rng.chance(0.04) ? size + 1 : rng.chance(0.25) ? size : 1 + rng.int(size));
  // A recent one of `ids`, where the pending acquires usually are.
  const recent = (ids: number[]): number => ids[ids.length - 1 - rng.int(Math.min(ids.length, 6))] as number;
  const ops: Op[] = [];
  const acquires: number[] = [];
  const owns: number[] = [];
  const count = 20 + rng.int(50);
  for (let id = 0; id < count; id++) {
    const r = rng.int(100);
    if (r < 38) {
      const own = rng.chance(0.6);
      ops.push({ op: "acquire", id, n: weight(), ctx: rng.int(SHARED), own });
      acquires.push(id);
      if (own) owns.push(id);
    } else if (r < 48) ops.push({ op: "try", n: weight() });
    else if (r < 65) ops.push({ op: "release", n: 1 + rng.int(size) });
    else if (r < 78 && acquires.length > 0) ops.push({ op: "dispose", of: recent(acquires) });
    else if (owns.length > 0 && rng.chance(0.85)) ops.push({ op: "cancel", of: recent(owns) });
    else ops.push({ op: "cancel", ctx: rng.int(SHARED) });
  }
  return ops;
}

/** One acquire call: the real promise, and what the model says it must have done. */
interface Acquire {
  id: number;
  step: number;
  n: number;
  ctx: number;
  real: Tracked<Disposable>;
  model: "pending" | "granted" | "canceled";
  /** Whether its disposable was disposed (a second dispose must do nothing). */
  disposed: boolean;
  /** Settled, and seen to agree with the model: a settled promise cannot change again. */
  verified: boolean;
}

async function check(ops: Op[], seed: number): Promise<void> {
  const before = liveCounts();
  const size = sizeOf(prng(seed));
  const sem = new Semaphore(size);
  const ctxs = new Contexts();
  const acquires: Acquire[] = [];
  const byId = new Map<number, Acquire>();
  // The model: permits held, and the waiting acquires in arrival order.
  let held = 0;
  let queue: Acquire[] = [];
  let where = (): string => `seed ${seed} (size ${size}), before any step`;

  /** Serves the head while it fits: a head that needs more than is free blocks those behind it. */
  const grant = (): void => {
    while (queue.length > 0) {
      const head = queue[0] as Acquire;
      if (size - held < head.n) return;
      held += head.n;
      head.model = "granted";
      queue.shift();
    }
  };

  const compare = (): void => {
    same(sem.available, size - held, () => `${where()}: available`);
    same(sem.waiting, queue.length, () => `${where()}: waiting`);
    for (const a of acquires) {
      if (a.verified) continue;
      const what = (): string => `${where()}: acquire ${a.id} (n ${a.n}) of step ${a.step} settled as`;
      if (a.model === "pending") {
        same(a.real.status, "pending", what);
        continue;
      }
      if (a.model === "granted") {
        same(a.real.status, "fulfilled", what);
        same(typeof a.real.value?.[Symbol.dispose], "function", what);
      } else {
        same(a.real.status, "rejected", what);
        same(a.real.error, Canceled, what);
      }
      a.verified = true;
    }
  };

  /**
   * Cancels a context: every waiter under it leaves as if it had never waited, then the head
   * waiters that now fit are served (those under the cancelled subtree never are).
   */
  const cancel = (target: number | undefined): void => {
    if (target === undefined) return;
    ctxs.cancel(target);
    queue = queue.filter((a) => {
      if (ctxs.cancelled[a.ctx] !== true) return true;
      a.model = "canceled";
      return false;
    });
    grant();
  };

  /** Calls `fn`, which must throw a ReleaseError; the semaphore must be left unchanged. */
  const expectReleaseError = (fn: () => void, what: string): void => {
    let thrown: unknown;
    try {
      fn();
    } catch (e) {
      thrown = e;
    }
    same(thrown instanceof ReleaseError, true, () => `${where()}: ${what} of more than held threw ReleaseError (got ${show(thrown)})`);
  };

  try {
    for (const [step, op] of ops.entries()) {
      where = () => `seed ${seed} (size ${size}), after step ${step} ${JSON.stringify(op)}`;
      switch (op.op) {
        case "acquire": {
          if (op.n > size) {
            const rejected = await sem.acquire(ctxs.ctx[ctxs.shared(op.ctx)] as Context, op.n).then(
              () => undefined,
              (e: unknown) => e,
            );
            same(rejected instanceof RangeError, true, () => `${where()}: acquire(${op.n}) above the size rejected with a RangeError (got ${show(rejected)})`);
            break;
          }
          const c = ctxs.forWait(op.id, op.ctx, op.own);
          const real = track(sem.acquire(ctxs.ctx[c] as Context, op.n));
          const a: Acquire = { id: op.id, step, n: op.n, ctx: c, real, model: "pending", disposed: false, verified: false };
          acquires.push(a);
          byId.set(op.id, a);
          // A cancelled context rejects even when the permits are free.
          if (ctxs.cancelled[c] === true) a.model = "canceled";
          else if (queue.length === 0 && size - held >= op.n) {
            held += op.n;
            a.model = "granted";
          } else queue.push(a);
          break;
        }
        case "try": {
          if (op.n > size) {
            let thrown: unknown;
            try {
              sem.tryAcquire(op.n);
            } catch (e) {
              thrown = e;
            }
            same(thrown instanceof RangeError, true, () => `${where()}: tryAcquire(${op.n}) above the size threw RangeError (got ${show(thrown)})`);
            break;
          }
          // It fails while anyone waits, even when the permits are free.
          const ok = queue.length === 0 && size - held >= op.n;
          same(sem.tryAcquire(op.n), ok, () => `${where()}: tryAcquire(${op.n})`);
          if (ok) held += op.n;
          break;
        }
        case "release": {
          if (op.n > held) {
            expectReleaseError(() => sem.release(op.n), `release(${op.n})`);
            break;
          }
          sem.release(op.n);
          held -= op.n;
          grant();
          break;
        }
        case "dispose": {
          const a = byId.get(op.of);
          if (a === undefined || a.model !== "granted") break;
          const dispose = (): void => (a.real.value as Disposable)[Symbol.dispose]();
          if (a.disposed) dispose();
          else if (a.n > held) {
            // Its permits were already given back by a manual release(): loud, and harmless.
            a.disposed = true;
            expectReleaseError(dispose, `disposing acquire ${a.id}`);
          } else {
            dispose();
            a.disposed = true;
            held -= a.n;
            grant();
          }
          break;
        }
        case "cancel":
          cancel("of" in op ? ctxs.ownOf(op.of) : ctxs.shared(op.ctx));
          break;
      }
      await flush();
      compare();
    }
    // Cancel every context, one at a time: a waiter whose context is cancelled later may still
    // be served when one ahead of it leaves.
    where = () => `seed ${seed} (size ${size}), after cancelling every context`;
    for (let i = 0; i < ctxs.length; i++) cancel(i);
    await flush();
    compare();
    same(sem.waiting, 0, () => `${where()}: waiters left`);
    if (held > 0) sem.release(held);
    same(sem.available, size, () => `${where()}: available once everything is released`);
  } finally {
    // On a failure too, so that nothing is left queued for the shared after-test check.
    ctxs.cancelAll();
  }
  assertNothingLive(before, where);
}

it(`the semaphore agrees with its reference model over ${seedCount().toLocaleString("en-US")} seeded random schedules`, async () => {
  const ran = await explore<Op>({ name: "semaphore", generate, check });
  expect(ran).toBeGreaterThanOrEqual(2_000);
}, 60_000 + seedCount() * 10);
