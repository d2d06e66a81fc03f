import { describe, expect, it } from "vitest";
import { Canceled, background, cause, sleep, withCancel, withCancelCause, type Context } from "@tether/core";
import { Group, map } from "@tether/group";
import { childCount } from "@tether/core/testing";

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lets every pending promise reaction run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * A source that records what was pulled from it and whether it was closed: endless, or of `count`
 * items where a test must not hang on a map that pulls them all at once.
 */
function source(count = Infinity): { items: Generator<number>; pulled: number[]; closed: () => boolean } {
  const pulled: number[] = [];
  let closed = false;
  function* gen(): Generator<number> {
    try {
      for (let n = 0; n < count; n++) {
        pulled.push(n);
        yield n;
      }
    } finally {
      closed = true;
    }
  }
  return { items: gen(), pulled, closed: () => closed };
}

describe("map() pulls its items lazily", () => {
  it("map() pulls no more than limit items ahead of the calls that finished", async () => {
    const src = source();
    const gates = new Map<number, ReturnType<typeof gate>>();
    const [ctx, cancel] = withCancel(background());
    const p = map(
      ctx,
      src.items,
      async (_ctx, n) => {
        const g = gate();
        gates.set(n, g);
        await g.promise;
        return n;
      },
      { limit: 3 },
    );
    expect(src.pulled).toEqual([0, 1, 2]);
    gates.get(1)?.open();
    await settle();
    expect(src.pulled).toEqual([0, 1, 2, 3]);
    gates.get(0)?.open();
    gates.get(3)?.open();
    await settle();
    expect(src.pulled).toEqual([0, 1, 2, 3, 4, 5]);
    cancel();
    for (const g of gates.values()) g.open();
    await expect(p).rejects.toBe(Canceled);
    expect(src.pulled).toEqual([0, 1, 2, 3, 4, 5]);
    expect(src.closed()).toBe(true);
  });

  it("map() over an endless source stops pulling and closes it before rejecting with the first failure", async () => {
    const src = source();
    const boom = new Error("boom");
    const log: string[] = [];
    const p = map(
      background(),
      src.items,
      async (ctx, n) => {
        if (n === 7) throw boom;
        await sleep(ctx, 0);
        return n;
      },
      { limit: 2 },
    );
    const outcome = await p.then(
      () => "resolved",
      (e: unknown) => {
        log.push(`closed: ${String(src.closed())}`);
        return e;
      },
    );
    expect(outcome).toBe(boom);
    expect(log).toEqual(["closed: true"]);
    expect(src.pulled.at(-1)).toBe(7);
  });

  it.each([
    ["no limit", undefined],
    ["a limit of 5", 5],
  ])("map() with %s calls fn on no later item once fn threw synchronously, and closes the source", async (_, limit) => {
    const src = source(1_000);
    const boom = new Error("boom");
    const called: number[] = [];
    const outcome = await map(
      background(),
      src.items,
      (_ctx, n) => {
        called.push(n);
        if (n === 2) throw boom;
        return n;
      },
      { limit },
    ).catch((e: unknown) => e);
    expect(outcome).toBe(boom);
    expect(called).toEqual([0, 1, 2]);
    expect(src.pulled).toEqual([0, 1, 2]);
    expect(src.closed()).toBe(true);
  });

  it("map() resolves in input order from a finite generator, which ends without being closed early", async () => {
    let closedEarly = false;
    function* three(): Generator<string> {
      let done = false;
      try {
        yield "a";
        yield "bb";
        yield "ccc";
        done = true;
      } finally {
        if (!done) closedEarly = true;
      }
    }
    const out = await map(background(), three(), async (ctx, s, i) => {
      await sleep(ctx, 3 - i);
      return s.length;
    }, { limit: 2 });
    expect(out).toEqual([1, 2, 3]);
    expect(closedEarly).toBe(false);
  });

  it("map() rejects with an error the iterator throws, after the calls it started settled, and does not close that iterator", async () => {
    const broken = new Error("source broke");
    let returnCalls = 0;
    let pulls = 0;
    const settled: string[] = [];
    const items: Iterable<number> = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<number> => {
          if (pulls === 2) throw broken;
          return { value: pulls++, done: false };
        },
        return: (): IteratorResult<number> => {
          returnCalls++;
          return { value: undefined, done: true };
        },
      }),
    };
    const p = map(background(), items, async (ctx, n) => {
      try {
        await sleep(ctx, 1_000);
        return n;
      } catch (e) {
        settled.push(`${n}: ${e === Canceled ? "cancelled" : String(e)}`);
        throw e;
      }
    });
    await expect(p).rejects.toBe(broken);
    expect(settled.sort()).toEqual(["0: cancelled", "1: cancelled"]);
    expect(returnCalls).toBe(0);
  });

  it("map() rejects with its first failure when closing the source throws too", async () => {
    const boom = new Error("boom");
    let closeCalls = 0;
    const items: Iterable<number> = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<number> => ({ value: 1, done: false }),
        return: (): IteratorResult<number> => {
          closeCalls++;
          throw new Error("close failed");
        },
      }),
    };
    await expect(
      map(background(), items, () => {
        throw boom;
      }, { limit: 1 }),
    ).rejects.toBe(boom);
    expect(closeCalls).toBe(1);
  });

  it("map() on a context cancelled by a call stops at that call, pulling nothing after it", async () => {
    const src = source();
    const [ctx, cancel] = withCancel(background());
    const seen: number[] = [];
    const p = map(
      ctx,
      src.items,
      (_ctx, n) => {
        seen.push(n);
        if (n === 4) cancel();
        return n;
      },
      { limit: 1 },
    );
    await expect(p).rejects.toBe(Canceled);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(src.pulled).toEqual([0, 1, 2, 3, 4]);
    expect(src.closed()).toBe(true);
  });
});

