// The wait queue that every primitive parks on, and its helpers: internal to @tether/sync, which
// exports none of it from its entry point.
import { Canceled, type Context, background } from "@tether/core";
import { keep, live, neverCancelled } from "@tether/core/internal";
import { type Cover, Own, Shared, cover } from "./wait-cancel.js";

/**
 * Waiter is one parked operation: a lock, acquire, receive, send or wait that could not complete at
 * once, or one case of a select. It is a node of an intrusive doubly linked {@link WaitList}, so
 * joining, leaving from the middle (on cancel) and serving the head are O(1) and allocate nothing
 * beyond the node. The wait-list links are `_wprev`, `_wnext` and `_wlist`.
 *
 * The primitive that serves a waiter first takes it out of its list and then calls `_done`; the
 * cancel path first checks that the waiter is still listed. Both run synchronously, so whichever
 * comes first wins and the other finds nothing to do: a waiter ends served or cancelled, never both.
 *
 * One window remains: a cancel sets `err` on a whole subtree before it calls the subscribers, so
 * while one cancelled waiter's callback serves the next waiter, that one's context may be cancelled
 * too, its own callback still to come. The list never serves such a waiter: {@link WaitList.head}
 * fails it with `ctx.err` on the way (`_gone`), so a wait whose context is cancelled is never granted.
 */
export interface Waiter {
  _wprev: Waiter | null;
  _wnext: Waiter | null;
  /** The list that holds this waiter; null once it was served or withdrawn. */
  _wlist: WaitList<Waiter> | null;
  /** What the wait is for: a weight, a reader/writer flag, the value a send offers. */
  readonly _data: unknown;
  /** The cancel subscription that covers the wait while it is listed, if its context can be cancelled. */
  _sub: Cover | null;
  /** Completes the wait; the caller has already taken it out of its list. */
  _done(value: unknown): void;
  /**
   * Fails the wait with `err`: its context's, or a misuse error (a send on a channel closed under
   * it). The caller has already taken it out of its list.
   */
  _fail(err: Error): void;
  /**
   * If the waiter's context is already cancelled, takes it out of its list, fails it with
   * `ctx.err` and returns true; else returns false.
   */
  _gone(): boolean;
}

/**
 * Settles a wait's promise as rejected with `err`: resolving a promise with this thenable rejects
 * it, one microtask later. A waiter keeps only its promise's resolve function, since V8 need not
 * then keep the reject function alive; that measured about 6% cheaper per contended lock.
 */
class Rejection {
  constructor(private readonly _err: Error) {}
  then(_: unknown, reject: (err: Error) => void): void {
    reject(this._err);
  }
}

/** The placeholder resolve function of a waiter whose promise is still being made. */
export function noop(): void {}

/**
 * A waiter that settles a promise of its own, through the promise's resolve function: every wait
 * but a select's. A {@link Parked} waiter, or a Mutex's, which is also the hold it is granted.
 */
export interface Settling extends Waiter {
  readonly _ctx: Context;
  /** The resolve function of the wait's promise, set by {@link settle} as it makes the promise. */
  _resolve: (value: unknown) => void;
}

/** `_fail` for a {@link Settling} waiter. */
export function reject(w: Settling, err: Error): void {
  w._resolve(new Rejection(err));
}

/** `_gone` for a {@link Settling} waiter. */
export function goneIfCancelled(w: Settling): boolean {
  let err: Error | undefined;
  try {
    err = w._ctx.err;
  } catch (thrown) {
    return dropThrown(w, thrown);
  }
  return err !== undefined && drop(w, err);
}

/**
 * A foreign context that cannot even say whether it is cancelled (a Proxy revoked while its wait
 * was queued): its waiter leaves, failed with what it threw if that is an Error (else Canceled, as
 * core's abort listener does), and the primitive serves the next one instead of throwing out of
 * somebody else's unlock or send.
 */
function dropThrown(w: Settling, thrown: unknown): true {
  return drop(w, thrown instanceof Error ? thrown : Canceled);
}

/** The rare half of {@link goneIfCancelled}, out of line so that the hot paths it is inlined into stay small. */
function drop(w: Settling, err: Error): true {
  w._wlist?.remove(w);
  reject(w, err);
  return true;
}

