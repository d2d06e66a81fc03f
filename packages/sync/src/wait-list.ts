import type { Context } from "@tether/core";
import { Sub, live, subscribeWith } from "@tether/core/internal";

/**
 * Waiter is one parked operation: a lock, acquire, receive, send or wait that could not complete at
 * once, or one case of a select. It is a node of an intrusive doubly linked {@link WaitList}, so
 * joining, leaving from the middle (on cancel) and serving the head are O(1) and allocate nothing
 * beyond the node. It extends core's `Sub`, so a waiter can also be its own cancel subscription
 * (see {@link park}): one object per wait. The wait-list links are `_wprev`, `_wnext` and `_wlist`;
 * `_owner`, `_prev` and `_next` are the Sub's links in its context's cancel list, core's alone.
 *
 * The primitive that serves a waiter first takes it out of its list and then calls `_done`; the
 * cancel path first checks that the waiter is still listed. Both run synchronously, so whichever
 * comes first wins and the other finds nothing to do: a waiter ends served or cancelled, never both.
 *
 * One window remains: a cancel sets `err` on a whole subtree before it calls the subscribers, so
 * while one cancelled waiter's callback serves the next waiter, that one's context may be cancelled
 * too, its own callback still to come. The list never serves such a waiter: {@link WaitList.head}
 * fails it with `ctx.err` on the way (`_gone`), so a wait whose context is cancelled is never granted.
 *
 * @internal
 */
export abstract class Waiter extends Sub {
  // Fields are assigned in the constructors, not declared with initializers: V8 runs a class's
  // field initializers as a function of their own, and builds an object markedly faster without
  // them. One waiter is made per wait.
  declare _wprev: Waiter | null;
  declare _wnext: Waiter | null;
  /** The list that holds this waiter; null once it was served or withdrawn. */
  declare _wlist: WaitList<Waiter> | null;
  /** What the wait is for: a weight, a reader/writer flag, the value a send offers. */
  declare readonly _data: unknown;

  /** `label` is what the wait is, as core's `dump()` shows it when the waiter is subscribed. */
  constructor(data: unknown, label: string) {
    super(null, label);
    this._wprev = null;
    this._wnext = null;
    this._wlist = null;
    this._data = data;
  }

  /** Completes the wait; the caller has already taken it out of its list. */
  abstract _done(value: unknown): void;

  /** Fails the wait with a misuse error (a send on a channel closed under it); already unlisted. */
  abstract _fail(err: Error): void;

  /**
   * If the waiter's context is already cancelled, takes it out of its list, fails it with
   * `ctx.err` and returns true; else returns false.
   */
  abstract _gone(): boolean;
}

function noop(): void {}

/**
 * A waiter that settles a promise of its own: every wait but a select's. It is its own cancel
 * subscription: core calls `_fire` when the context is cancelled.
 */
class Parked extends Waiter {
  declare readonly _ctx: Context;
  /** The settling functions of the wait's promise, set by {@link park} as it makes the promise. */
  declare _resolve: (value: never) => void;
  declare _reject: (err: Error) => void;

  constructor(data: unknown, label: string, ctx: Context) {
    super(data, label);
    this._ctx = ctx;
    this._resolve = noop;
    this._reject = noop;
  }

  _done(value: unknown): void {
    // Withdraw the subscription, so the context keeps no reference and never fires it.
    this.off();
    this._resolve(value as never);
  }

  _fail(err: Error): void {
    this.off();
    this._reject(err);
  }

  _gone(): boolean {
    const err = this._ctx.err;
    if (err === undefined) return false;
    this._wlist?.remove(this);
    this._fail(err);
    return true;
  }

  /** The cancel: runs inside core's cancel, so it only updates the queue and settles the promise. */
  override _fire(err: Error): void {
    const list = this._wlist;
    // Already served, or failed by `_gone` earlier in the same cancel.
    if (list === null) return;
    list.remove(this);
    this._reject(err);
    if (list._grantor !== null) list._grantor._grant();
  }
}

/**
 * WaitList is a FIFO of waiters. It keeps `live.waiters` in step with its length, so a test can
 * prove that nothing was left queued.
 *
 * @internal
 */
export class WaitList<W extends Waiter> {
  /**
   * @param _grantor The primitive to ask to serve the waiters behind one that leaves by
   * cancellation, if that can let them proceed (a semaphore's big head waiter, a writer that held
   * readers back); null when it cannot.
   */
  constructor(readonly _grantor: Grantor | null = null) {}

  _head: W | null = null;
  _tail: W | null = null;
  /** The number of waiters in the list. */
  size = 0;

  /** The waiter to serve next, or null; waiters whose context is already cancelled are failed first. */
  get head(): W | null {
    let w = this._head;
    while (w !== null && w._gone()) w = this._head;
    return w;
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
    if (w !== null) this.remove(w);
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
    this.size--;
    live.waiters--;
    return true;
  }
}

/** @internal A primitive that may be able to serve waiters once one of them leaves by cancellation. */
export interface Grantor {
  _grant(): void;
}

/**
 * Parks a wait for `data` at the tail of `list` until the primitive serves it or `ctx` is
 * cancelled. The caller has checked that `ctx` is alive. On cancel the waiter leaves the list, the
 * promise rejects with `ctx.err`, and the list's grantor (`_grant()`) lets the waiters behind it
 * proceed if they now can. `label` names the wait in core's `dump()`.
 *
 * @internal
 */
export function park<T>(list: WaitList<Waiter>, ctx: Context, data: unknown, label: string): Promise<T> {
  const w = new Parked(data, label, ctx);
  // A closure as the executor: V8 inlines it into the promise's construction.
  const p = new Promise<T>((resolve, reject) => {
    w._resolve = resolve as (value: never) => void;
    w._reject = reject;
  });
  list.push(w);
  subscribeWith(ctx, w);
  return p;
}
