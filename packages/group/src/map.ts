import { type Context } from "@tether/core";
import { asContext, asTask, describe, functionName, giveTurn, parentDeadline, turnDue } from "@tether/core/internal";
import { Group, checkLimit } from "./group.js";

/**
 * MapOptions are the options of {@link map}.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { map, type MapOptions } from "@tether/group";
 * const options: MapOptions = { limit: 2 };
 * console.assert((await map(background(), [1, 2, 3], (_ctx, x) => x * 2, options)).join() === "2,4,6");
 * ```
 */
export interface MapOptions {
  /** At most this many calls of `fn` run at once. Default: Infinity. */
  limit?: number | undefined;
}

/**
 * MapResult is what `fn` may return for one item: a value, a promise, or a generator task's body.
 *
 * @example
 * ```ts
 * import type { MapResult } from "@tether/group";
 * const direct: MapResult<number> = 1;
 * const later: MapResult<number> = Promise.resolve(2);
 * console.assert(direct === 1 && later instanceof Promise);
 * ```
 */
export type MapResult<R> = R | PromiseLike<R> | AsyncGenerator<unknown, R, unknown>;

/** An async generator's body to drive (not any async iterable: a stream is a value to return). */
function isAsyncGenerator(x: unknown): x is AsyncGenerator<unknown, unknown, unknown> {
  return (
    x !== null &&
    typeof x === "object" &&
    Symbol.asyncIterator in x &&
    typeof (x as AsyncGenerator).next === "function" &&
    typeof (x as AsyncGenerator).throw === "function" &&
    typeof (x as AsyncGenerator).return === "function"
  );
}

/**
 * map calls `fn(ctx, item, index)` for every item, at most `limit` at a time, and resolves with the
 * results in input order. `fn` may be a plain, async or async generator function. The first
 * failure cancels the calls still running, and is what map rejects with once every started call has
 * settled. On a cancelled context it rejects with `ctx.err` and calls nothing.
 *
 * Items are pulled from `items` as calls can start, never more than `limit` ahead of the calls that
 * finished, so a generator of a million items (or an endless one) is never held in memory at once
 * (the results are, until map settles: only a cancel or a failure ends an endless source). With no
 * limit every item is pulled, and started, at once, so an endless source needs a limit. Calls that
 * settle without waiting for anything still let timers and I/O run every few milliseconds, so a
 * deadline on `ctx` ends such a run on time.
 * Once map fails or its context is cancelled it pulls no more, and it closes the iterator
 * (`return()`, as `for … of` does when it stops early) before it settles, so a generator's `finally`
 * runs. An error thrown by the iterator, or a step that is not an object (a TypeError), fails map
 * as a call's error would, once the calls already started have settled; such an iterator is not
 * closed. An error thrown by `return()` while map is already failing is dropped, again as in
 * `for … of`, since map rejects with its first failure.
 *
 * @example Bounded fan-out
 * ```ts
 * import { background } from "@tether/core";
 * import { map } from "@tether/group";
 * const lengths = await map(background(), ["a", "bb", "ccc"], async (_ctx, s) => s.length, { limit: 2 });
 * console.assert(lengths.join() === "1,2,3");
 * ```
 *
 * @example An endless source, pulled only as calls finish
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * import { map } from "@tether/group";
 * function* naturals(): Generator<number> {
 *   for (let n = 0; ; n++) yield n;
 * }
 * const [ctx, cancel] = withCancel(background());
 * const seen: number[] = [];
 * const out = map(ctx, naturals(), (_ctx, n) => {
 *   seen.push(n);
 *   if (n === 9) cancel();
 *   return n;
 * }, { limit: 3 });
 * await out.catch(() => {});
 * console.assert(seen.length === 10);
 * ```
 */