/**
 * The waiter of every wait but a Mutex's and a select's. Its cancel subscription is a separate
 * object ({@link Shared} or {@link Own}), so the object made at every wait stays small, and it has
 * no base class: V8 builds an object of a derived class markedly slower.
 */
class Parked implements Settling {
  // Declared, then assigned in the constructor rather than by field initializers, which V8 runs as
  // a function of their own; one of these is made per wait.
  declare _wprev: Waiter | null;
  declare _wnext: Waiter | null;
  declare _wlist: WaitList<Waiter> | null;
  declare readonly _data: unknown;
  declare _sub: Cover | null;
  declare readonly _ctx: Context;
  declare _resolve: (value: unknown) => void;

  constructor(data: unknown, ctx: Context) {
    this._wprev = null;
    this._wnext = null;
    this._wlist = null;
    this._data = data;
    this._sub = null;
    this._ctx = ctx;
    this._resolve = noop;
  }

  _done(value: unknown): void {
    this._resolve(value);
  }

  _fail(err: Error): void {
    reject(this, err);
  }

  _gone(): boolean {
    return goneIfCancelled(this);
  }
}

/**
 * WaitList is a FIFO of waiters. It keeps `live.waiters` in step with its length, so a test can
 * prove that nothing was left queued.
 */
export class WaitList<W extends Waiter> {
  /**
   * @param _labelOf Names a wait for `dump()`, given its `_data`: "Mutex.lock".
   * @param _grantor The primitive to ask to serve the waiters behind one that leaves by
   * cancellation, if that can let them proceed (a semaphore's big head waiter, a writer that held
   * readers back); null when it cannot.
   */
  constructor(
    readonly _labelOf: (data: unknown) => string,
    readonly _grantor: Grantor | null = null,
  ) {}

  _head: W | null = null;
  _tail: W | null = null;
  /** The number of waiters in the list. */
  size = 0;
  /** The shared cancel subscription of the waiters parked under one context, or kept idle after them; null when none is. */
  _sub: Shared | null = null;

  /**
   * A fresh, empty list like this empty one, which takes over its cancel subscription if it kept
   * one idle, so that waits of the next run under the same context still find it.
   */
  renew(): WaitList<W> {
    const next = new WaitList<W>(this._labelOf, this._grantor);
    const sub = this._sub;
    if (sub !== null) {
      this._sub = null;
      sub._list = next as unknown as WaitList<Waiter>;
      next._sub = sub;
    }
    return next;
  }

  /**
   * The waiter to serve next, or null; waiters whose context is already cancelled are failed first.
   * Asking a foreign context whether it is cancelled runs its code, which may serve or withdraw
   * waiters of this very list: a waiter is returned only if it is still the head once asked.
   */
  get head(): W | null {
    const w = this._head;
    // The common answer (empty, or a head that is alive and stays the head) is in line; the rest
    // is out of line, so that the paths this getter is inlined into stay small.
    if (w === null || (!w._gone() && w === this._head)) return w;
    return this._liveHead();
  }

  /** @internal The rest of {@link WaitList.head}, once the head was found gone or changed. */
  _liveHead(): W | null {
    for (;;) {
      churn.n++;
      const w = this._head;
      if (w === null) return null;
      if (!w._gone() && w === this._head) return w;
    }
  }

  push(w: W): void {
    w._wlist = this as unknown as WaitList<Waiter>;
    const tail = this._tail;
    w._wprev = tail;
    if (tail !== null) tail._wnext = w;
    else this._head = w;
    this._tail = w;
    this.size++;
    live.waiters++;
  }

  /** Takes out and returns the head (as {@link WaitList.head} finds it), or null. */
  shift(): W | null {
    const w = this.head;
    if (w === null) return null;
    // The head has no predecessor: unlinking it is half of `remove`, and this is the hot path.
    const next = w._wnext as W | null;
    this._head = next;
    if (next !== null) next._wprev = null;
    else this._tail = null;
    w._wlist = w._wnext = null;
    this._left(w);
    return w;
  }

  /** Takes `w` out of the list; returns false when it was not in it (already served or withdrawn). */
  remove(w: W): boolean {
    if (w._wlist !== (this as unknown as WaitList<Waiter>)) return false;
    const prev = w._wprev;
    const next = w._wnext;
    if (prev !== null) prev._wnext = next;
    else this._head = next as W | null;
    if (next !== null) next._wprev = prev;
    else this._tail = prev as W | null;
    w._wlist = w._wprev = w._wnext = null;
    this._left(w);
    return true;
  }

