import { type Context, background } from "@tether/core";
import { asContext, contextError, keep, toContext } from "@tether/core/internal";
import { checkWhole } from "./check.js";
import { ChannelIterator } from "./channel-iterator.js";
import { ChannelClosedError } from "./errors.js";
import { BLOCKED, CLOSED, DONE } from "./offer.js";
import { Ring } from "./ring.js";
import { Case, type RecvCaseResult, type SelectCase, type SendCaseResult } from "./select.js";
import { WaitList, type Waiter, park, parked, settle } from "./wait-list.js";

/**
 * The result of a receive from a closed, drained channel: a new object each time, as an async
 * generator's results are, so a caller may keep or change one without touching another's.
 */
function drained(): IteratorReturnResult<undefined> {
  return { value: undefined, done: true };
}

/**
 * The rejection of a call whose `ctx` is not a context. Out of line, as are the other rare
 * outcomes of `send` and `recv`: V8 inlines a bounded amount of code into each caller, and the
 * hot paths of an unbuffered exchange fill it.
 */
function badContext(ctx: unknown, fn: string): Promise<never> {
  return Promise.reject(contextError(ctx, fn, "ctx"));
}

/** The rejection of a send on a closed channel. */
function sendClosed(value: unknown): Promise<never> {
  return Promise.reject(new ChannelClosedError("Channel.send: the channel is closed", value));
}

/** A send that completed at once; a settled promise can be shared by every caller. */
const SENT: Promise<void> = Promise.resolve();

/** What a queued receive or send is, as `dump()` shows it. */
const recvLabel = (): string => "Channel.recv";
const sendLabel = (): string => "Channel.send";

/**
 * Channel is Go's channel for TypeScript: a typed FIFO that hands values from senders to receivers,
 * with every blocking operation cancellable through a context.
 *
 * - `new Channel<T>()` (capacity 0) is unbuffered: a send completes only once a receiver has the
 *   value — a rendezvous. With a capacity, up to that many values wait in a buffer and a send
 *   blocks only when it is full.
 * - Values arrive in the order they were sent, each exactly once. Blocked receivers and senders
 *   are served first come, first served.
 * - A send whose context is cancelled has either delivered its value (it resolved) or not (it
 *   rejected with `ctx.err`), never both; a receive likewise either got a value or rejected.
 * - `close()` works as in Go: receivers drain what is buffered, then get `{ done: true }`; blocked
 *   and later senders reject with {@link ChannelClosedError}, which carries the unsent value.
 * - `for await (const v of ch)` receives until the channel is closed and drained; `ch.values(ctx)`
 *   does the same and stops with `ctx.err` on cancellation.
 * - `recvCase` and `sendCase` make the cases of {@link select}.
 *
 * @example Producer and consumer
 * ```ts
 * import { background } from "@tether/core";
 * import { Channel } from "@tether/sync";
 * const ch = new Channel<number>(2);
 * const producer = (async () => {
 *   for (let i = 1; i <= 3; i++) await ch.send(background(), i);
 *   ch.close();
 * })();
 * const got: number[] = [];
 * for await (const v of ch) got.push(v);
 * await producer;
 * console.assert(got.join() === "1,2,3");
 * ```
 */
export class Channel<in out T> implements AsyncIterable<T> {
  /** @internal The capacity; behind a getter so that no assignment can change it. */
  readonly _cap: number;
  /** @internal The buffer; null when unbuffered. Never non-empty while receivers wait. */
  readonly _buf: Ring<T> | null;
  /** @internal Receivers waiting: only while the buffer is empty and no sender waits. */
  readonly _recvq: WaitList<Waiter> = new WaitList(recvLabel);
  /** @internal Senders waiting, each with its value: only while the buffer is full. */
  readonly _sendq: WaitList<Waiter> = new WaitList(sendLabel);
  /** @internal Set once by close(). */
  _closed = false;

