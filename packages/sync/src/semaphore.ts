import type { Context } from "@tether/core";
import { contextError, describe, keep, toContext } from "@tether/core/internal";
import { checkWhole, heldArgsError, wholeError } from "./check.js";
import { ReleaseError } from "./errors.js";
import { notThenable, runHeld } from "./held.js";
import { WaitList, type Waiter, park } from "./wait-list.js";

/** The disposable of one `acquire()`: gives its `n` permits back once. */
class Permits implements Disposable {
  private _released = false;
  constructor(
    private readonly _sem: Semaphore,
    private readonly _n: number,
  ) {}
  [Symbol.dispose](): void {
    if (this._released) return;
    this._released = true;
    this._sem.release(this._n);
  }
}
notThenable(Permits);

/** What a queued acquire of `n` permits is, as `dump()` shows it. */
const acquireLabel = (n: unknown): string => `Semaphore.acquire(${String(n)})`;

/**
 * Semaphore is a weighted semaphore with the semantics of Go's `golang.org/x/sync/semaphore`: it
 * holds `size` permits, and `acquire(ctx, n)` waits until `n` are free. Waiters are served strictly
 * in order: a waiter at the head that needs more than is free blocks the smaller ones behind it,
 * and `tryAcquire` fails while anyone waits. Serving a later, smaller waiter first is tempting, but
 * a stream of small acquires would then starve a large one forever.
 *
 * Permits pass to waiters synchronously inside `release()`, with the waiter's cancel subscription
 * withdrawn in the same step, so a wait either gets its permits or rejects with `ctx.err`, never
 * both, and no permit is lost or counted twice. A cancelled waiter leaves the semaphore as if it
 * had never waited: if it was blocking the head, the waiters behind it that now fit are served.
 *
 * @example Bound concurrency
 * ```ts
 * import { background } from "@tether/core";
 * import { Semaphore } from "@tether/sync";
 * const sem = new Semaphore(2);
 * let running = 0;
 * let peak = 0;
 * await Promise.all([1, 2, 3, 4, 5].map((n) => sem.withPermits(background(), 1, async () => {
 *   peak = Math.max(peak, ++running);
 *   await Promise.resolve(n);
 *   running--;
 * })));
 * console.assert(peak === 2 && sem.available === 2);
 * ```
 */
export class Semaphore {
  /** @internal The number of permits; behind a getter so that no assignment can change it. */
  readonly _size: number;
  /** @internal Permits held now: 0 ≤ `_cur` ≤ `size`. */
  _cur = 0;
  /** @internal Waiters; `_data` is each one's weight. The head never fits in what is free. */
  readonly _q: WaitList<Waiter> = new WaitList(acquireLabel, this);

  /**
   * Makes a semaphore of `size` permits, all free.
   *
   * @throws TypeError when `size` is not a number; RangeError when it is not a whole number ≥ 1.
   */
  constructor(size: number) {
    this._size = checkWhole(size, 1, "Semaphore", "size");
  }

  /** The number of permits the semaphore was made with. */
  get size(): number {
    return this._size;
  }

  /** The number of permits free right now. */
  get available(): number {
    return this._size - this._cur;
  }

  /** How many `acquire` calls are queued. */
  get waiting(): number {
    return this._q.size;
  }

  /**
   * acquire resolves with a `Disposable` once the caller holds `n` permits: at once when `n` are
   * free and nobody waits, else after the waiters ahead. Dispose of it (`using`) or call
   * `release(n)` to give them back, not both: permits are anonymous, so a hold cannot tell that a
   * bare `release(n)` already gave its permits back, and disposing it then would release someone
   * else's. Disposing again does nothing.
   *
   * On a cancelled context it rejects with `ctx.err` even when permits are free; if `ctx` is
   * cancelled while waiting, it rejects with `ctx.err` and leaves the semaphore unchanged.
   *
   * It rejects at once with a TypeError/RangeError, queueing nothing, when `n` is not a whole number
   * from 1 to `size`: such a wait could never end, and it must not block the smaller ones behind it.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Semaphore } from "@tether/sync";
   * const sem = new Semaphore(10);
   * {
   *   using _ = await sem.acquire(background(), 4);
   *   console.assert(sem.available === 6);
   * }
   * console.assert(sem.available === 10);
   * ```
   */
  acquire(ctx: Context, n = 1): Promise<Disposable> {
    const c = toContext(ctx);
    if (c === null) return Promise.reject(contextError(ctx, "Semaphore.acquire", "ctx"));
    const bad = this.#weightError(n, "Semaphore.acquire");
    if (bad !== undefined) return Promise.reject(bad);
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    if (this._size - this._cur >= n && this._q.size === 0) {
      this._cur += n;
      return Promise.resolve(new Permits(this, n));
    }
    return park(this._q, c, n);
  }