export async function map<T, R>(
  ctx: Context,
  items: Iterable<T>,
  fn: (ctx: Context, item: T, index: number) => MapResult<R>,
  options: MapOptions = {},
): Promise<R[]> {
  const c = asContext(ctx, "map", "ctx");
  parentDeadline(c, "map", "ctx");
  if (items === null || typeof (items as Partial<Iterable<T>>)?.[Symbol.iterator] !== "function") {
    const isAsync = typeof (items as Partial<AsyncIterable<T>> | undefined)?.[Symbol.asyncIterator] === "function";
    const hint = isAsync ? " (an async iterable is not one: collect it into an array first, or start a Group task per item, waiting for a free slot before reading on, as the @tether/group README shows)" : "";
    throw new TypeError(`map: items must be iterable${hint}, received ${describe(items)}`);
  }
  asTask(fn, "map", "fn");
  if (options === null || typeof options !== "object") throw new TypeError(`map: options must be an object, received ${describe(options)}`);
  const limit = checkLimit(options.limit, "map");
  const err = c.err;
  if (err !== undefined) throw err;
  const it = items[Symbol.iterator]();
  const fnName = `map ${functionName(fn, "fn")}`;
  const results: R[] = [];
  // map keeps its own count of calls in flight, so the group needs no limit and no queue.
  const group = new Group(c);
  let next = 0;
  let exhausted = false;
  /**
   * Set when `fn` threw synchronously. The group learns of that failure a promise reaction later,
   * but no further item may be pulled, or called, after it: not even in the loop below.
   */
  let threw = false;

  /** Starts the call for the next item, if there is one and the group still lives. */
  const pull = (): void => {
    if (exhausted || threw) return;
    if (group.ctx.err !== undefined) {
      // Pull nothing more; a task handed to a cancelled group never starts, but the group counts
      // the cancellation as its error, so map cannot resolve with the unpulled items missing.
      group.go(idle);
      return;
    }
    let done: boolean;
    let item: T;
    try {
      // Read as `for … of` reads a step: an object, its `done` taken as truthy, `value` only if not done.
      const step: unknown = it.next();
      if (step === null || typeof step !== "object") {
        throw new TypeError(`map: the iterator's next() must return an object, received ${describe(step)}`);
      }
      done = Boolean((step as IteratorResult<T>).done);
      item = done ? (undefined as T) : (step as IteratorYieldResult<T>).value;
    } catch (thrown) {
      // An iterator that threw, or broke the protocol, is finished: it is not closed, as in `for … of`.
      exhausted = true;
      group.go(() => {
        throw thrown;
      });
      return;
    }
    if (done) {
      exhausted = true;
      return;
    }
    const i = next++;
    // Named for dump(): fn's own name and the item's index, not the anonymous closure's.
    group.go((gctx) => {
      let out: R | PromiseLike<R> | AsyncGenerator<unknown, R, unknown>;
      try {
        out = fn(gctx, item, i);
      } catch (thrown) {
        threw = true;
        throw thrown;
      }
      if (isAsyncGenerator(out)) {
        return (async function* () {
          results[i] = yield* out as AsyncGenerator<unknown, R, unknown>;
          if (turnDue()) await giveTurn();
          pull();
        })();
      }
      return Promise.resolve(out as R | PromiseLike<R>).then((v) => {
        results[i] = v;
        // Inside the call's own promise, so the group still counts it: wait() cannot see an
        // idle moment between this call and the next. Calls that settle without a real wait
        // start the next ones in promise reactions alone: every few milliseconds they let timers
        // and I/O run first, or an endless source would hold the thread (and its deadline) off.
        if (turnDue()) return giveTurn().then(pull);
        pull();
      });
    }, { name: `${fnName}[${i}]` });
  };

  for (let started = 0; started < limit && !exhausted && !threw && group.ctx.err === undefined; started++) pull();
  try {
    await group.wait();
  } finally {
    if (!exhausted) {
      exhausted = true;
      closeQuietly(it);
    }
  }
  return results;
}

/** A task for a cancelled group, which never runs it. */
function idle(): void {}

/**
 * Closes an iterator that map stopped pulling from because it failed. Its `return()` may throw; map
 * already rejects with its first failure, which an error from closing does not replace.
 */
function closeQuietly(it: Iterator<unknown>): void {
  try {
    it.return?.();
  } catch {
    // Dropped on purpose, as `for … of` drops it when its body threw: the first failure stands.
  }
}
