import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { Canceled, background, cause, errorIs, sleep, withCancel, withCancelCause, withSignal, type Context } from "@tether/core";
import { Group, map, race, run } from "@tether/group";
import { adapter } from "../../../test/adapter.js";

/** A foreign context (not Tether's) that answers as `ctx` does, but lends `signal` as its own. */
function foreignOver(ctx: Context, signal: AbortSignal): Context {
  return {
    get deadline() {
      return ctx.deadline;
    },
    get err() {
      return ctx.err;
    },
    get done() {
      return ctx.done;
    },
    signal,
    value: (key) => ctx.value(key),
  };
}

/** What a nursery's `await using` leaves when its body and its disposal both end with the cancellation. */
function suppressedError(error: unknown, suppressed: unknown): Error {
  const e = new Error("An error was suppressed during disposal") as Error & { error: unknown; suppressed: unknown };
  e.name = "SuppressedError";
  e.error = error;
  e.suppressed = suppressed;
  return e;
}

/** Two calls under `ctx`, the first to fulfil wins: rejects with an AggregateError of two cancellations once ctx is. */
const anyOfTwo = (ctx: Context, ms: number): Promise<string> =>
  Promise.any([sleep(ctx, ms).then(() => "first"), sleep(ctx, ms + 5).then(() => "second")]);

/** A task that fails with `error` a moment after it starts, once its siblings have begun. */
const failsSoon =
  (error: Error) =>
  async (): Promise<never> => {
    await sleep(background(), 1);
    throw error;
  };

/** A generator task whose cleanup fails once it is cancelled. */
async function* failsInCleanup(): AsyncGenerator<undefined, void> {
  try {
    for (;;) yield;
  } finally {
    throw new Error("cleanup failed");
  }
}

describe("cancellations wrapped in aggregates", () => {
  it("race() resolves with the winner when a loser rejects with an AggregateError of its cancelled calls", async () => {
    const winner = await race(
      background(),
      (ctx) => anyOfTwo(ctx, 1),
      (ctx) => anyOfTwo(ctx, 60_000),
    );
    expect(winner).toBe("first");
  });

  it("Group.errors does not list an AggregateError made only of the group's cancellation", async () => {
    const boom = new Error("boom");
    const g = new Group(background());
    g.go(failsSoon(boom));
    g.go((ctx) => anyOfTwo(ctx, 60_000));
    await expect(g.wait()).rejects.toBe(boom);
    expect(g.errors).toEqual([boom]);
  });

  it("Group.errors lists an AggregateError that holds a failure of its own beside the cancellation", async () => {
    const boom = new Error("boom");
    const own = new Error("own");
    let aggregate: unknown;
    const g = new Group(background());
    g.go(failsSoon(boom));
    g.go(async (ctx) => {
      aggregate = await Promise.any([sleep(ctx, 60_000), Promise.reject(own)]).catch((e: unknown) => e);
      throw aggregate;
    });
    await expect(g.wait()).rejects.toBe(boom);
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(g.errors).toEqual([boom, aggregate]);
  });

  it("an empty AggregateError is a failure, not the cancellation", async () => {
    const [parent, cancel] = withCancel(background());
    const empty = new AggregateError([], "nothing to try");
    const g = new Group(parent);
    g.go(async (ctx) => {
      await sleep(ctx, 60_000).catch(() => undefined);
      throw empty;
    });
    cancel();
    await expect(g.wait()).rejects.toBe(empty);
    expect(g.errors).toEqual([empty]);
  });

  it("Group.errors does not list a SuppressedError of the cancellation suppressing itself, and lists one that carries a failure", async () => {
    const boom = new Error("boom");
    const real = new Error("disposal failed");
    const both: Error[] = [];
    const g = new Group(background());
    g.go(failsSoon(boom));
    for (const make of [(e: unknown) => suppressedError(e, e), (e: unknown) => suppressedError(real, e)]) {
      g.go(async (ctx) => {
        const e = await sleep(ctx, 60_000).catch((err: unknown) => err);
        const wrapped = make(e);
        both.push(wrapped);
        throw wrapped;
      });
    }
    await expect(g.wait()).rejects.toBe(boom);
    expect(g.errors).toEqual([boom, both[1]]);
  });
});

