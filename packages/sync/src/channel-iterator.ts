import type { Context } from "@tether/core";
import type { Channel } from "./channel.js";
import type { Waiter } from "./wait-list.js";

/** What every `next()` after `return()` gives, and `return()` itself. */
const ENDED: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * The iterator of `ch.values(ctx)` and `for await (… of ch)`: each `next()` is a `recv(ctx)`, whose
 * result already has the iterator shape. `return()` ends it, as it ends an async generator: later
 * `next()` calls give `{ done: true }`, and a receive still waiting (a `next()` called by hand and
 * not yet settled) is withdrawn from the channel and resolves `{ done: true }`, so the iterator
 * leaves nothing queued and takes no value that nobody will read.
 *
 * @internal
 */
export class ChannelIterator<T> implements AsyncIterableIterator<T> {
  /** The receive of the last `next()` while it waits in the channel's queue; null once it did not. */
  private _waiter: Waiter | null = null;
  private _ended = false;

  constructor(
    private readonly _ch: Channel<T>,
    private readonly _ctx: Context,
  ) {}

  next(): Promise<IteratorResult<T, undefined>> {
    if (this._ended) return Promise.resolve(ENDED);
    const q = this._ch._recvq;
    const tail = q._tail;
    const p = this._ch.recv(this._ctx);
    // A receive that waits is pushed at the tail of the queue; one that completed at once, or
    // rejected, pushed nothing.
    this._waiter = q._tail !== tail ? q._tail : null;
    return p;
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this._ended = true;
    const w = this._waiter;
    this._waiter = null;
    // Still queued: withdraw it and end its `next()`. Served already: its `next()` has the value.
    if (w !== null && this._ch._recvq.remove(w)) w._done(ENDED);
    return Promise.resolve(ENDED);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
