import { describe, expect, it, vi } from "vitest";
import { Canceled, type Context, DeadlineExceeded, background, sleep, until, withCancel, withCancelCause, withTimeout } from "@tether/core";
import { map, race, run } from "@tether/group";

describe("race()", () => {
  it("race() resolves with the first to fulfil after the losers were cancelled and their finally ran", async () => {
    const log: string[] = [];
    const loser = (name: string) =>
      async function* () {
        try {
          yield* until(new Promise(() => {}));
        } finally {
          await sleep(background(), 1);
          log.push(`${name} cleaned up`);
        }
      };
    const out = await race(background(), loser("a"), async () => "winner", loser("b"));
    log.push("race settled");
    expect(out).toBe("winner");
    expect(log).toHaveLength(3);
    expect(log.slice(0, 2).sort()).toEqual(["a cleaned up", "b cleaned up"]);
    expect(log[2]).toBe("race settled");
  });

  it("race() calls every task even when an earlier one wins synchronously, then cancels the rest", async () => {
    const seen: Array<[string, boolean]> = [];
    const loser = async (ctx: Context): Promise<string> => {
      seen.push(["called", ctx.err === undefined]);
      await sleep(ctx, 60_000).catch(() => undefined);
      seen.push(["cancelled", ctx.err !== undefined]);
      return "loser";
    };
    await expect(race(background(), () => "cached", loser)).resolves.toBe("cached");
    expect(seen).toEqual([
      ["called", true],
      ["cancelled", true],
    ]);
  });

  it("race() drops a loser that throws synchronously after a synchronous win, an attempt that lost", async () => {
    const out = race(
      background(),
      () => "cached",
      () => {
        throw new Error("replica refused");
      },
    );
    await expect(out).resolves.toBe("cached");
  });

  it("race() cancels the losers at once when the last task wins synchronously", async () => {
    let loserCtx: Context | undefined;
    const out = race(
      background(),
      (ctx) => {
        loserCtx = ctx;
        return sleep(ctx, 60_000);
      },
      () => "cached",
    );
    expect(loserCtx?.err).toBe(Canceled);
    await expect(out).resolves.toBe("cached");
  });

  it("race() drops a generator loser, started before a synchronous win by the last task, that failed on its own at once", async () => {
    const own = new Error("replica refused");
    const out = race(
      background(),
      async function* (ctx): AsyncGenerator<undefined, string> {
        if (ctx.err === undefined) throw own;
        return "unreachable";
      },
      () => "cached",
    );
    await expect(out).resolves.toBe("cached");
  });

  it("race() drops a generator loser that fails on its own at once after a synchronous win", async () => {
    const out = race(
      background(),
      () => "cached",
      // Its body fails before its first yield, while race is still starting the tasks.
      async function* (): AsyncGenerator<undefined, string> {
        throw new Error("replica refused");
      },
    );
    await expect(out).resolves.toBe("cached");
  });

  it("race() ignores failures while another task can still win", async () => {
    const out = await race(
      background(),
      () => {
        throw new Error("fast failure");
      },
      async () => {
        await Promise.resolve();
        return 5;
      },
    );
    expect(out).toBe(5);
  });

  it("race() rejects with an AggregateError of every error, in task order, when all fail", async () => {
    const a = new Error("a");
    const b = new Error("b");
    const err = await race(
      background(),
      async () => {
        await Promise.resolve();
        throw a;
      },
      () => {
        throw b;
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors).toEqual([a, b]);
  });

  it("race() with no tasks rejects with an empty AggregateError, and on a cancelled context with ctx.err", async () => {
    await expect(race(background())).rejects.toBeInstanceOf(AggregateError);
    const [ctx, cancel] = withCancel(background());
    cancel();
    let called = false;
    await expect(race(ctx, () => (called = true))).rejects.toBe(Canceled);
    expect(called).toBe(false);
  });
});

describe("map()", () => {
  it("map() names its calls after fn and the index in dump()", async () => {
    const { dump } = await import("@tether/core/debug");
    const [ctx, cancel] = withCancel(background());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const mapped = map(ctx, ["a", "b"], async function fetchItem(_c: Context, item: string) {
      await gate;
      return item;
    });
    await new Promise((r) => setImmediate(r));
    const seen = dump(ctx);
    release();
    expect(await mapped).toEqual(["a", "b"]);
    expect(seen).toContain('task "map fetchItem[0]"');
    expect(seen).toContain('task "map fetchItem[1]"');
    cancel();
  });

  it("map() keeps input order whatever the finishing order", async () => {
    const out = await map(background(), [30, 10, 20], async (ctx, ms, i) => {
      await sleep(ctx, ms / 10);
      return `${i}:${ms}`;
    });
    expect(out).toEqual(["0:30", "1:10", "2:20"]);
  });

  it("map() respects its limit", async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = await map(
      background(),
      items,
      async (_ctx, x) => {
        running++;
        peak = Math.max(peak, running);
        await Promise.resolve();
        running--;
        return x * 2;
      },
      { limit: 4 },
    );
    expect(peak).toBe(4);
    expect(out).toEqual(items.map((x) => x * 2));
  });

  it("map() accepts generator functions and iterables", async () => {
    const out = await map(background(), new Set(["a", "b"]), async function* (_ctx, s) {
      yield;
      return s.toUpperCase();
    });
    expect(out).toEqual(["A", "B"]);
  });

  it("map() rejects with the first error and cancels the rest, which never start if queued", async () => {
    const started: number[] = [];
    const boom = new Error("boom");
    const cancelled: number[] = [];
    const p = map(
      background(),
      [0, 1, 2, 3, 4, 5],
      async (ctx, x) => {
        started.push(x);
        if (x === 1) throw boom;
        try {
          await sleep(ctx, 1_000);
        } catch (e) {
          if (e === Canceled) cancelled.push(x);
          throw e;
        }
      },
      { limit: 2 },
    );
    await expect(p).rejects.toBe(boom);
    expect(started).toEqual([0, 1]);
    expect(cancelled).toEqual([0]);
  });

  it("map() rejects bad arguments naming them", async () => {
    await expect(map(background(), 5 as never, () => 1)).rejects.toThrow(/map: items must be iterable, received 5/);
    const pages = (async function* () {
      yield 1;
    })();
    await expect(map(background(), pages as never, () => 1)).rejects.toThrow(
      /map: items must be iterable \(an async iterable is not one: .*\), received <AsyncGenerator>/,
    );
    await expect(map(background(), [], null as never)).rejects.toThrow(/map: fn must be a function, received null/);
    await expect(map(background(), [], () => 1, { limit: -1 })).rejects.toThrow(/map: limit must be a whole number/);
  });
});