describe("a failure after the parent's cancellation", () => {
  it("run() rejects with a task's cleanup failure rather than the parent's cancellation that came first", async () => {
    const [parent, cancel] = withCancel(background());
    const p = run(parent, (ctx) => sleep(ctx, 60_000), failsInCleanup);
    cancel();
    const err = (await p.catch((e: unknown) => e)) as Error & { error: Error };
    expect(err.name).toBe("SuppressedError");
    expect(err.error.message).toBe("cleanup failed");
    expect(errorIs(err, Canceled)).toBe(true);
  });

  it("map() rejects with a call's cleanup failure rather than the parent's cancellation that came first", async () => {
    const [parent, cancel] = withCancel(background());
    const p = map(parent, [0, 1], (ctx, i) => (i === 0 ? sleep(ctx, 60_000) : failsInCleanup()));
    cancel();
    const err = (await p.catch((e: unknown) => e)) as Error & { error: Error };
    expect(err.name).toBe("SuppressedError");
    expect(err.error.message).toBe("cleanup failed");
  });

  it("run() keeps the first real failure when a later task's cleanup fails too", async () => {
    const first = new Error("first");
    const p = run(background(), failsSoon(first), failsInCleanup);
    await expect(p).rejects.toBe(first);
  });
});

describe("Group disposal and the parent's cancellation", () => {
  for (const settledFirst of [false, true]) {
    it(`Group[Symbol.asyncDispose]() does not rethrow the parent's cancellation (${settledFirst ? "task rejected before" : "dispose before the task rejected"})`, async () => {
      const [parent, cancel] = withCancel(background());
      const g = new Group(parent);
      let stopped: unknown;
      g.go(async (ctx) => {
        stopped = await sleep(ctx, 60_000).catch((e: unknown) => e);
        throw stopped;
      });
      cancel();
      if (settledFirst) await new Promise<void>((r) => setImmediate(r));
      expect(stopped === Canceled).toBe(settledFirst);
      await expect(g[Symbol.asyncDispose]()).resolves.toBeUndefined();
      expect(stopped).toBe(Canceled);
    });
  }

  it("Group[Symbol.asyncDispose]() rethrows a task's own failure that came after the parent's cancellation", async () => {
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent);
    g.go((ctx) => sleep(ctx, 60_000));
    g.go(failsInCleanup);
    cancel();
    const err = (await g[Symbol.asyncDispose]().catch((e: unknown) => e)) as Error & { error: Error };
    expect(err.name).toBe("SuppressedError");
    expect(err.error.message).toBe("cleanup failed");
  });
});

describe("Group.wait() and a task added in the same turn", () => {
  it("Group.wait() on an empty group waits for a task started right after it is called", async () => {
    const g = new Group(background());
    const done = g.wait();
    let ran = false;
    g.go(async (ctx) => {
      await sleep(ctx, 1);
      ran = true;
    });
    await done;
    expect(ran).toBe(true);
  });
});

describe("echoes under a foreign parent that names its own cancellation", () => {
  it("Group does not count a task's wait on the parent itself as a failure, and dispose does not rethrow it", async () => {
    const { ctx: req, cancel } = adapter();
    const g = new Group(req);
    g.go(() => sleep(req, 60_000));
    g.go((ctx) => sleep(ctx, 60_000));
    cancel();
    await expect(g[Symbol.asyncDispose]()).resolves.toBeUndefined();
    expect(g.errors).toEqual([]);
  });

  it("Group.wait() rejects with the parent's own err when only its cancellation stopped the tasks", async () => {
    const { ctx: req, cancel, own } = adapter();
    const g = new Group(req);
    g.go(() => sleep(req, 60_000));
    g.go((ctx) => sleep(ctx, 60_000));
    cancel();
    await expect(g.wait()).rejects.toBe(own);
  });

  it("run() rejects with a task's cleanup failure under such a parent", async () => {
    const { ctx: req, cancel } = adapter();
    const p = run(req, () => sleep(req, 60_000), failsInCleanup);
    cancel();
    const err = (await p.catch((e: unknown) => e)) as Error & { error: Error };
    expect(err.name).toBe("SuppressedError");
    expect(err.error.message).toBe("cleanup failed");
  });
});