  /**
   * Makes an open channel of the given buffer capacity (default 0, unbuffered).
   *
   * @throws TypeError when `capacity` is not a number; RangeError when it is not a whole number ≥ 0.
   */
  constructor(capacity = 0) {
    this._cap = checkWhole(capacity, 0, "Channel", "capacity");
    this._buf = capacity > 0 ? new Ring<T>() : null;
  }

  /** How many values the buffer holds; 0 for an unbuffered (rendezvous) channel. */
  get capacity(): number {
    return this._cap;
  }

  /** The number of values buffered right now, always 0 for an unbuffered channel. */
  get length(): number {
    return this._buf === null ? 0 : this._buf.length;
  }

  /** Whether `close()` has been called. A closed channel may still hold buffered values. */
  get closed(): boolean {
    return this._closed;
  }

  /** How many receives and sends (select cases included) are queued, waiting. */
  get waiting(): number {
    return this._recvq.size + this._sendq.size;
  }

  /**
   * send delivers `value`: straight to the receiver that has waited longest, else into the buffer,
   * else it waits its turn for one of those. It resolves once the value is delivered (unbuffered)
   * or buffered. It rejects with `ctx.err` if `ctx` is cancelled first (at once if it already is),
   * and with a {@link ChannelClosedError} carrying `value` if the channel is or gets closed.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Channel } from "@tether/sync";
   * const ch = new Channel<string>(1);
   * await ch.send(background(), "hello");
   * console.assert(ch.length === 1);
   * ```
   */
  send(ctx: Context, value: T): Promise<void> {
    const c = toContext(ctx);
    if (c === null) return badContext(ctx, "Channel.send");
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    const r = this._offer(value);
    if (r === DONE) return SENT;
    if (r === CLOSED) return sendClosed(value);
    return park(this._sendq, c, value);
  }

  /**
   * recv resolves with `{ value, done: false }` for the next value, taken from the buffer or the
   * sender that has waited longest, or with `{ value: undefined, done: true }` once the channel is
   * closed and drained. It waits while there is nothing to take, and rejects with `ctx.err` if `ctx`
   * is cancelled first (at once if it already is). It has the shape of an iterator's `next()`.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Channel } from "@tether/sync";
   * const ch = new Channel<number>(1);
   * ch.trySend(7);
   * ch.close();
   * console.assert((await ch.recv(background())).value === 7);
   * console.assert((await ch.recv(background())).done === true);
   * ```
   */
  recv(ctx: Context): Promise<IteratorResult<T, undefined>> {
    const c = toContext(ctx);
    if (c === null) return badContext(ctx, "Channel.recv");
    return this._recv(c, null);
  }

  /**
   * @internal `recv` under `c`, a context already checked. A receive that has to wait is listed in
   * `mine` too, when given: an iterator's record of its own waits, which it withdraws on `return()`.
   */
  _recv(c: Context, mine: Waiter[] | null): Promise<IteratorResult<T, undefined>> {
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    const r = this._take();
    if (r !== undefined) return Promise.resolve(r);
    if (mine === null) return park(this._recvq, c, undefined);
    return this._recvListed(c, mine);
  }

  /** @internal The rest of {@link Channel._recv} for a receive that waits and is listed in `mine`. */
  _recvListed(c: Context, mine: Waiter[]): Promise<IteratorResult<T, undefined>> {
    const w = parked(c, undefined);
    const p = settle<IteratorResult<T, undefined>>(this._recvq, w, c);
    // Not listed when subscribing to the context failed: the promise has rejected.
    if (w._wlist !== null) mine.push(w);
    return p;
  }

  /**
   * trySend delivers `value` if that can be done without waiting (a receiver waits, or the buffer
   * has room) and reports whether it did. On a closed channel it throws a
   * {@link ChannelClosedError} carrying `value`.
   *
   * @example
   * ```ts
   * import { Channel } from "@tether/sync";
   * const ch = new Channel<number>(1);
   * console.assert(ch.trySend(1) === true);
   * console.assert(ch.trySend(2) === false);
   * ```
   */
  trySend(value: T): boolean {
    const r = this._offer(value);
    if (r === CLOSED) throw new ChannelClosedError("Channel.trySend: the channel is closed", value);
    return r === DONE;
  }

