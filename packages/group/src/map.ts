import { type Context, type Task } from "@tether/core";
import { asContext, asFunction, describe } from "@tether/core/internal";
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
  limit?: number;
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
 * failure cancels the calls still running and those not started (which never start), and is what
 * map rejects with once every started call has settled. On a cancelled context it rejects with
 * `ctx.err` and calls nothing.
 *
 * @example Bounded fan-out
 * ```ts
 * import { background } from "@tether/core";
 * import { map } from "@tether/group";
 * const lengths = await map(background(), ["a", "bb", "ccc"], async (_ctx, s) => s.length, { limit: 2 });
 * console.assert(lengths.join() === "1,2,3");
 * ```
 */
export async function map<T, R>(
  ctx: Context,
  items: Iterable<T>,
  fn: (ctx: Context, item: T, index: number) => MapResult<R>,
  options: MapOptions = {},
): Promise<R[]> {
  const c = asContext(ctx, "map", "ctx");
  if (items === null || typeof (items as Partial<Iterable<T>>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(`map: items must be iterable, received ${describe(items)}`);
  }
  asFunction(fn, "map", "fn");
  if (options === null || typeof options !== "object") throw new TypeError(`map: options must be an object, received ${describe(options)}`);
  const limit = checkLimit(options.limit, "map");
  const err = c.err;
  if (err !== undefined) throw err;
  const list = Array.from(items);
  const results = new Array<R>(list.length);
  const group = new Group(c, { limit });
  list.forEach((item, i) => {
    const task: Task<void> = (gctx) => {
      const out = fn(gctx, item, i);
      if (isAsyncGenerator(out)) {
        return (async function* () {
          results[i] = yield* out as AsyncGenerator<unknown, R, unknown>;
        })();
      }
      return Promise.resolve(out as R | PromiseLike<R>).then((v) => {
        results[i] = v;
      });
    };
    group.go(task);
  });
  await group.wait();
  return results;
}
