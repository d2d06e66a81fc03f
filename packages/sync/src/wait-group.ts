import type { Context } from "@tether/core";
import { contextError, keep, toContext } from "@tether/core/internal";
import { checkWhole } from "./check.js";
import { ReleaseError } from "./errors.js";
import { WaitList, type Waiter, park } from "./wait-list.js";

/** A wait that completed at once; a settled promise can be shared by every caller. */
const ZERO: Promise<void> = Promise.resolve();

/** What a queued `wait` is, as `dump()` shows it. */
const waitLabel = (): string => "WaitGroup.wait";

/**
 * WaitGroup waits for a collection of jobs to finish, like Go's `sync.WaitGroup`: `add(n)` before
 * starting jobs, `done()` as each ends, and `wait(ctx)` resolves once the counter is back to zero.
 * Unlike Go's, the wait can be cancelled through its context. For running tasks with errors and
 * cancellation, `Group` from `@tether/group` is usually the better tool.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { WaitGroup } from "@tether/sync";
 * const wg = new WaitGroup();
 * let finished = 0;
 * for (let i = 0; i < 3; i++) {
 *   wg.add();
 *   void Promise.resolve().then(() => {
 *     finished++;
 *     wg.done();
 *   });
 * }
 * await wg.wait(background());
 * console.assert(finished === 3);
 * ```
 */
export class WaitGroup {
  /** @internal The counter; never negative. */
  _count = 0;
  /** @internal Waiters for the counter to reach zero; only while it is positive. */
  _q: WaitList<Waiter> = new WaitList(waitLabel);
  /** @internal Lists of waits being released (see `add`): queued still, until each is served. */
  readonly _releasing: WaitList<Waiter>[] = [];

  /** The counter: jobs added and not yet done. */
  get count(): number {
    return this._count;
  }

  /** How many `wait` calls are queued. */
  get waiting(): number {
    let n = this._q.size;
    for (const q of this._releasing) n += q.size;
    return n;
  }

  /**
   * add adds `n` (default 1, may be negative) to the counter. When it reaches zero every waiter
   * resolves. A change that would make it negative throws a {@link ReleaseError} and changes
   * nothing.
   *
   * @throws TypeError/RangeError when `n` is not a whole number; RangeError, changing nothing, when
   * the counter would pass `Number.MAX_SAFE_INTEGER`.
   *
   * @example
   * ```ts
   * import { WaitGroup } from "@tether/sync";
   * const wg = new WaitGroup();
   * wg.add(2);
   * wg.add(-2);
   * console.assert(wg.count === 0);
   * ```
   */
  add(n = 1): void {
    checkWhole(n, -Infinity, "WaitGroup.add", "n");
    const next = this._count + n;
    if (next < 0) {
      throw new ReleaseError(`WaitGroup.add: the counter would go negative: ${this._count} + ${n}`);
    }
    // Past 2^53 the sum would round, and the counter could never come back to exactly zero.
    if (!Number.isSafeInteger(next)) {
      throw new RangeError(`WaitGroup.add: the counter would pass Number.MAX_SAFE_INTEGER: ${this._count} + ${n}`);
    }
    this._count = next;
    if (next === 0 && this._q.size > 0) {
      // Exactly the waits queued now are released. Serving asks each one's context whether it is
      // cancelled, and a foreign context's code may add and wait anew meanwhile: such a wait joins
      // a fresh list, and waits for the counter to come back to zero. Not `renew()`: the old list
      // keeps its shared cancel subscription, which covers the waits still in it.
      const q = this._q;
      this._q = new WaitList(waitLabel);
      this._releasing.push(q);
      try {
        for (let w = q.shift(); w !== null; w = q.shift()) w._done(undefined);
      } finally {
        this._releasing.splice(this._releasing.indexOf(q), 1);
      }
    }
  }

  /**
   * done takes one from the counter. Calling it more often than jobs were added throws a
   * {@link ReleaseError} and changes nothing.
   *
   * @example
   * ```ts
   * import { WaitGroup } from "@tether/sync";
   * const wg = new WaitGroup();
   * wg.add();
   * wg.done();
   * console.assert(wg.count === 0);
   * ```
   */
  done(): void {
    if (this._count === 0) throw new ReleaseError("WaitGroup.done: the counter is already zero");
    this.add(-1);
  }

  /**
   * wait resolves once the counter is zero — at once if it is. It rejects with `ctx.err` if `ctx`
   * is cancelled first (at once if it already is), leaving the counter alone.
   *
   * @example
   * ```ts
   * import { background } from "@tether/core";
   * import { WaitGroup } from "@tether/sync";
   * const wg = new WaitGroup();
   * await wg.wait(background()); // the counter is zero: resolves at once
   * console.assert(wg.count === 0 && wg.waiting === 0);
   * ```
   */
  wait(ctx: Context): Promise<void> {
    const c = toContext(ctx);
    if (c === null) return Promise.reject(contextError(ctx, "WaitGroup.wait", "ctx"));
    const err = c.err;
    if (err !== undefined) return Promise.reject(err);
    if (this._count === 0) return ZERO;
    return park(this._q, c, undefined);
  }

  /** Describes the state for logs and debuggers, e.g. `WaitGroup(3 running, 1 waiting)`. */
  toString(): string {
    return `WaitGroup(${this._count} running, ${this.waiting} waiting)`;
  }
}

// One, kept so that V8 keeps its map across collections while no group is alive (see core's
// keep.ts).
keep(new WaitGroup());
