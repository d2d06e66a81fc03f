import { Canceled, type Context } from "@tether/core";
import { Sub, asContext, asFunction, describe, subscribeWith, waitErr } from "@tether/core/internal";
import type { Channel } from "./channel.js";
import { ChannelClosedError } from "./errors.js";
import { DONE } from "./offer.js";
import { type Waiter, type WaitList, churn } from "./wait-list.js";

declare const caseResult: unique symbol;

/**
 * SelectCase is one receive or send for {@link select}, made by `ch.recvCase(fn?)` or
 * `ch.sendCase(value, fn?)`. `R` is what `select` resolves with when it picks this case. A case is
 * a plain description: making one does nothing to the channel, and it may be used in many selects.
 *
 * @example
 * ```ts
 * import { Channel, type SelectCase } from "@tether/sync";
 * const ch = new Channel<number>();
 * const c: SelectCase<string> = ch.recvCase((r) => (r.done ? "closed" : `got ${r.value}`));
 * console.assert(c !== undefined);
 * ```
 */
export interface SelectCase<R> {
  /**
   * Phantom field that carries `R`; it does not exist at run time. Required, so that only
   * `recvCase` and `sendCase` make a case, not any object.
   */
  readonly [caseResult]: R;
}

/**
 * RecvCaseResult is what {@link select} resolves with when it picks a receive case made without a
 * callback: the case's position in the list, and the receive's result.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { Channel, select, type RecvCaseResult } from "@tether/sync";
 * const ch = new Channel<number>(1);
 * ch.trySend(9);
 * const r: RecvCaseResult<number> = await select(background(), [ch.recvCase()]);
 * console.assert(r.index === 0 && r.value === 9 && !r.done);
 * ```
 */
export type RecvCaseResult<T> =
  | { index: number; value: T; done: false }
  | { index: number; value: undefined; done: true };

/**
 * SendCaseResult is what {@link select} resolves with when it picks a send case made without a
 * callback: the case's position in the list.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { Channel, select, type SendCaseResult } from "@tether/sync";
 * const ch = new Channel<number>(1);
 * const r: SendCaseResult = await select(background(), [ch.sendCase(1)]);
 * console.assert(r.index === 0);
 * ```
 */
export type SendCaseResult = { index: number; value: undefined; done: false };

/**
 * SelectOptions are the options of {@link select}.
 *
 * @example
 * ```ts
 * import type { SelectOptions } from "@tether/sync";
 * const poll: SelectOptions<"idle"> = { default: () => "idle" };
 * console.assert(poll.default?.() === "idle");
 * ```
 */
export interface SelectOptions<D> {
  /** Taken, and its result resolved with, when no case is ready at the call. Default: none, wait. */
  default?: (() => D) | undefined;
}

/**
 * A callback-less case's result with its `index` narrowed to the case's position `I`, so that
 * `if (r.index === 0 && !r.done) r.value` has the type of case 0's channel. Any other result is
 * left as it is.
 */
type AtIndex<R, I extends number> = R extends { index: number; value: infer V; done: infer D } ? { index: I; value: V; done: D } : R;

/** A tuple position (`"0"`, `"1"`, …) as a number literal; `number` for a list of unknown length. */
type Position<K> = K extends `${infer N extends number}` ? N : number;

/** The union of the results of a list of cases, each callback-less one tagged with its position. */
type ResultsOf<C extends readonly SelectCase<unknown>[]> = {
  [K in keyof C]: C[K] extends SelectCase<infer R> ? AtIndex<R, Position<K>> : never;
}[number];

/** @internal The run-time form of every SelectCase. */
export class Case {
  /**
   * Marks the cases this class made. `instanceof` would also accept a Proxy around one (its
   * prototype trap forwards), whose property reads then run the caller's code inside select's
   * sampling and queueing, where select relies on none running; a private field is not forwarded.
   */
  readonly #made = true;

  /** Whether `x` is a case made by `recvCase()` or `sendCase()`, without running any code of `x`'s. */
  static _is(x: unknown): x is Case {
    return typeof x === "object" && x !== null && #made in x;
  }