  /**
   * tryAcquire takes `n` permits if they are free and nobody waits, and reports whether it did.
   * Give them back with `release(n)`. Throws like {@link Semaphore.acquire} for a bad `n`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@tether/sync";
   * const sem = new Semaphore(1);
   * console.assert(sem.tryAcquire() && !sem.tryAcquire());
   * sem.release();
   * ```
   */
  tryAcquire(n = 1): boolean {
    const bad = this.#weightError(n, "Semaphore.tryAcquire");
    if (bad !== undefined) throw bad;
    if (this._size - this._cur < n || this._q.size !== 0) return false;
    this._cur += n;
    return true;
  }

  /**
   * release gives back `n` permits and serves the waiters at the head that now fit. Releasing more
   * than is held throws a {@link ReleaseError} and leaves the semaphore unchanged.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@tether/sync";
   * const sem = new Semaphore(3);
   * sem.tryAcquire(3);
   * sem.release(2);
   * console.assert(sem.available === 2);
   * sem.release();
   * ```
   */
  release(n = 1): void {
    checkWhole(n, 1, "Semaphore.release", "n");
    if (n > this._cur) {
      throw new ReleaseError(`Semaphore.release: released more than held: releasing ${n} with ${this._cur} held`);
    }
    this._cur -= n;
    this._grant();
  }

  /**
   * withPermits runs `fn` holding `n` permits and gives them back however `fn` ends. If they cannot
   * be had (`ctx` cancelled), `fn` is not called and the result rejects with `ctx.err`.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Semaphore } from "@tether/sync";
   * const sem = new Semaphore(4);
   * const free = await sem.withPermits(background(), 3, () => sem.available);
   * console.assert(free === 1 && sem.available === 4);
   * ```
   */
  withPermits<T>(ctx: Context, n: number, fn: () => T | PromiseLike<T>): Promise<T> {
    const bad = heldArgsError(ctx, fn, "Semaphore.withPermits") ?? this.#weightError(n, "Semaphore.withPermits");
    return bad !== undefined ? Promise.reject(bad) : runHeld(this.acquire(ctx, n), fn);
  }

  /** @internal Serves waiters from the head while each fits in what is free. */
  _grant(): void {
    for (let w = this._q.head; w !== null; w = this._q.head) {
      const n = w._data as number;
      if (this._size - this._cur < n) return;
      this._cur += n;
      this._q.remove(w);
      w._done(new Permits(this, n));
    }
  }

  /** The error for a weight `n` that is not a whole number from 1 to the size, or undefined. */
  #weightError(n: unknown, fn: string): TypeError | RangeError | undefined {
    const bad = wholeError(n, 1, fn, "n");
    if (bad !== undefined) return bad;
    if ((n as number) > this._size) {
      return new RangeError(`${fn}: n must be at most the semaphore's size ${this.size}, received ${describe(n)}`);
    }
    return undefined;
  }

  /** Describes the state for logs and debuggers, e.g. `Semaphore(2/5 free, 1 waiting)`. */
  toString(): string {
    return `Semaphore(${this._size - this._cur}/${this.size} free, ${this._q.size} waiting)`;
  }
}

// One of each, kept so that V8 keeps their maps across collections while no permit is out (see
// core's keep.ts). The permits are never released, and were never taken.
keep(new Permits(keep(new Semaphore(1)), 1));