describe("map() reads its iterator as for … of does", () => {
  /** An iterator whose first step is item 0 and whose second step is `second`. */
  function twoSteps(second: unknown): { items: Iterable<number>; returns: () => number } {
    let n = 0;
    let returns = 0;
    const items: Iterable<number> = {
      [Symbol.iterator]: () => ({
        next: () => (n++ === 0 ? { value: 0, done: false } : second) as IteratorResult<number>,
        return: (): IteratorResult<number> => {
          returns++;
          return { value: undefined, done: true };
        },
      }),
    };
    return { items, returns: () => returns };
  }

  it("map() rejects with a TypeError when next() returns a primitive, and stops pulling", async () => {
    const src = twoSteps(42);
    let calls = 0;
    const p = map(background(), src.items, async (_ctx, x) => {
      calls++;
      return x;
    }, { limit: 1 });
    await expect(p).rejects.toThrow(/map: the iterator's next\(\) must return an object, received 42/);
    expect(calls).toBe(1);
    expect(src.returns()).toBe(0);
  });

  it("map() whose next() returns undefined while filling its limit waits for, and cancels, the call it started", async () => {
    const src = twoSteps(undefined);
    const log: string[] = [];
    const p = map(background(), src.items, async (ctx, x) => {
      try {
        await sleep(ctx, 1_000);
      } catch (e) {
        log.push(`call ${x}: ${e === Canceled ? "cancelled" : String(e)}`);
        throw e;
      }
      return x;
    }, { limit: 2 });
    await expect(p).rejects.toBeInstanceOf(TypeError);
    expect(log).toEqual(["call 0: cancelled"]);
    expect(src.returns()).toBe(0);
  });

  it("map() takes any truthy done as the end of its items", async () => {
    const src = twoSteps({ value: 99, done: 1 });
    expect(await map(background(), src.items, (_ctx, x) => x + 1, { limit: 1 })).toEqual([1]);
    expect(src.returns()).toBe(0);
  });
});

describe("options forwarded from optional parameters", () => {
  it("map() and Group take options whose fields may be undefined, meaning the default", async () => {
    const crawl = (ctx: Context, urls: string[], limit?: number): Promise<number[]> =>
      map(ctx, urls, async (_c, u) => u.length, { limit });
    expect(await crawl(background(), ["a", "bb"])).toEqual([1, 2]);
    const settings: { limit?: number; failFast?: boolean; name?: string } = {};
    const g = new Group(background(), { limit: settings.limit, failFast: settings.failFast, name: settings.name });
    g.go(async () => undefined, { name: settings.name });
    await g.wait();
    expect(g.errors).toEqual([]);
  });
});

describe("map() and a function whose name is odd", () => {
  it("map() runs a function whose name getter throws or is a Symbol, and leaves nothing linked", async () => {
    const [ctx, cancel] = withCancel(background());
    const throwing = Object.defineProperty(async (_c: Context, x: number) => x * 2, "name", {
      get(): never {
        throw new Error("name getter threw");
      },
    });
    const symbolic = Object.defineProperty(async (_c: Context, x: number) => x + 1, "name", { value: Symbol("odd") });
    expect(await map(ctx, [1, 2], throwing)).toEqual([2, 4]);
    expect(await map(ctx, [1, 2], symbolic)).toEqual([2, 3]);
    expect(childCount(ctx)).toBe(0);
    cancel();
  });
});

describe("map() and a function* fn", () => {
  it("map() rejects a function* fn with a TypeError that says to write async function*, calling it for no item", async () => {
    let ran = 0;
    const fn = function* (_c: Context, x: number): Generator<undefined, number> {
      ran++;
      yield;
      return x;
    };
    await expect(map(background(), [1, 2], fn as never)).rejects.toThrow(/^map: fn must be a plain, async or async generator function, but it is a function\*.*`async function\*`$/);
    expect(ran).toBe(0);
  });
});

describe("map() over an endless source whose calls settle at once", () => {
  function* naturals(): Generator<number> {
    for (let n = 0; ; n++) yield n;
  }
  const calls: Array<[string, (n: number) => unknown]> = [
    ["a plain function", (n) => n],
    ["an async function", async (n) => n],
    ["an async generator function that never yields", async function* (n) {
      return n;
    }],
  ];

  it.each(calls)("lets a due timer run, and its cancel stop map, when fn is %s", async (_, call) => {
    const [ctx, cancel] = withCancelCause(background());
    const timerRan = new Error("the timer ran");
    setTimeout(() => cancel(timerRan), 0);
    // Bounded, so that a map that never lets the timer run fails here instead of holding the
    // thread for good: far more calls than a few milliseconds hold.
    let n = 0;
    const out = map(ctx, naturals(), (_ctx, item) => {
      if (++n === 2_000_000) cancel(new Error("the bound was reached"));
      return call(item) as never;
    }, { limit: 4 });
    await expect(out).rejects.toBe(Canceled);
    expect(cause(ctx)).toBe(timerRan);
  });
});