  constructor(
    readonly _ch: Channel<unknown>,
    readonly _send: boolean,
    readonly _value: unknown,
    readonly _fn: ((result: never) => unknown) | undefined,
    caller: string,
  ) {
    if (_fn !== undefined) asFunction(_fn, caller, "fn");
  }
}

/**
 * select waits for the first of several channel operations that can proceed and commits exactly
 * that one, like Go's `select`:
 *
 * - When some cases are ready at the call, one of them is chosen uniformly at random (so none
 *   starves) and committed at once; `default` is never taken while a case is ready.
 * - When none is, `default()` is taken if given; else select queues on every case's channel and
 *   the first to become ready wins. The others are withdrawn in the same step, so a select that
 *   lost, or was cancelled, leaves nothing queued and no value taken or delivered.
 * - It resolves with the chosen case's callback result (awaited), or `{ index, value, done }` for a
 *   case without one, typed with its position, so checking `index` narrows `value`. It rejects with `ctx.err` if `ctx` is cancelled before a case is committed
 *   (at once if it already is, even with cases ready); with a {@link ChannelClosedError} if it picks
 *   a send on a closed channel; and with whatever the chosen callback or `default` throws.
 *
 * The same channel may appear in several cases. An empty list without `default` waits until `ctx`
 * is cancelled, as `select {}` does in Go.
 *
 * @example Receive with a timeout
 * ```ts
 * import { background, withTimeout, errorIs, DeadlineExceeded } from "@tether/core";
 * import { Channel, select } from "@tether/sync";
 * const results = new Channel<string>();
 * const quit = new Channel<void>();
 * // The result comes in a second: later than we will wait.
 * const producer = setTimeout(() => results.trySend("late"), 1_000);
 * const [ctx, cancel] = withTimeout(background(), 5);
 * const outcome = await select(ctx, [results.recvCase((r) => r.value), quit.recvCase(() => "quit")]).catch(
 *   (err: unknown) => err,
 * );
 * cancel();
 * clearTimeout(producer);
 * console.assert(errorIs(outcome, DeadlineExceeded) && results.waiting === 0);
 * ```
 */
export function select<const C extends readonly SelectCase<unknown>[], D = never>(
  ctx: Context,
  cases: C,
  options?: SelectOptions<D>,
): Promise<Awaited<ResultsOf<C> | D>>;
export function select(ctx: Context, cases: readonly SelectCase<unknown>[], options?: SelectOptions<unknown>): Promise<unknown> {
  let c: Context;
  let queued: Case[];
  // A bad argument rejects, as every failure of a function that returns a promise does; so does a
  // chosen case's callback, or `default`, that throws.
  try {
    c = asContext(ctx, "select", "ctx");
    if (!Array.isArray(cases)) throw notCases(cases);
    // One pass checks each case and samples the ready ones, reading each element once. Reservoir
    // sampling: the k-th ready case replaces the choice with probability 1/k, which picks uniformly
    // among the ready ones in one pass, without collecting them.
    let chosen: Case | null = null;
    let at = -1;
    for (let i = 0, ready = 0; i < cases.length; i++) {
      const cs: unknown = cases[i];
      if (!Case._is(cs)) throw notACase(cs, i);
      if (isReady(cs) && Math.random() * ++ready < 1) {
        chosen = cs;
        at = i;
      }
    }
    const dflt = checkDefault(options);
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    // The caller's code may have run since the sampling (a getter on the array or the options, a
    // foreign context's `err`) and operated a channel: the chosen case is committed only if its
    // operation still happens, so select never reports a send or a receive that did not.
    if (chosen !== null && isReady(chosen)) {
      const r = attempt(chosen, at);
      if (r !== MISSED) return Promise.resolve(finish(chosen, at, r));
    }
    if (chosen === null && dflt !== undefined) return Promise.resolve(dflt());
    // It must wait, or its choice went stale. The cases are copied, as Go evaluates a select's
    // cases once: what is queued must be what is committed, though the caller may change its array
    // while the select waits. Copying reads the array again; once it has, no code of the caller's
    // runs until the cases are committed or queued, so they are sampled again, and a ready one is
    // committed rather than queued.
    queued = copyCases(cases);
    const late = c.err;
    if (late !== undefined) return Promise.reject(late);
    // A case found ready may still miss: asking a waiter's foreign context whether it is cancelled
    // can find that it now is, and the waiter that made the case ready leaves. Each miss removes
    // such a waiter, so this ends; the bound only stops a context whose code keeps queueing more.
    // A pass that finds none ready may also have run such code, which made a case it had already
    // passed ready. That code runs only as a list asks a waiter's context whether it is cancelled,
    // and in a pass that found no case ready every such question found the waiter gone or no
    // longer the head, which `churn` counts: select waits only after a pass that counted none.
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const before = churn.n;
      const i = sample(queued);
      if (i < 0) {
        if (churn.n === before) break;
        continue;
      }
      const cs = queued[i] as Case;
      const r = attempt(cs, i);
      if (r !== MISSED) return Promise.resolve(finish(cs, i, r));
    }
    if (dflt !== undefined) return Promise.resolve(dflt());
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<SelectWait>((resolve, reject) => wait(c, queued, new SelectWait(c, resolve, reject))).then((sel) =>
    finish(queued[sel._index] as Case, sel._index, sel._result),
  );
}