describe("which errors read as the cancellation", () => {
  /** What `Group.errors` lists when the parent's cancellation reaches a task that rejects with `make(ctx.err)`. */
  async function listed(make: (err: unknown, why: unknown) => unknown): Promise<readonly unknown[]> {
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent);
    g.go(async (ctx) => {
      const err = await sleep(ctx, 60_000).catch((e: unknown) => e);
      throw make(err, err);
    });
    cancel();
    await g.wait().catch(() => undefined);
    return g.errors;
  }

  it("an AggregateError of a hundred cancelled calls is the cancellation, whatever its size", async () => {
    expect(await listed((err) => new AggregateError(Array.from({ length: 100 }, () => err)))).toEqual([]);
    expect(await listed((err) => new AggregateError(Array.from({ length: 100 }, () => new Error("call", { cause: err }))))).toEqual([]);
  });

  it("an errors array with empty slots, an aggregate with a cause of its own, and a wrapped aggregate count as failures", async () => {
    const holes = (err: unknown): Error => Object.assign(new Error("3 writes failed"), { errors: [err, , err] });
    const withCause = (err: unknown): Error => new AggregateError([err], "gave up", { cause: new Error("disk full") });
    for (const make of [holes, withCause]) {
      const errors = await listed(make);
      expect(errors).toHaveLength(1);
    }
  });

  it("a sibling's error that wraps an aggregate of the group's cause counts as a failure, as one that wraps the cause does", async () => {
    const first = new Error("upstream down");
    const g = new Group(background());
    g.go(failsSoon(first));
    const wrapsCause = new Error("A", { cause: first });
    const wrapsAggregate = new Error("B", { cause: new AggregateError([first]) });
    for (const e of [wrapsCause, wrapsAggregate]) {
      g.go(async (ctx) => {
        await sleep(ctx, 60_000).catch(() => undefined);
        throw e;
      });
    }
    await expect(g.wait()).rejects.toBe(first);
    expect(g.errors).toEqual([first, wrapsCause, wrapsAggregate]);
  });

  it("run() rejects with the caller's err, not the form a task's echo of it took", async () => {
    const [parent, cancel] = withCancel(background());
    const p = run(parent, (ctx) => anyOfTwo(ctx, 60_000), (ctx) => anyOfTwo(ctx, 60_000));
    cancel();
    await expect(p).rejects.toBe(Canceled);
  });
});

describe("echoes of a parent cancelled with a cause", () => {
  /** Rejects with the signal's reason once ctx is cancelled, as fetch() does, wrapped in the task's own error. */
  const wrappedFetch = (ctx: Context): Promise<never> =>
    new Promise<never>((_, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    }).catch((e: unknown) => {
      throw new Error("GET /user failed", { cause: e });
    });

  /** Cancels a parent with `why` under run, a Group and race, each of whose tasks wraps it: all read it as the cancellation. */
  async function expectReadAsCancellation(why: Error): Promise<void> {
    const [p1, cancel1] = withCancelCause(background());
    const ran = run(p1, wrappedFetch, wrappedFetch);
    cancel1(why);
    await expect(ran).rejects.toBe(Canceled);

    const [p2, cancel2] = withCancelCause(background());
    const g = new Group(p2);
    g.go(wrappedFetch);
    cancel2(why);
    await expect(g[Symbol.asyncDispose]()).resolves.toBeUndefined();
    expect(g.errors).toEqual([]);

    const [p3, cancel3] = withCancelCause(background());
    const raced = race(p3, wrappedFetch, wrappedFetch);
    cancel3(why);
    await expect(raced).rejects.toBe(Canceled);
  }

  it("a fetch-style rejection wrapped in the task's own error is the parent's cancellation, in run, Group and race alike", async () => {
    await expectReadAsCancellation(new Error("client went away"));
  });

  it("a parent cancelled with an error that an unrelated group once failed with is still a cancellation, not that group's failure", async () => {
    const shutdown = new Error("shutting down");
    // Elsewhere, earlier: a run whose task failed with that very sentinel.
    await expect(run(background(), () => Promise.reject(shutdown))).rejects.toBe(shutdown);
    const g0 = new Group(background());
    g0.go(() => Promise.reject(shutdown));
    await expect(g0.wait()).rejects.toBe(shutdown);
    await expectReadAsCancellation(shutdown);
  });

  it("a group's failure reaching a nested group through a foreign wrapper is still matched only unwrapped", async () => {
    const notFound = new Error("not found");
    const own = new Error("B: user 7", { cause: notFound });
    let inner: Group | undefined;
    const outer = new Group(background());
    outer.go(async (ctx) => {
      // A foreign wrapper that lends the outer group's context its signal: the cancellation's
      // origin is still found through it.
      inner = new Group(foreignOver(ctx, ctx.signal));
      inner.go(async (ictx) => {
        await sleep(ictx, 60_000).catch(() => undefined);
        throw own;
      });
      await inner.wait().catch(() => undefined);
    });
    outer.go(failsSoon(notFound));
    await expect(outer.wait()).rejects.toBe(notFound);
    expect(inner?.errors).toEqual([own]);
  });

  it("race() under a foreign parent cancelled with a cause rejects with the parent's err, as run() does", async () => {
    const { ctx: parent, cancel, own } = adapter();
    const raced = race(parent, (ctx) => sleep(ctx, 60_000), (ctx) => sleep(ctx, 60_000));
    const ran = run(parent, (ctx) => sleep(ctx, 60_000), (ctx) => sleep(ctx, 60_000));
    cancel(new Error("client went away"));
    await expect(raced).rejects.toBe(own);
    await expect(ran).rejects.toBe(own);
  });

  it("an error made in another realm that wraps the cancellation is an echo too", async () => {
    const foreignWrap = runInNewContext("(cause) => new Error('step failed', { cause })") as (cause: unknown) => unknown;
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent);
    g.go(async (ctx) => {
      const e = await sleep(ctx, 60_000).catch((err: unknown) => err);
      throw foreignWrap(e);
    });
    cancel();
    await expect(g.wait()).rejects.toBe(Canceled);
    expect(g.errors).toEqual([]);
  });
});

