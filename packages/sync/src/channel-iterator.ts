import type { Context } from "@tether/core";
import type { Channel } from "./channel.js";
import type { Waiter } from "./wait-list.js";

/** What every `next()` after the iterator ended gives, and a receive it withdrew. */
function ended(): IteratorReturnResult<undefined> {
  return { value: undefined, done: true };
}

/**
 * The iterator of `ch.values(ctx)` and `for await (… of ch)`: each `next()` is a `recv(ctx)`, whose
 * result already has the iterator shape. `return(value)` and `throw(err)` end it, as they end an
 * async generator suspended at a `yield`: `return` resolves `{ value, done: true }`, `throw`
 * rejects with `err`, and later `next()` calls give `{ done: true }`. Every receive still waiting
 * (`next()` called by hand, perhaps several times, and not yet settled) is withdrawn from the
 * channel and resolves `{ done: true }`, so the iterator leaves nothing queued and takes no value
 * nobody will read. `await using it = ch.values(ctx)` ends it the same way.
 *
 * @internal
 */
export class ChannelIterator<T> implements AsyncIterableIterator<T>, AsyncDisposable {
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

  /**
   * Ends the iteration and resolves `{ value, done: true }`, awaiting `value` as an async generator
   * does; a `for await` loop left by `break` calls it with nothing.
   */
  return<R = undefined>(value?: R | PromiseLike<R>): Promise<IteratorReturnResult<R>> {
    this._end();
    return Promise.resolve(value).then((v) => ({ value: v as R, done: true }));
  }

  /**
   * Ends the iteration and rejects with `err`, so an error thrown into a `yield*` that delegates to
   * this iterator reaches the code around it, as it would through an async generator.
   */
  throw(err?: unknown): Promise<never> {
    this._end();
    return Promise.reject(err);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this._end();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private _end(): void {
    this._ended = true;
    // Still queued: withdraw it and end its `next()`. Served already: its `next()` has the value.
    for (const w of this._waiters.splice(0)) if (this._ch._recvq.remove(w)) w._done(ended());
  }
}