/** The index of a ready case, chosen uniformly among the ready ones, or -1 when none is ready. */
function sample(list: readonly Case[]): number {
  let chosen = -1;
  for (let i = 0, ready = 0; i < list.length; i++) {
    if (isReady(list[i] as Case) && Math.random() * ++ready < 1) chosen = i;
  }
  return chosen;
}


/** A copy of `cases`, each element read once and checked. */
function copyCases(cases: readonly unknown[]): Case[] {
  const n = cases.length;
  const list = new Array<Case>(n);
  for (let i = 0; i < n; i++) {
    const cs = cases[i];
    if (!Case._is(cs)) throw notACase(cs, i);
    list[i] = cs;
  }
  return list;
}

/** Whether a case's operation could complete now. */
function isReady(cs: Case): boolean {
  return cs._send ? cs._ch._canSend() : cs._ch._canRecv();
}

/** What {@link attempt} returns when the operation did not happen. */
const MISSED: unique symbol = Symbol("missed");

/** How many ready-looking cases select tries to commit before it queues instead. */
const MAX_TRIES = 1_024;

/**
 * Performs a case's operation if it happens now, and returns its result (a receive's, or undefined
 * for a send); MISSED if it did not, the waiter it counted on gone. A send on a closed channel
 * throws ChannelClosedError.
 */
function attempt(cs: Case, index: number): unknown {
  const ch = cs._ch;
  if (!cs._send) return ch._take() ?? MISSED;
  if (ch._closed) throw new ChannelClosedError(`select: cases[${index}] sends on a closed channel`, cs._value);
  return ch._offer(cs._value) === DONE ? undefined : MISSED;
}

/** What select resolves with for the committed case, given the operation's result. */
function finish(cs: Case, index: number, result: unknown): unknown {
  const fn = cs._fn as ((result?: unknown) => unknown) | undefined;
  if (cs._send) return fn !== undefined ? fn() : { index, value: undefined, done: false };
  if (fn !== undefined) return fn(result);
  const r = result as IteratorResult<unknown, undefined>;
  return { index, value: r.value, done: r.done };
}

/** The TypeError for `cases` that is not an array. */
function notCases(cases: unknown): TypeError {
  return new TypeError(`select: cases must be an array of cases made by recvCase() or sendCase(), received ${describe(cases)}`);
}

/** The TypeError for `cases[i]`, `cs`, that is not one of select's cases. */
function notACase(cs: unknown, i: number): TypeError {
  return new TypeError(`select: cases[${i}] must be a case made by recvCase() or sendCase(), received ${describe(cs)}`);
}