describe("race() under a cancelled parent", () => {
  it("race() rejects with ctx.err when every task failed with Node's AbortError for the parent's cancel", async () => {
    const { setTimeout: delay } = await import("node:timers/promises");
    const [ctx, cancel] = withCancel(background());
    const wait = async (c: Context): Promise<number> => delay(60_000, 1, { signal: c.signal });
    const p = race(ctx, wait, wait);
    await new Promise((r) => setImmediate(r));
    cancel();
    await expect(p).rejects.toBe(Canceled);
  });

  it("race() rejects with ctx.err when every task stopped only because the parent was cancelled", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = race(
      ctx,
      (c) => sleep(c, 1_000),
      async function* () {
        yield* until(new Promise(() => {}));
      },
    );
    await new Promise((r) => setImmediate(r));
    cancel();
    await expect(p).rejects.toBe(Canceled);
  });
});

describe("race() and its losers' cleanup", () => {
  it("race() counts a loser that wraps its cancellation in an error of its own (cause) as cancelled, not failed", async () => {
    const wraps = async (ctx: Context): Promise<string> => {
      try {
        await sleep(ctx, 60_000);
        return "slept";
      } catch (e) {
        throw new Error("step failed", { cause: e });
      }
    };
    await expect(race(background(), async () => "win", wraps)).resolves.toBe("win");
  });

  // A task that gives up on its own 5 ms attempt timeout, under a caller's 50 ms deadline, and
  // reports it wrapped, after cleanup that ignores ctx: none, or long enough that its failure
  // arrives after the caller's deadline.
  it.each([0, 60])(
    "race() reports a task's own wrapped attempt timeout that began before ctx's deadline (cleanup %i ms)",
    async (cleanupMs) => {
      vi.useFakeTimers();
      const [ctx, cancel] = withTimeout(background(), 50);
      const ownAttempt = async (c: Context): Promise<string> => {
        const [attempt, stop] = withTimeout(c, 5);
        try {
          await sleep(attempt, 1_000);
          return "a";
        } catch (e) {
          if (cleanupMs > 0) await sleep(background(), cleanupMs);
          throw new Error("attempt timed out", { cause: e });
        } finally {
          stop();
        }
      };
      const raced = race(ctx, ownAttempt, async (c) => (await sleep(c, 1_000), "b")).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(50 + cleanupMs + 10);
      const got = await raced;
      cancel();
      expect(got).toBeInstanceOf(AggregateError);
      expect(((got as AggregateError).errors[0] as Error).message).toBe("attempt timed out");
      expect((got as AggregateError).errors[1]).toBe(DeadlineExceeded);
    },
  );

  it("race() under a parent cancelled with a null cause rejects with ctx.err when fetch-style tasks echo it", async () => {
    const fetchLike = (c: Context): Promise<string> =>
      new Promise((_, reject) => c.signal.addEventListener("abort", () => reject(c.signal.reason), { once: true }));
    const [ctx, cancel] = withCancelCause(background());
    const raced = race(ctx, fetchLike, fetchLike).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 1));
    cancel(null);
    expect(await raced).toBe(Canceled);
  });

  it("race() under a foreign context whose signal has no reason still reports a task's own failure", async () => {
    class PolyfillSignal extends EventTarget {
      aborted = false;
      abort(): void {
        this.aborted = true;
        this.dispatchEvent(new Event("abort"));
      }
    }
    const signal = new PolyfillSignal();
    const parent: Context = {
      deadline: undefined,
      get err() {
        return signal.aborted ? Canceled : undefined;
      },
      done: new Promise<void>(() => {}),
      signal: signal as unknown as AbortSignal,
      value: () => undefined,
    };
    const real = new Error("connection refused");
    const raced = race(parent, async () => Promise.reject(real), async (c) => (await sleep(c, 60_000), "slow")).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 1));
    signal.abort();
    const got = await raced;
    expect(got).toBeInstanceOf(AggregateError);
    expect((got as AggregateError).errors).toEqual([real, Canceled]);
  });

  it("race() settles when a loser rejects with something that cannot be inspected (a revoked Proxy)", async () => {
    const { proxy, revoke } = Proxy.revocable(new Error("odd"), {});
    revoke();
    const loser = async (c: Context): Promise<string> => {
      await sleep(c, 60_000).catch(() => {});
      throw proxy;
    };
    await expect(race(background(), async () => "win", loser)).rejects.toBe(proxy);
  });

  it("race() rejects with a loser's cleanup failure instead of losing it", async () => {
    const broken = new Error("could not close");
    const p = race(
      background(),
      async () => "winner",
      async function* () {
        try {
          yield* until(new Promise(() => {}));
        } finally {
          // eslint-disable-next-line no-unsafe-finally -- the failure under test
          throw broken;
        }
      },
    );
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { error?: unknown }).error).toBe(broken);
  });

  it("race() resolves with the winner when a loser had failed on its own before the win, reported after it", async () => {
    const own = new Error("primary returned 503");
    // Both settle before race looks: the win is reported first only because it was listed first.
    await expect(
      race(
        background(),
        async () => "replica",
        async () => {
          throw own;
        },
      ),
    ).resolves.toBe("replica");
    await expect(
      race(
        background(),
        () => "replica",
        () => {
          throw own;
        },
      ),
    ).resolves.toBe("replica");
  });

  it("race() resolves with the winner when a generator loser, given a value it had received before the win, then fails on its own", async () => {
    let ranOn = false;
    const out = await race(
      background(),
      async () => "primary",
      async function* () {
        const body: string = yield* until(Promise.resolve("<html>oops"));
        ranOn = true;
        return JSON.parse(body) as unknown;
      },
    );
    expect(out).toBe("primary");
    // The value reached the loser (nothing received is dropped); its JSON.parse failure is its own.
    expect(ranOn).toBe(true);
  });

  it("race() rejects with the cleanup failure of a generator loser that learned of the cancel in an await of its own", async () => {
    const broken = new Error("could not close");
    const loser = async function* (c: Context): AsyncGenerator<unknown, string, unknown> {
      try {
        await sleep(c, 60_000);
      } finally {
        // eslint-disable-next-line no-unsafe-finally -- the failure under test
        throw broken;
      }
      return "never";
    };
    await expect(race(background(), loser, async () => "winner")).rejects.toBe(broken);
  });

  it("race() rejects with a generator loser's cleanup failure that came before the win", async () => {
    const [ctx, cancel] = withCancelCause(background());
    const broken = new Error("could not close");
    const p = race(
      ctx,
      async function* () {
        try {
          yield* until(new Promise(() => {}));
        } finally {
          // eslint-disable-next-line no-unsafe-finally -- the failure under test
          throw broken;
        }
      },
      async (c: Context) => {
        // Turns the cancellation into a fallback, after the other task's cleanup has failed.
        await sleep(c, 60_000).catch(() => undefined);
        await new Promise((r) => setImmediate(r));
        return "fallback";
      },
    );
    await new Promise((r) => setImmediate(r));
    cancel(new Error("caller gave up"));
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { error?: unknown }).error).toBe(broken);
  });

  it("race() still rejects with a loser's failure that came after the win's cancel without echoing it", async () => {
    const broken = new Error("could not close the connection");
    const loser = async (c: Context): Promise<string> => {
      await sleep(c, 60_000).catch(() => undefined);
      throw broken;
    };
    await expect(race(background(), loser, async () => "winner")).rejects.toBe(broken);
  });
});

