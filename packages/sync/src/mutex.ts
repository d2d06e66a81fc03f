import type { Context } from "@tether/core";
import { asContext, asFunction } from "@tether/core/internal";
import { ReleaseError } from "./errors.js";
import { notThenable, runHeld } from "./held.js";
import { WaitList, type Waiter, park } from "./wait-list.js";

/** The owner of a mutex locked by tryLock(), which hands out no disposable. */
const BARE: object = Object.freeze({});

/**
 * The disposable of one `lock()`. It is the mutex's owner token while that hold lasts, so disposing
 * it releases exactly that hold: a second dispose, or one after `unlock()` already ended the hold,
 * finds another owner (or none) and does nothing.
 */
class MutexHold implements Disposable {
  constructor(private readonly _mu: Mutex) {}
  [Symbol.dispose](): void {
    if (this._mu._owner === this) this._mu.unlock();
  }
}
notThenable(MutexHold);

/** What a queued `lock` is, as `dump()` shows it. */
const lockLabel = (): string => "Mutex.lock";

/**
 * Mutex is a mutual-exclusion lock whose `lock` waits can be cancelled through a context. Waiters
 * are served strictly first come, first served, so none starves.
 *
 * Unlocking hands the mutex to the head waiter synchronously, inside `unlock()`, and withdraws that
 * waiter's cancel subscription in the same step. A cancel that comes before the hand-over takes the
 * waiter out of the queue, so the mutex passes to the next one; a cancel that comes after it finds
 * the waiter already served, and the caller holds the lock. Either way a mutex is never left held by
 * a `lock` whose promise rejected, and never handed to two callers.
 *
 * @example Guard a critical section
 * ```ts
 * import { background } from "@tether/core";
 * import { Mutex } from "@tether/sync";
 * const mu = new Mutex();
 * let balance = 0;
 * async function deposit(amount: number): Promise<void> {
 *   using _ = await mu.lock(background());
 *   const before = balance;
 *   await Promise.resolve();
 *   balance = before + amount;
 * }
 * await Promise.all([deposit(1), deposit(2)]);
 * console.assert(balance === 3 && !mu.locked);
 * ```
 */
export class Mutex {
  /** @internal The current hold's token (a MutexHold, or BARE after tryLock); null when unlocked. */
  _owner: object | null = null;
  /** @internal Lockers waiting; empty whenever the mutex is unlocked, since unlock hands over. */
  readonly _q: WaitList<Waiter> = new WaitList(lockLabel);

  /** Whether the mutex is held right now. */
  get locked(): boolean {
    return this._owner !== null;
  }

  /** How many `lock` calls are queued, waiting for the mutex. */
  get waiting(): number {
    return this._q.size;
  }

  /**
   * lock resolves with a `Disposable` once the caller holds the mutex: at once when it is free, or
   * after every earlier waiter has had its turn. Dispose of the result (`using`) or call `unlock()`
   * to release; disposing again does nothing.
   *
   * On a cancelled context it rejects with `ctx.err` even when the mutex is free. If `ctx` is
   * cancelled while waiting, it rejects with `ctx.err` and the mutex is as if it had never been
   * asked. Once granted, the hold is the caller's, even if `ctx` is cancelled before the caller
   * resumes: a promise that resolved must be disposed of.
   *
   * @example Give up after a timeout
   * ```ts
   * import { background, withTimeout, errorIs, DeadlineExceeded } from "@tether/core";
   * import { Mutex } from "@tether/sync";
   * const mu = new Mutex();
   * mu.tryLock();
   * const [ctx, cancel] = withTimeout(background(), 10);
   * try {
   *   await mu.lock(ctx);
   * } catch (err) {
   *   console.assert(errorIs(err, DeadlineExceeded) && mu.waiting === 0);
   * } finally {
   *   cancel();
   *   mu.unlock();
   * }
   * ```
   */
  lock(ctx: Context): Promise<Disposable> {
    const c = asContext(ctx, "Mutex.lock", "ctx");
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    if (this._owner === null) {
      const hold = new MutexHold(this);
      this._owner = hold;
      return Promise.resolve(hold);
    }
    return park(this._q, c, undefined);
  }

  /**
   * tryLock takes the mutex if it is free right now and reports whether it did. It never waits and
   * never jumps the queue (a held mutex with waiters is never free). Release with `unlock()`.
   *
   * @example
   * ```ts
   * import { Mutex } from "@tether/sync";
   * const mu = new Mutex();
   * console.assert(mu.tryLock() === true);
   * console.assert(mu.tryLock() === false);
   * mu.unlock();
   * ```
   */
  tryLock(): boolean {
    if (this._owner !== null) return false;
    this._owner = BARE;
    return true;
  }

  /**
   * unlock releases the mutex, handing it straight to the head waiter if there is one. Any caller
   * may unlock, as in Go; a hold's disposable then does nothing. Unlocking a mutex that is not
   * locked throws a {@link ReleaseError} and changes nothing.
   *
   * @example
   * ```ts
   * import { Mutex } from "@tether/sync";
   * const mu = new Mutex();
   * mu.tryLock();
   * mu.unlock();
   * console.assert(!mu.locked);
   * ```
   */
  unlock(): void {
    if (this._owner === null) throw new ReleaseError("Mutex.unlock: the mutex is not locked");
    const w = this._q.shift();
    if (w === null) {
      this._owner = null;
      return;
    }
    const hold = new MutexHold(this);
    this._owner = hold;
    w._done(hold);
  }

  /**
   * withLock runs `fn` holding the mutex and releases it when `fn` returns, throws or its promise
   * settles; it resolves or rejects as `fn` did. If the lock cannot be had (`ctx` cancelled), `fn`
   * is not called and the result rejects with `ctx.err`.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Mutex } from "@tether/sync";
   * const mu = new Mutex();
   * const n = await mu.withLock(background(), async () => 42);
   * console.assert(n === 42 && !mu.locked);
   * ```
   */
  withLock<T>(ctx: Context, fn: () => T | PromiseLike<T>): Promise<T> {
    const c = asContext(ctx, "Mutex.withLock", "ctx");
    asFunction(fn, "Mutex.withLock", "fn");
    return runHeld(this.lock(c), fn);
  }

  /** Describes the state for logs and debuggers, e.g. `Mutex(locked, 2 waiting)`. */
  toString(): string {
    return `Mutex(${this._owner === null ? "unlocked" : "locked"}, ${this._q.size} waiting)`;
  }
}