describe("a group's failure as a nested group's cause", () => {
  it("a task's own failure that wraps the outer group's first failure counts the same, run directly, in run() or in race()", async () => {
    const notFound = new Error("not found");
    const lookup = async (): Promise<never> => {
      await sleep(background(), 5);
      throw new Error("lookup user 7", { cause: notFound });
    };
    const nestings: Array<(task: () => Promise<never>) => (ctx: Context) => Promise<unknown>> = [
      (task) => task,
      (task) => (ctx) => run(ctx, task),
      (task) => (ctx) => race(ctx, task),
    ];
    for (const nest of nestings) {
      const g = new Group(background());
      g.go(async () => {
        throw notFound;
      });
      g.go(nest(lookup));
      await expect(g.wait()).rejects.toBe(notFound);
      expect(g.errors).toHaveLength(2);
      expect(g.errors[0]).toBe(notFound);
    }
  });

  it("an inner group lists a sibling's failure that wraps its own first failure, also when the outer group fails with the same error", async () => {
    const notFound = new Error("not found");
    const own = new Error("B: user 7", { cause: notFound });
    let inner: Group | undefined;
    const outer = new Group(background());
    outer.go(async (ctx) => {
      inner = new Group(ctx);
      inner.go(async () => {
        throw notFound;
      });
      inner.go(async (ictx) => {
        await sleep(ictx, 60_000).catch(() => undefined);
        await sleep(background(), 5);
        throw own;
      });
      await inner.wait();
    });
    outer.go(failsSoon(notFound));
    await expect(outer.wait()).rejects.toBe(notFound);
    expect(inner?.errors).toEqual([notFound, own]);
  });
});

describe("a group's failure reaching a nested group through a signal", () => {
  /** Scopes a task can make from its context that follow it through its signal, not its parent chain. */
  const scopes: Array<[string, (ctx: Context) => [Context, () => void]]> = [
    ["withSignal(background(), ctx.signal)", (ctx) => withSignal(background(), ctx.signal)],
    ["withSignal(background(), AbortSignal.any([ctx.signal, other]))", (ctx) => withSignal(background(), AbortSignal.any([ctx.signal, new AbortController().signal]))],
    [
      "a foreign context whose signal is AbortSignal.any([ctx.signal])",
      (ctx) => {
        return [foreignOver(ctx, AbortSignal.any([ctx.signal])), () => undefined];
      },
    ],
  ];

  it.each(scopes)("a nested task's own failure that wraps the outer failure still counts, through %s", async (_, scopeOf) => {
    const notFound = new Error("not found");
    const own = new Error("lookup failed", { cause: notFound });
    let nested: Group | undefined;
    const outer = run(
      background(),
      async () => {
        await sleep(background(), 1);
        throw notFound;
      },
      async (ctx) => {
        const [scope, stop] = scopeOf(ctx);
        try {
          nested = new Group(scope);
          nested.go(async (gctx) => {
            await gctx.done;
            throw own;
          });
          await nested.wait().catch(() => undefined);
        } finally {
          stop();
        }
      },
    );
    await expect(outer).rejects.toBe(notFound);
    expect(nested?.errors).toEqual([own]);
  });

  it("run() leaves a child its parent cancelled while the tasks were being started, after a failure at once, read as the parent's cancellation", async () => {
    const shutdown = new Error("shutting down");
    const [parent, cancelParent] = withCancelCause(background());
    let nested: Group | undefined;
    const ran = run(
      parent,
      () => {
        throw new Error("task 0 failed");
      },
      async (ctx) => {
        nested = new Group(ctx);
        nested.go(async (gctx) => {
          await gctx.done;
          throw new Error("request aborted", { cause: cause(gctx) });
        });
        await nested.wait().catch(() => undefined);
      },
      () => cancelParent(shutdown),
    );
    await expect(ran).rejects.toThrow("task 0 failed");
    expect(nested?.errors).toEqual([]);
  });
});
