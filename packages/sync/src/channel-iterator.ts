import type { Context } from "@tether/core";
import type { Channel } from "./channel.js";
import type { Waiter } from "./wait-list.js";

/** What every `next()` after `return()` gives, and `return()` itself. */
function ended(): IteratorReturnResult<undefined> {
  return { value: undefined, done: true };
}

/**
 * The iterator of `ch.values(ctx)` and `for await (… of ch)`: each `next()` is a `recv(ctx)`, whose
 * result already has the iterator shape. `return()` ends it, as it ends an async generator: later
 * `next()` calls give `{ done: true }`, and every receive still waiting (`next()` called by hand,
 * perhaps several times, and not yet settled) is withdrawn from the channel and resolves
 * `{ done: true }`, so the iterator leaves nothing queued and takes no value nobody will read.
 *
 * @internal
 */
export class ChannelIterator<T> implements AsyncIterableIterator<T> {
  /**
   * The receives of `next()` calls that had to wait, while some may still be queued: a `for await`
   * loop has at most one; `next()` called by hand without awaiting may leave several.
   */
  private readonly _waiters: Waiter[] = [];
  private _ended = false;

  constructor(
    private readonly _ch: Channel<T>,
    private readonly _ctx: Context,
  ) {}

  next(): Promise<IteratorResult<T, undefined>> {
    if (this._ended) return Promise.resolve(ended());
    const ws = this._waiters;
    // Forget the receives that were served or withdrawn since, so the list stays as short as the
    // number still queued.
    let kept = 0;
    for (const w of ws) if (w._wlist !== null) ws[kept++] = w;
    ws.length = kept;
    return this._ch._recv(this._ctx, ws);
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this._ended = true;
    // Still queued: withdraw it and end its `next()`. Served already: its `next()` has the value.
    for (const w of this._waiters.splice(0)) if (this._ch._recvq.remove(w)) w._done(ended());
    return Promise.resolve(ended());
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