/** The `default` of select's options, if any, or a TypeError for options that are not an object. */
function checkDefault(options: unknown): (() => unknown) | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`select: options must be an object, received ${describe(options)}`);
  }
  const dflt = (options as SelectOptions<unknown>).default;
  if (dflt !== undefined) asFunction(dflt, "select", "options.default");
  return dflt;
}

/**
 * Queues one op per case and subscribes to the context; the first to fire wins. The ops are queued
 * first: subscribing to a foreign context runs its code (a `signal` getter, `addEventListener`),
 * which may operate these very channels, and an op queued by then is served rather than queued
 * beside what would have served it. If subscribing throws, a select still waiting ends, its ops
 * withdrawn, rejecting with what was thrown; one that an op ended meanwhile keeps its result.
 */
function wait(ctx: Context, cases: readonly Case[], sel: SelectWait): void {
  for (let i = 0; i < cases.length; i++) {
    const cs = cases[i] as Case;
    const op = new SelectOp(cs._value, sel, i);
    sel._ops.push(op);
    (cs._send ? cs._ch._sendq : cs._ch._recvq).push(op);
  }
  try {
    subscribeWith(ctx, sel);
  } catch (error) {
    if (!sel._settled) sel._end(null, error);
    return;
  }
  // Ended while it subscribed: `_end` withdrew a subscription that was not linked yet.
  if (sel._settled) sel.off();
}

/**
 * One select blocked on its cases. Settles once; its ops leave their lists in the same step. It is
 * its own cancel subscription: core calls `_fire` when the context is cancelled.
 */
class SelectWait extends Sub {
  readonly _ops: SelectOp[] = [];
  _settled = false;
  /** The committed case and its operation's result, set when an op fires. */
  _index = -1;
  _result: unknown = undefined;

  constructor(
    readonly _ctx: Context,
    private readonly _resolve: (sel: SelectWait) => void,
    private readonly _reject: (err: unknown) => void,
  ) {
    super(null, "select");
  }

  override _fire(err: Error): void {
    this._end(null, waitErr(this._ctx, err));
  }

  /**
   * Ends the select: withdraws every op still queued, then resolves with `fired`'s result (`err`
   * null), or rejects with `err`: an op's failure, or, with no op, whatever ended the wait (a
   * failed subscription may have thrown anything, null included).
   */
  _end(fired: SelectOp | null, err: unknown, result?: unknown): void {
    if (this._settled) return;
    this._settled = true;
    for (const op of this._ops) op._wlist?.remove(op);
    this.off();
    if (fired === null || err !== null) this._reject(err);
    else {
      this._index = (fired as SelectOp)._index;
      this._result = result;
      this._resolve(this);
    }
  }
}

/** A select's op on one channel; the channel completes or fails it like any other waiter. */
class SelectOp implements Waiter {
  _wprev: Waiter | null = null;
  _wnext: Waiter | null = null;
  _wlist: WaitList<Waiter> | null = null;
  // Never subscribed itself: its select is the subscription.
  readonly _sub = null;
  constructor(
    readonly _data: unknown,
    readonly _sel: SelectWait,
    readonly _index: number,
  ) {}
  _done(value: unknown): void {
    this._sel._end(this, null, value);
  }
  /** Only a close fails an op (a cancel ends the whole select): the error names the select's case. */
  _fail(err: Error): void {
    const named =
      err instanceof ChannelClosedError
        ? new ChannelClosedError(`select: cases[${this._index}] sends on a channel closed while the select waited`, this._data)
        : err;
    this._sel._end(this, named);
  }
  _gone(): boolean {
    let err: Error | undefined;
    try {
      err = this._sel._ctx.err;
    } catch (thrown) {
      // A foreign context that cannot say whether it is cancelled (a Proxy revoked while the
      // select waited) ends its select, as `goneIfCancelled` ends any other wait: with what it
      // threw if that is an Error, else Canceled, as core's abort listener does.
      this._sel._end(null, thrown instanceof Error ? thrown : Canceled);
      return true;
    }
    if (err === undefined) return false;
    this._sel._end(null, err);
    return true;
  }
}
