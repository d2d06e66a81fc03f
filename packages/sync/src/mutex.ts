import { type Context, background } from "@tether/core";
import { contextError, keep, toContext } from "@tether/core/internal";
import { heldArgsError } from "./check.js";
import { ReleaseError } from "./errors.js";
import { notThenable, runHeld } from "./held.js";
import { type Settling, WaitList, type Waiter, goneIfCancelled, noop, reject, settle } from "./wait-list.js";

/**
 * The disposable of one `lock()`. It carries the serial number of its hold, and the mutex records
 * the number of the hold that owns it, so disposing releases exactly that hold: a second dispose,
 * or one after `unlock()` already ended the hold, finds another number (or none) and does nothing.
 */
class MutexHold implements Disposable {
  constructor(
    private readonly _mu: Mutex,
    private readonly _n: number,
  ) {}
  [Symbol.dispose](): void {
    if (this._mu._owner === this._n) this._mu.unlock();
  }
}
notThenable(MutexHold);

/**
 * A queued `lock`, which becomes the hold it is granted: one object per contended lock, not two,
 * since allocation is most of what a contended lock costs beyond a bare promise. Its hold is
 * numbered as a {@link MutexHold}'s is, when `unlock()` hands the mutex over.
 */
class LockWait implements Settling, Disposable {
  /**
   * Not a thenable, said by a field of its own: resolving the lock's promise with this waiter
   * looks `then` up, and an own field ends that lookup sooner than the prototype's (see
   * `notThenable`), which measured about 3% of a contended lock.
   */
  declare readonly then: undefined;
  // Declared and assigned in the constructor, as in the wait list's own waiter, for the same reason.
  declare _wprev: Waiter | null;
  declare _wnext: Waiter | null;
  declare _wlist: WaitList<Waiter> | null;
  declare _sub: Waiter["_sub"];
  declare readonly _ctx: Context;
  declare readonly _mu: Mutex;
  declare _resolve: (value: unknown) => void;
  /** The serial number of the hold, once granted; -2, which no hold has, until then. */
  declare _n: number;

  constructor(mu: Mutex, ctx: Context) {
    this.then = undefined;
    this._wprev = null;
    this._wnext = null;
    this._wlist = null;
    this._sub = null;
    this._ctx = ctx;
    this._mu = mu;
    this._resolve = noop;
    this._n = -2;
  }

  /** A lock waits for nothing in particular; a getter, so the object has one field fewer. */
  get _data(): undefined {
    return undefined;
  }

  /** Grants the lock: the promise resolves with this waiter, now the hold numbered `_n`. */
  _done(): void {
    this._resolve(this);
  }

  _fail(err: Error): void {
    reject(this, err);
  }

  _gone(): boolean {
    return goneIfCancelled(this);
  }

  [Symbol.dispose](): void {
    if (this._mu._owner === this._n) this._mu.unlock();
  }
}

/**
 * The rest of an `unlock()` whose list was replaced while it served (see there): hands the mutex
 * to the new list's head, or frees it. Out of line, and not `unlock()` called again, so that the
 * hot path stays one V8 inlines.
 */
function serveRenewed(mu: Mutex): void {
  let w: LockWait | null = null;
  while (w === null && mu._q.size !== 0) w = mu._q.shift();
  if (w === null) {
    mu._owner = 0;
    return;
  }
  const n = ++mu._serial;
  w._n = n;
  mu._owner = n;
  w._done();
}

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
  /**
   * @internal The serial number of the hold that owns the mutex, -1 after `tryLock`, 0 when
   * unlocked. A number rather than the hold itself: a mutex usually lives long enough to sit in
   * V8's old generation, where storing a new object at every lock goes through the generational
   * write barrier, and storing a small integer does not. Serials count up from 1 and stay exact to
   * 2^53 locks, so a stale hold never matches.
   */
  _owner = 0;
  /** @internal The serial number of the last hold handed out. */
  _serial = 0;
  /**
   * @internal Lockers waiting; empty whenever the mutex is unlocked, since unlock hands over. Each
   * run of contention gets a new, empty list (see `lock`).
   */
  _q: WaitList<LockWait> = new WaitList(lockLabel);

  /** Whether the mutex is held right now. */
  get locked(): boolean {
    return this._owner !== 0;
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
   * // Somebody else holds it for a second: longer than we will wait.
   * const holder = setTimeout(() => mu.unlock(), 1_000);
   * const [ctx, cancel] = withTimeout(background(), 10);
   * const outcome = await mu.lock(ctx).then(
   *   () => "locked",
   *   (err: unknown) => err,
   * );
   * cancel();
   * clearTimeout(holder);
   * console.assert(errorIs(outcome, DeadlineExceeded) && mu.waiting === 0);
   * mu.unlock();
   * ```
   */
  lock(ctx: Context): Promise<Disposable> {
    const c = toContext(ctx);
    if (c === null) return Promise.reject(contextError(ctx, "Mutex.lock", "ctx"));
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    if (this._owner === 0) {
      const n = ++this._serial;
      const hold = new MutexHold(this, n);
      this._owner = n;
      return Promise.resolve(hold);
    }
    // The first waiter of a run of contention starts a new list: young, like the waiters it will
    // link, where the old one's end pointers would be written through the write barrier at every
    // wait (above). An empty list holds no waiter, and hands its idle cancel subscription on.
    if (this._q.size === 0) this._q = this._q.renew();
    return settle(this._q, new LockWait(this, c), c);
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
    if (this._owner !== 0) return false;
    this._owner = -1;
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
    if (this._owner === 0) throw new ReleaseError("Mutex.unlock: the mutex is not locked");
    const w = this._q.shift() as LockWait | null;
    if (w === null) {
      // Serving asks the waiters' contexts whether they are cancelled, and a foreign context's
      // code may call lock() meanwhile: a lock() that found the list empty started a new one (see
      // `lock`), and its waiter is the next to serve. The list shifted is empty, so one that is not
      // is that new one.
      if (this._q.size === 0) this._owner = 0;
      else serveRenewed(this);
      return;
    }
    const n = ++this._serial;
    w._n = n;
    this._owner = n;
    w._done();
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
    const bad = heldArgsError(ctx, fn, "Mutex.withLock");
    return bad !== undefined ? Promise.reject(bad) : runHeld(this.lock(ctx), fn);
  }

  /** Describes the state for logs and debuggers, e.g. `Mutex(locked, 2 waiting)`. */
  toString(): string {
    return `Mutex(${this._owner === 0 ? "unlocked" : "locked"}, ${this._q.size} waiting)`;
  }
}

// One of each, kept so that V8 keeps their maps across collections while no lock is held or
// queued (see core's keep.ts). The wait is never listed or granted, and the hold is numbered -2,
// which no hold has: disposing it would do nothing.
const keptMutex = keep(new Mutex());
keep(new LockWait(keptMutex, background()));
keep(new MutexHold(keptMutex, -2));