  /**
   * tryRecv takes the next value if one is ready, as `{ value, done: false }`; returns
   * `{ value: undefined, done: true }` when the channel is closed and drained, and `undefined`
   * when a receive would have to wait.
   *
   * @example
   * ```ts
   * import { Channel } from "@tether/sync";
   * const ch = new Channel<number>(1);
   * console.assert(ch.tryRecv() === undefined);
   * ch.trySend(5);
   * console.assert(ch.tryRecv()?.value === 5);
   * ```
   */
  tryRecv(): IteratorResult<T, undefined> | undefined {
    return this._take();
  }

  /**
   * close marks the channel closed: blocked receivers get `{ done: true }` at once (the buffer is
   * empty whenever one waits), blocked senders reject with a {@link ChannelClosedError} carrying
   * their value, and later receivers drain the buffer, then get `{ done: true }`. Closing a closed
   * channel throws a {@link ChannelClosedError} and changes nothing.
   *
   * @example
   * ```ts
   * import { Channel } from "@tether/sync";
   * const ch = new Channel<number>();
   * ch.close();
   * console.assert(ch.closed && ch.tryRecv()?.done === true);
   * ```
   */
  close(): void {
    if (this._closed) throw new ChannelClosedError("Channel.close: the channel is already closed");
    this._closed = true;
    // Shift one at a time: a select woken here withdraws its other cases, maybe from these lists.
    for (let w = this._recvq.shift(); w !== null; w = this._recvq.shift()) w._done(drained());
    for (let w = this._sendq.shift(); w !== null; w = this._sendq.shift()) {
      w._fail(new ChannelClosedError("Channel.send: the channel was closed while the send waited", w._data));
    }
  }

  /**
   * values returns an async iterator over the values received under `ctx`: it ends when the
   * channel is closed and drained, and throws `ctx.err` if `ctx` is cancelled while it waits.
   * Leaving a `for await` loop early leaves nothing queued on the channel; so does `return()`,
   * `throw(err)` or `await using it = ch.values(ctx)` on an iterator driven by hand.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Channel } from "@tether/sync";
   * const ch = new Channel<string>(2);
   * ch.trySend("a");
   * ch.trySend("b");
   * ch.close();
   * const seen: string[] = [];
   * for await (const v of ch.values(background())) seen.push(v);
   * console.assert(seen.join() === "a,b");
   * ```
   */
  values(ctx: Context): AsyncIterableIterator<T> & AsyncDisposable {
    return new ChannelIterator(this, asContext(ctx, "Channel.values", "ctx"));
  }

  /** Iterates with `background()`: `for await` ends only when the channel is closed and drained. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> & AsyncDisposable {
    return new ChannelIterator(this, background());
  }

  /**
   * recvCase makes a receive case for {@link select}. With `fn`, a select that picks this case
   * resolves with `fn(result)`, `result` being what `recv` would have given; without it, with
   * `{ index, value, done }`.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Channel, select } from "@tether/sync";
   * const ch = new Channel<number>(1);
   * ch.trySend(3);
   * const doubled = await select(background(), [ch.recvCase((r) => (r.done ? 0 : r.value * 2))]);
   * console.assert(doubled === 6);
   * ```
   */
  recvCase(): SelectCase<RecvCaseResult<T>>;
  recvCase<R>(fn: (result: IteratorResult<T, undefined>) => R): SelectCase<R>;
  recvCase(fn?: (result: IteratorResult<T, undefined>) => unknown): SelectCase<unknown> {
    return new Case(this as Channel<unknown>, false, undefined, fn, "Channel.recvCase") as unknown as SelectCase<unknown>;
  }

