import type { Context } from "@tether/core";
import { type Sub, live, subscribe } from "@tether/core/internal";

/**
 * Waiter is one parked operation: a lock, acquire, receive, send or wait that could not complete at
 * once, or one case of a select. It is a node of an intrusive doubly linked {@link WaitList}, so
 * joining, leaving from the middle (on cancel) and serving the head are O(1) and allocate nothing
 * beyond the node.
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
export abstract class Waiter {
  _prev: Waiter | null = null;
  _next: Waiter | null = null;
  /** The list that holds this waiter; null once it was served or withdrawn. */
  _list: WaitList<Waiter> | null = null;

  constructor(
    /** What the wait is for: a weight, a reader/writer flag, the value a send offers. */
    readonly _data: unknown,
  ) {}

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

/** A waiter that settles a promise of its own: every wait but a select's. */
class Parked extends Waiter {
  /** The cancel subscription; withdrawn on completion so the context keeps no reference. */
  _sub: Sub | null = null;

  constructor(
    data: unknown,
    readonly _ctx: Context,
    readonly _resolve: (value: never) => void,
    readonly _reject: (err: Error) => void,
  ) {
    super(data);
  }

  _done(value: unknown): void {
    this._sub?.off();
    this._resolve(value as never);
  }

  _fail(err: Error): void {
    this._sub?.off();
    this._reject(err);
  }

  _gone(): boolean {
    const err = this._ctx.err;
    if (err === undefined) return false;
    this._list?.remove(this);
    this._fail(err);
    return true;
  }
}

/**
 * WaitList is a FIFO of waiters. It keeps `live.waiters` in step with its length, so a test can
 * prove that nothing was left queued.
 *
 * @internal
 */
export class WaitList<W extends Waiter> {
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
    w._list = this as unknown as WaitList<Waiter>;
    w._prev = this._tail;
    if (this._tail !== null) this._tail._next = w;
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
    if (w._list !== (this as unknown as WaitList<Waiter>)) return false;
    if (w._prev !== null) w._prev._next = w._next;
    else this._head = w._next as W | null;
    if (w._next !== null) w._next._prev = w._prev;
    else this._tail = w._prev as W | null;
    w._list = w._prev = w._next = null;
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
 * promise rejects with `ctx.err`, and `owner._grant()` lets the waiters behind it proceed if they
 * now can (a semaphore's big head waiter, a writer that held readers back). `label` names the wait
 * in core's `dump()`.
 *
 * @internal
 */
export function park<T>(list: WaitList<Waiter>, ctx: Context, data: unknown, owner: Grantor | null, label: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = new Parked(data, ctx, resolve as (value: never) => void, reject);
    list.push(w);
    w._sub = subscribe(ctx, (err) => {
      if (!list.remove(w)) return;
      reject(err);
      if (owner !== null) owner._grant();
    }, label);
  });
}
