import { background, withCancel, type Context } from "@tether/core";
import { liveCounts, type LiveCounts } from "@tether/core/testing";

// Shared pieces of the sync package's model-based tests (semaphore.model.test.ts,
// channel.model.test.ts): a cheap comparison, a microtask flush, and a tree of cancellable
// contexts that keeps its own reference model of which contexts are cancelled.

/**
 * A plain identity check: vitest's expect is too slow for the millions of comparisons a run makes.
 * `where` is only called on a failure, so building the message costs nothing on the hot path.
 */
export function same(actual: unknown, expected: unknown, where: () => string): void {
  if (!Object.is(actual, expected)) throw new Error(`${where()}: expected ${show(expected)}, got ${show(actual)}`);
}

/** A short, readable rendering of a value for failure messages. */
export function show(v: unknown): string {
  if (v instanceof Error) return `${v.name}(${JSON.stringify(v.message)})`;
  if (typeof v === "symbol" || typeof v === "function") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Lets every settled promise's reactions run: a hand-over settles within a few turns. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve();
}

/** How many shared contexts a {@link Contexts} has. */
export const SHARED = 4;

/**
 * A tree of `withCancel` contexts under `background()` and its reference model: `cancelled[i]`
 * is what the model says `ctx[i].err` must be, computed without reading the real contexts. A child
 * always comes after its parent, so one forward pass marks a subtree.
 *
 * There are {@link SHARED} shared contexts — two roots, a child of the first and a grandchild —
 * so that one cancel can reach several waits at once, even while a cancel is under way below it.
 * A wait may also have a context of its own, a child of a shared one, which an operation names by
 * the id of the operation that made it: that keeps the meaning of an operation list stable when
 * the shrinker removes operations from it.
 */
export class Contexts {
  readonly ctx: Context[] = [];
  readonly parent: number[] = [];
  readonly cancelled: boolean[] = [];
  private readonly _cancel: Array<() => void> = [];

  /** The contexts of their own that waits were given, by the id of the operation. */
  private readonly _own = new Map<number, number>();

  constructor() {
    this.add(-1);
    this.add(-1);
    this.add(0);
    this.add(2);
  }

  get length(): number {
    return this.ctx.length;
  }

  /** Derives a context under `parent` (-1: under background()) and returns its index. */
  private add(parent: number): number {
    const [ctx, cancel] = withCancel(parent < 0 ? background() : (this.ctx[parent] as Context));
    this.ctx.push(ctx);
    this._cancel.push(cancel);
    this.parent.push(parent);
    // Deriving from a cancelled parent gives a cancelled child.
    this.cancelled.push(parent >= 0 && (this.cancelled[parent] as boolean));
    return this.ctx.length - 1;
  }

  /**
   * The context for the wait of operation `id`: shared context `shared`, or with `own` a fresh
   * child of it that only this wait uses. Returns its index.
   */
  forWait(id: number, shared: number, own: boolean): number {
    const i = shared % SHARED;
    if (!own) return i;
    const c = this.add(i);
    this._own.set(id, c);
    return c;
  }

  /** The index of shared context `k`. */
  shared(k: number): number {
    return k % SHARED;
  }

  /** The index of the context of its own that operation `id` was given; undefined if none. */
  ownOf(id: number): number | undefined {
    return this._own.get(id);
  }

  /** Cancels the real context `t` and marks its subtree cancelled in the model. */
  cancel(t: number): void {
    (this._cancel[t] as () => void)();
    const inTree: boolean[] = [];
    for (let i = t; i < this.ctx.length; i++) {
      const p = this.parent[i] as number;
      if (i === t || (p >= 0 && inTree[p] === true)) {
        inTree[i] = true;
        this.cancelled[i] = true;
      }
    }
  }

  /** Cancels every context, as a test's cleanup must. */
  cancelAll(): void {
    for (let i = 0; i < this.ctx.length; i++) {
      (this._cancel[i] as () => void)();
      this.cancelled[i] = true;
    }
  }
}

/**
 * Throws unless every live counter of Tether (waiters, timers, cancel nodes, tasks…) is back where
 * it was at `before`, a `liveCounts()` taken when the seed started: zero in a passing run. Counting
 * from the seed's own start keeps a leak of one failing run (made while the model is shrinking a
 * list) from failing every later run, which would shrink any list to nothing.
 */
export function assertNothingLive(before: LiveCounts, where: () => string): void {
  const now = liveCounts();
  for (const k of Object.keys(now) as Array<keyof LiveCounts>) {
    same(now[k] - before[k], 0, () => `${where()}: liveCounts().${k} grew by`);
  }
}