  /** Counts `w` out, and ends its part in its cancel subscription. */
  _left(w: W): void {
    this.size--;
    live.waiters--;
    const sub = w._sub;
    if (sub !== null) sub._leave();
  }
}

/**
 * Counts the times a list, asking its head waiter's context whether it is cancelled, found it
 * cancelled or found the head changed by the time the answer came: the only ways in which a
 * question that leaves a case unready can have run code that operated a channel. select reads it
 * around a sampling pass (see there); the common path, a head that answers "alive" and stays the
 * head, does not touch it.
 */
export const churn = { n: 0 };

/** A primitive that may be able to serve waiters once one of them leaves by cancellation. */
export interface Grantor {
  _grant(): void;
}

/**
 * Parks a wait for `data` at the tail of `list` until the primitive serves it or `ctx` is
 * cancelled. The caller has checked that `ctx` is alive. On cancel the waiter leaves the list, the
 * promise rejects with `ctx.err`, and the list's grantor (`_grant()`) lets the waiters behind it
 * proceed if they now can.
 */
export function park<T>(list: WaitList<Waiter>, ctx: Context, data: unknown): Promise<T> {
  return settle(list, new Parked(data, ctx), ctx);
}

/** The waiter that {@link park} makes, for a caller that keeps a reference to it: parks with {@link settle}. */
export function parked(ctx: Context, data: unknown): Settling {
  return new Parked(data, ctx);
}

/**
 * Parks `w`, a waiter under `ctx`, as {@link park} parks its own, and returns the promise that `w`
 * settles.
 *
 * The cancel subscription is the list's shared one when `ctx` is the context it follows, or when
 * the list has none yet; else the waiter subscribes on its own.
 */
export function settle<T>(list: WaitList<Waiter>, w: Settling, ctx: Context): Promise<T> {
  // A closure as the executor: V8 inlines it into the promise's construction.
  const p = new Promise<T>((resolve) => {
    w._resolve = resolve as (value: unknown) => void;
  });
  const sub = list._sub;
  if (sub !== null && sub._ctx === ctx) {
    sub._count++;
    w._sub = sub;
    list.push(w);
    return p;
  }
  // Out of line, so that the common path stays small enough for V8 to inline whole.
  return settleUncovered(list, w, ctx, p);
}

/** The rest of {@link settle}, for a wait that the list's shared subscription does not cover. */
function settleUncovered<T>(list: WaitList<Waiter>, w: Settling, ctx: Context, p: Promise<T>): Promise<T> {
  // Under `background()` there is nothing to subscribe to: no subscription object is made.
  if (!neverCancelled(ctx)) return coverListed(list, w, ctx, p);
  list.push(w);
  return p;
}

/**
 * The rest of {@link settle} for a wait that needs a subscription of its own or a new shared one.
 * Subscribing to a foreign context runs its code (a `signal` getter, `addEventListener`), which
 * may operate this very primitive: the waiter is listed first, so an unlock, a send or a `done()`
 * made then serves it, instead of finding nobody waiting and leaving the wait queued beside a free
 * lock or a buffered value. If subscribing fails, a waiter still listed leaves and its promise
 * rejects with what was thrown: the caller asked for a promise. One served meanwhile keeps what it
 * was given, and the failure to watch a wait that is over is not an error.
 */
function coverListed<T>(list: WaitList<Waiter>, w: Settling, ctx: Context, p: Promise<T>): Promise<T> {
  list.push(w);
  const failed = cover(list, w, ctx);
  const at = w._wlist;
  if (failed === null || at === null) return p;
  at.remove(w);
  // It may have held back waits queued behind it meanwhile (a semaphore's head).
  if (at._grantor !== null) at._grantor._grant();
  return Promise.reject(failed.error);
}

// One of each, kept so that V8 keeps their maps across collections while no wait is queued (see
// core's keep.ts). None is listed or subscribed.
keep(new Own(keep(new Parked(undefined, background())), background()));
keep(new Shared(new WaitList<Waiter>(noLabel), background()));

/** The label of the waits of no list: for the kept subscription's list, which never holds one. */
function noLabel(): string {
  return "";
}
