// The cancel subscriptions of parked waiters: one shared by the waiters of a list under the same
// context, or one of a waiter's own. The list itself is in wait-list.ts, which imports this module;
// this one needs only its types.
import type { Context } from "@tether/core";
import { type Idle, type Subscriber, linger, subscribeWith, unsubscribe, waitErr } from "@tether/core/internal";
import type { WaitList, Waiter } from "./wait-list.js";

/**
 * A cancel subscription covering listed waiters: the list's {@link Shared} one, or a waiter's
 * {@link Own}.
 */
export interface Cover {
  /** Called as a waiter it covers leaves the list, served or not. */
  _leave(): void;
}

/**
 * Shared is one cancel subscription for all the waiters of a list that wait under the same context,
 * the context of the first of them: the common case of workers of one group contending for one
 * lock. Joining and leaving it is a count, where a subscription per waiter would link into and
 * unlink from the context's list at every wait. A list has at most one; waiters under another
 * context subscribe on their own.
 *
 * When its last waiter leaves it stays linked, idle, in the list's slot: the next wait under the
 * same context joins it again for the cost of a count, which is what a channel's ping-pong does at
 * every value. Core's sweep withdraws it at the next timer turn if it is still idle then (see
 * `linger`); a wait under another context, or its context's cancel, withdraws it at once.
 */
export class Shared implements Subscriber, Cover, Idle {
  _owner: Subscriber["_owner"] = null;
  _prev: Subscriber["_prev"] = null;
  _next: Subscriber["_next"] = null;
  /** How many of the list's waiters it covers; at 0 it is idle. */
  _count = 1;
  _lingering = false;
  /** Set once it is withdrawn or has fired: a late call from core then does nothing. */
  _over = false;

  constructor(
    /** The list whose slot it holds; a Mutex moves it to the fresh list of its next run of contention. */
    public _list: WaitList<Waiter>,
    readonly _ctx: Context,
  ) {}

  /** What its waiters wait for, for `dump()`: their labels in queue order, runs counted ("Mutex.lock ×3"). */
  get _label(): string {
    const parts: string[] = [];
    let last = "";
    let run = 0;
    const flush = (): void => {
      if (run > 0) parts.push(run === 1 ? last : `${last} ×${run}`);
    };
    const list = this._list;
    for (let w = list._head; w !== null; w = w._wnext) {
      if (w._sub !== this) continue;
      const label = list._labelOf(w._data);
      if (label === last) run++;
      else {
        flush();
        last = label;
        run = 1;
      }
    }
    flush();
    return parts.join(", ");
  }

  _leave(): void {
    if (--this._count === 0 && !this._lingering) linger(this);
  }

  _sweep(): void {
    if (this._count === 0) this._end();
  }

  /** Withdraws the subscription, idle, and frees the list's slot if it still holds it. */
  _end(): void {
    this._over = true;
    if (this._list._sub === this) this._list._sub = null;
    unsubscribe(this);
  }

  /** The cancel: fails every waiter it covers, in queue order, then lets those behind proceed. */
  _fire(err: Error): void {
    const list = this._list;
    // A late call: core fires an already-cancelled context's subscribers in a microtask, by which
    // time this subscription may have been withdrawn, its waiters served. No waiter still points
    // to a withdrawn one, so the walk would fail nobody; this only skips it and the grant.
    if (this._over) return;
    this._over = true;
    // Not necessarily the list's slot: one made while another wait took the slot (see
    // `subscribeCover`) covers its waiters all the same.
    if (list._sub === this) list._sub = null;
    // Idle: its waiters were all served, or failed already by the list's `head` in this cancel.
    let left = this._count;
    if (left === 0) return;
    const failure = waitErr(this._ctx, err);
    // Its waiters joined after it took the slot, so they sit towards the tail: walk back from there
    // and stop at the last of them, not through a long queue of other contexts' waiters from the
    // head (one short-timeout wait behind 100,000 others cost a walk of all of them). Then fail
    // them in queue order.
    const mine: Waiter[] = [];
    for (let w = list._tail; w !== null && left > 0; w = w._wprev) {
      if (w._sub === this) {
        mine.push(w);
        left--;
      }
    }
    for (let i = mine.length - 1; i >= 0; i--) {
      const w = mine[i] as Waiter;
      list.remove(w);
      w._fail(failure);
    }
    if (list._grantor !== null) list._grantor._grant();
  }
}

/** The cancel subscription of one waiter whose context is not its list's shared one. */
export class Own implements Subscriber, Cover {
  _owner: Subscriber["_owner"] = null;
  _prev: Subscriber["_prev"] = null;
  _next: Subscriber["_next"] = null;

  constructor(
    readonly _w: Waiter,
    readonly _ctx: Context,
  ) {}

  get _label(): string {
    return this._w._wlist?._labelOf(this._w._data) ?? "";
  }

  _leave(): void {
    unsubscribe(this);
  }

  /** The cancel: runs inside core's cancel, so it only updates the queue and settles the promise. */
  _fire(err: Error): void {
    const w = this._w;
    const list = w._wlist;
    // Already served, or failed by `_gone` earlier in the same cancel.
    if (list === null) return;
    list.remove(w);
    w._fail(waitErr(this._ctx, err));
    if (list._grantor !== null) list._grantor._grant();
  }
}

/**
 * Subscribes a waiter that its list's shared subscription does not cover: it takes the list's
 * shared slot if that is free, or else subscribes on its own. Out of line, as the rarer case, so
 * that `park` stays small enough for V8 to inline into the primitives' hot paths. Returns what
 * subscribing threw (a foreign signal's `addEventListener` may), boxed, since anything can be
 * thrown; null when it worked.
 */
export function cover(list: WaitList<Waiter>, w: Waiter, ctx: Context): { error: unknown } | null {
  try {
    subscribeCover(list, w, ctx);
    return null;
  } catch (error) {
    return { error };
  }
}

/** The body of {@link cover}, which may throw. */
function subscribeCover(list: WaitList<Waiter>, w: Waiter, ctx: Context): void {
  const idle = list._sub;
  // An idle subscription under another context gives up the slot to this one.
  if (idle !== null && idle._count === 0) idle._end();
  // Subscribing runs a foreign context's code, which may serve `w` (it is listed already: see
  // `settle`) or start other waits on this list, even take the slot: each case is looked at after.
  if (list._sub === null) {
    const fresh = new Shared(list, ctx);
    if (subscribeWith(ctx, fresh)) {
      // Served meanwhile, so covering nobody: idle from the start, swept like any idle one.
      if (w._wlist === null) fresh._count = 0;
      else w._sub = fresh;
      if (list._sub === null) list._sub = fresh;
      // Queued for the sweep from the start, not as it first idles: most live less than a timer
      // turn, so the hot path that idles them finds them queued and never makes this call. Last,
      // since a sweep it starts may run foreign code too (a signal's `removeEventListener`).
      linger(fresh);
    }
  } else {
    const own = new Own(w, ctx);
    if (subscribeWith(ctx, own)) {
      if (w._wlist === null) unsubscribe(own);
      else w._sub = own;
    }
  }
}