describe("run() and race() with a task whose value cannot be inspected", () => {
  it("run() counts a task returning a promise whose then throws as failed, as if it threw, and awaits the siblings started", async () => {
    class Broken<T> extends Promise<T> {
      override then(): never {
        throw new Error("then threw");
      }
    }
    const log: string[] = [];
    const err = await run(
      background(),
      async (c: Context) => {
        try {
          await sleep(c, 60_000);
        } finally {
          await sleep(background(), 1);
          log.push("sibling finished");
        }
      },
      () => new Broken<number>((r) => r(1)),
    ).catch((e: unknown) => e);
    log.push("run settled");
    expect((err as Error).message).toBe("then threw");
    expect(log).toEqual(["sibling finished", "run settled"]);
  });

  const strict = (): object =>
    new Proxy(
      {},
      {
        get(_t, key) {
          throw new Error(`unknown config key ${String(key)}`);
        },
      },
    );

  it("run() counts the task as failed and settles only after its siblings finished", async () => {
    const log: string[] = [];
    const sibling = async (c: Context): Promise<void> => {
      try {
        await sleep(c, 60_000);
      } finally {
        await sleep(background(), 1);
        log.push("sibling finished");
      }
    };
    const err = await run(background(), sibling, strict).catch((e: unknown) => e);
    log.push("run settled");
    expect((err as Error).message).toBe("unknown config key then");
    expect(log).toEqual(["sibling finished", "run settled"]);
  });

  it("race() starts every task and lets a later one win when an earlier one's value cannot be inspected", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    await expect(race(background(), () => proxy, async () => "second")).resolves.toBe("second");
    await expect(race(background(), strict, async () => "second")).resolves.toBe("second");
  });
});