  /**
   * sendCase makes a send case for {@link select} that offers `value`. With `fn`, a select that
   * picks this case resolves with `fn()`; without it, with `{ index, value: undefined, done: false }`.
   * A select that picks a send case on a closed channel rejects with a {@link ChannelClosedError}.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { Channel, select } from "@tether/sync";
   * const ch = new Channel<string>(1);
   * const what = await select(background(), [ch.sendCase("job", () => "sent")], { default: () => "full" });
   * console.assert(what === "sent" && ch.length === 1);
   * ```
   */
  sendCase(value: T): SelectCase<SendCaseResult>;
  sendCase<R>(value: T, fn: () => R): SelectCase<R>;
  sendCase(value: T, fn?: () => unknown): SelectCase<unknown> {
    return new Case(this as Channel<unknown>, true, value, fn, "Channel.sendCase") as unknown as SelectCase<unknown>;
  }

  /** Describes the state for logs and debuggers, e.g. `Channel(2/8 buffered, 0 waiting)`. */
  toString(): string {
    const state = this._closed ? "closed, " : "";
    return `Channel(${state}${this.length}/${this.capacity} buffered, ${this.waiting} waiting)`;
  }

  /** @internal Whether a receive would complete now (with a value, or `done` once closed). */
  _canRecv(): boolean {
    return (this._buf !== null && this._buf.length > 0) || this._sendq.head !== null || this._closed;
  }

  /** @internal Whether a send would complete now (or fail because the channel is closed). */
  _canSend(): boolean {
    return this._closed || this._recvq.head !== null || (this._buf !== null && this._buf.length < this._cap);
  }

  /** @internal Delivers or buffers `v` if possible without waiting. */
  _offer(v: T): number {
    if (this._closed) return CLOSED;
    const r = this._recvq.shift();
    if (r !== null) {
      r._done({ value: v, done: false });
      return DONE;
    }
    // Looking for a receiver asks the waiting ones whether their contexts are cancelled, and a
    // foreign context answers with code of its own, which may have closed the channel.
    if (this._closed) return CLOSED;
    const b = this._buf;
    return b === null ? BLOCKED : this._offerBuffered(b, v);
  }

  /** @internal The rest of {@link Channel._offer} on a buffered channel; out of line, as `_takeBuffered` is. */
  _offerBuffered(b: Ring<T>, v: T): number {
    if (b.length < this._cap) {
      b.push(v);
      return DONE;
    }
    return BLOCKED;
  }

  /** @internal Takes the next value if one is ready; `{ done: true }` when closed and empty; else undefined. */
  _take(): IteratorResult<T, undefined> | undefined {
    const b = this._buf;
    // The buffered case is out of line, so that an unbuffered channel's hot paths stay small
    // enough for V8 to inline whole into their callers.
    if (b !== null && b.length > 0) return this._takeBuffered(b);
    const s = this._sendq.shift();
    if (s !== null) {
      s._done(undefined);
      return { value: s._data as T, done: false };
    }
    return this._closed ? drained() : undefined;
  }

  /** @internal {@link Channel._take} from a buffer that holds values. */
  _takeBuffered(b: Ring<T>): IteratorResult<T, undefined> | undefined {
    // The buffer is full if a sender waits: its value takes the slot this receive frees, behind
    // the buffered ones. It is found before the buffer is touched, since finding it may run a
    // waiting sender's foreign context's code, which may operate this channel: a `trySend` there
    // finds the buffer still full rather than taking the slot ahead of the sender who waited.
    const s = this._sendq.shift();
    if (b.length > 0) {
      const value = b.shift() as T;
      if (s !== null) {
        b.push(s._data as T);
        s._done(undefined);
      }
      return { value, done: false };
    }
    // That code emptied the buffer: the sender's value is next.
    if (s !== null) {
      s._done(undefined);
      return { value: s._data as T, done: false };
    }
    return this._closed ? drained() : undefined;
  }
}

// One, with a buffer, kept so that V8 keeps the maps of a channel, its lists and its buffer across
// collections while no channel is alive (see core's keep.ts).
keep(new Channel<unknown>(1));
