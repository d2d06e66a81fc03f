import type { Context } from "@tether/core";
import { contextError, keep, toContext } from "@tether/core/internal";
import { heldArgsError } from "./check.js";
import { ReleaseError } from "./errors.js";
import { notThenable, runHeld } from "./held.js";
import { WaitList, type Waiter, park } from "./wait-list.js";

/** What a queued waiter wants: the `_data` of its Waiter. */
const READ = 0;
const WRITE = 1;

/** The owner of a write lock taken by tryLock(), which hands out no disposable. */
const BARE: object = Object.freeze({});

/** The disposable of one `lock()`: the write owner token, so it releases that hold at most once. */
class WriteHold implements Disposable {
  constructor(private readonly _rw: RWMutex) {}
  [Symbol.dispose](): void {
    if (this._rw._writer === this) this._rw.unlock();
  }
}
notThenable(WriteHold);

/** The disposable of one `rLock()`. Readers are anonymous, so it remembers that it released. */
class ReadHold implements Disposable {
  private _released = false;
  constructor(private readonly _rw: RWMutex) {}
  [Symbol.dispose](): void {
    if (this._released) return;
    this._released = true;
    this._rw.rUnlock();
  }
}
notThenable(ReadHold);

/** What a queued reader or writer is, as `dump()` shows it. */
const rwLabel = (mode: unknown): string => (mode === READ ? "RWMutex.rLock" : "RWMutex.lock");

/**
 * RWMutex is a reader/writer lock whose waits can be cancelled through a context: any number of
 * readers, or one writer. Waiters are served in arrival order, and a waiting writer blocks readers
 * that come after it, so a steady stream of readers cannot starve a writer. When a writer unlocks,
 * every reader queued before the next writer gets in together.
 *
 * Hand-over and cancellation follow the rules of {@link Mutex}: a wait either gets the lock or
 * rejects with `ctx.err`, never both, and a cancelled waiter leaves the lock as if it never waited
 * (a cancelled writer lets the readers queued behind it in).
 *
 * Use either a hold's disposable or `unlock()`/`rUnlock()` for a given hold, not both: readers are
 * anonymous, so a read hold cannot tell that a bare `rUnlock()` already released it.
 *
 * @example Many readers, one writer
 * ```ts
 * import { background } from "@tether/core";
 * import { RWMutex } from "@tether/sync";
 * const rw = new RWMutex();
 * const config = new Map<string, string>();
 * const read = (k: string) => rw.withRLock(background(), () => config.get(k));
 * await rw.withLock(background(), () => void config.set("mode", "fast"));
 * console.assert((await read("mode")) === "fast");
 * ```
 */
export class RWMutex {
  /** @internal The write hold's token (a WriteHold, or BARE after tryLock); null when not write-locked. */
  _writer: object | null = null;
  /** @internal Readers holding the lock now. Never positive while `_writer` is set. */
  _readers = 0;
  /** @internal Readers and writers waiting; the head is always one that cannot be let in yet. */
  readonly _q: WaitList<Waiter> = new WaitList(rwLabel, this);

  /** Whether a writer holds the lock right now. */
  get locked(): boolean {
    return this._writer !== null;
  }

  /** How many readers hold the lock right now. */
  get readers(): number {
    return this._readers;
  }

  /** How many `lock` and `rLock` calls are queued. */
  get waiting(): number {
    return this._q.size;
  }

  /**
   * rLock resolves with a `Disposable` once the caller shares the lock with other readers: at once
   * if no writer holds it or waits for it, else in turn. Cancellation as for {@link Mutex.lock}.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * using a = await rw.rLock(background());
   * using b = await rw.rLock(background());
   * console.assert(rw.readers === 2);
   * ```
   */
  rLock(ctx: Context): Promise<Disposable> {
    const c = toContext(ctx);
    if (c === null) return Promise.reject(contextError(ctx, "RWMutex.rLock", "ctx"));
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    if (this._writer === null && this._q.size === 0) {
      this._readers++;
      return Promise.resolve(new ReadHold(this));
    }
    return park(this._q, c, READ);
  }

  /**
   * lock resolves with a `Disposable` once the caller holds the lock alone: at once if nobody holds
   * it or waits for it, else in turn. Cancellation as for {@link Mutex.lock}.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * {
   *   using _ = await rw.lock(background());
   *   console.assert(rw.locked && !rw.tryRLock());
   * }
   * console.assert(!rw.locked);
   * ```
   */
  lock(ctx: Context): Promise<Disposable> {
    const c = toContext(ctx);
    if (c === null) return Promise.reject(contextError(ctx, "RWMutex.lock", "ctx"));
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    if (this._writer === null && this._readers === 0 && this._q.size === 0) {
      const hold = new WriteHold(this);
      this._writer = hold;
      return Promise.resolve(hold);
    }
    return park(this._q, c, WRITE);
  }

