import type { Context } from "@tether/core";
import type { Channel } from "./channel.js";

/**
 * The iterator of `ch.values(ctx)` and `for await (… of ch)`: each `next()` is a `recv(ctx)`, whose
 * result already has the iterator shape. `return()` (a loop left early) has nothing to withdraw,
 * since no receive is pending between two `next()` calls.
 *
 * @internal
 */
export class ChannelIterator<T> implements AsyncIterableIterator<T> {
  constructor(
    private readonly _ch: Channel<T>,
    private readonly _ctx: Context,
  ) {}

  next(): Promise<IteratorResult<T, undefined>> {
    return this._ch.recv(this._ctx);
  }

  return(): Promise<IteratorResult<T, undefined>> {
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