  /**
   * tryRLock takes a read lock if it can be had right now without waiting, and reports whether it
   * did. It fails while a writer holds or waits. Release with `rUnlock()`.
   *
   * @example
   * ```ts
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * console.assert(rw.tryRLock());
   * rw.rUnlock();
   * ```
   */
  tryRLock(): boolean {
    if (this._writer !== null || this._q.size !== 0) return false;
    this._readers++;
    return true;
  }

  /**
   * tryLock takes the write lock if nobody holds it or waits for it, and reports whether it did.
   * Release with `unlock()`.
   *
   * @example
   * ```ts
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * console.assert(rw.tryLock() && !rw.tryLock());
   * rw.unlock();
   * ```
   */
  tryLock(): boolean {
    if (this._writer !== null || this._readers !== 0 || this._q.size !== 0) return false;
    this._writer = BARE;
    return true;
  }

  /**
   * rUnlock releases one read lock. The last reader out lets the head writer in. Throws a
   * {@link ReleaseError}, changing nothing, when no reader holds the lock.
   *
   * @example
   * ```ts
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * rw.tryRLock();
   * rw.rUnlock();
   * console.assert(rw.readers === 0);
   * ```
   */
  rUnlock(): void {
    if (this._readers === 0) throw new ReleaseError("RWMutex.rUnlock: no read lock is held");
    if (--this._readers === 0) this._grant();
  }

  /**
   * unlock releases the write lock and lets in the head writer, or every reader queued before the
   * next writer. Throws a {@link ReleaseError}, changing nothing, when no writer holds the lock.
   *
   * @example
   * ```ts
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * rw.tryLock();
   * rw.unlock();
   * console.assert(!rw.locked);
   * ```
   */
  unlock(): void {
    if (this._writer === null) throw new ReleaseError("RWMutex.unlock: the write lock is not held");
    this._writer = null;
    this._grant();
  }

  /**
   * withRLock runs `fn` under a read lock and releases it however `fn` ends. If the lock cannot be
   * had, `fn` is not called and the result rejects with `ctx.err`.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * console.assert((await rw.withRLock(background(), () => "read")) === "read");
   * ```
   */
  withRLock<T>(ctx: Context, fn: () => T | PromiseLike<T>): Promise<T> {
    const bad = heldArgsError(ctx, fn, "RWMutex.withRLock");
    return bad !== undefined ? Promise.reject(bad) : runHeld(this.rLock(ctx), fn);
  }

  /**
   * withLock runs `fn` under the write lock and releases it however `fn` ends. If the lock cannot
   * be had, `fn` is not called and the result rejects with `ctx.err`.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { RWMutex } from "@tether/sync";
   * const rw = new RWMutex();
   * await rw.withLock(background(), () => {});
   * console.assert(!rw.locked);
   * ```
   */
  withLock<T>(ctx: Context, fn: () => T | PromiseLike<T>): Promise<T> {
    const bad = heldArgsError(ctx, fn, "RWMutex.withLock");
    return bad !== undefined ? Promise.reject(bad) : runHeld(this.lock(ctx), fn);
  }

  /** @internal Lets in as many waiters from the head as the lock now admits. */
  _grant(): void {
    for (let w = this._q.head; w !== null; w = this._q.head) {
      if (w._data === WRITE) {
        if (this._writer !== null || this._readers !== 0) return;
        this._q.remove(w);
        const hold = new WriteHold(this);
        this._writer = hold;
        w._done(hold);
        return;
      }
      if (this._writer !== null) return;
      this._q.remove(w);
      this._readers++;
      w._done(new ReadHold(this));
    }
  }

  /** Describes the state for logs and debuggers, e.g. `RWMutex(3 readers, 1 waiting)`. */
  toString(): string {
    const held = this._writer !== null ? "write-locked" : this._readers > 0 ? `${this._readers} reader${this._readers === 1 ? "" : "s"}` : "unlocked";
    return `RWMutex(${held}, ${this._q.size} waiting)`;
  }
}

// One of each, kept so that V8 keeps their maps across collections while no lock is held or
// queued (see core's keep.ts). Neither hold was granted; nothing disposes of them.
const keptRW = keep(new RWMutex());
keep(new WriteHold(keptRW));
keep(new ReadHold(keptRW));
