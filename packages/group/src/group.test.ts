import { describe, expect, it } from "vitest";
import { Canceled, background, cause, sleep, until, withCancel, withCancelCause, type Context } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { Group, GroupEndedError } from "@tether/group";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("Group", () => {
  it("Group.ctx is cancelled after wait() on success, with cause Canceled", async () => {
    const g = new Group(background());
    g.go(() => 1);
    expect(g.ctx.err).toBeUndefined();
    await g.wait();
    expect(g.ctx.err).toBe(Canceled);
    expect(cause(g.ctx)).toBe(Canceled);
  });

  it("Group.ctx is cancelled with the first error as cause, and wait() rejects with it", async () => {
    const g = new Group(background());
    const first = new Error("first");
    g.go(async (ctx) => {
      await sleep(ctx, 1_000);
    });
    g.go(() => {
      throw first;
    });
    await expect(g.wait()).rejects.toBe(first);
    expect(cause(g.ctx)).toBe(first);
    expect(g.errors).toEqual([first]);
  });

  it("Group with limit: 3 never runs more than 3 of 2,000 tasks at once", async () => {
    const g = new Group(background(), { limit: 3 });
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 2_000; i++) {
      g.go(async () => {
        running++;
        peak = Math.max(peak, running);
        await Promise.resolve();
        running--;
        done++;
      });
    }
    await g.wait();
    expect(peak).toBe(3);
    expect(done).toBe(2_000);
  });

  it("Group.tryGo() refuses at the limit and accepts once a slot frees", async () => {
    const g = new Group(background(), { limit: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    expect(g.tryGo(() => gate)).toBe(true);
    expect(g.tryGo(() => 1)).toBe(false);
    release();
    await turn();
    expect(g.tryGo(() => 2)).toBe(true);
    await g.wait();
  });

  it("Group never starts queued tasks after it is cancelled, and go() after wait() throws GroupEndedError", async () => {
    const g = new Group(background(), { limit: 1 });
    const started: number[] = [];
    const boom = new Error("boom");
    g.go(async () => {
      started.push(0);
      await Promise.resolve();
      throw boom;
    });
    for (let i = 1; i <= 5; i++) g.go(() => void started.push(i));
    await expect(g.wait()).rejects.toBe(boom);
    expect(() => g.go(() => void started.push(99))).toThrow(GroupEndedError);
    expect(() => g.tryGo(() => void started.push(100))).toThrow(/Group.tryGo: the group has ended/);
    await expect(g.wait()).rejects.toBe(boom);
    expect(started).toEqual([0]);
  });

  it("Group.go() on a group whose parent is cancelled starts nothing and wait() reports the cancellation", async () => {
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent);
    cancel();
    let called = false;
    g.go(() => void (called = true));
    await expect(g.wait()).rejects.toBe(Canceled);
    expect(called).toBe(false);
  });

  it("await using a Group cancels what still runs and waits for its cleanup", async () => {
    const log: string[] = [];
    let inner: Context | undefined;
    {
      await using g = new Group(background());
      g.go(async function* (ctx) {
        inner = ctx;
        try {
          yield* until(new Promise(() => {}));
        } finally {
          await sleep(background(), 2);
          log.push("task cleanup");
        }
      });
      await turn();
      expect(liveCounts().tasks).toBe(1);
    }
    log.push("scope left");
    expect(log).toEqual(["task cleanup", "scope left"]);
    expect(inner?.err).toBe(Canceled);
  });

  it("await using a Group rethrows a real failure, not the cancellation it caused", async () => {
    const real = new Error("real");
    const leave = async (): Promise<void> => {
      await using g = new Group(background(), { failFast: false });
      g.go(() => {
        throw real;
      });
      g.go((ctx) => sleep(ctx, 1_000));
      await turn();
    };
    await expect(leave()).rejects.toBe(real);
  });

  it("Group.errors leaves out a sibling's AbortError whose cause is the group's cancellation, as Node's timers reject with", async () => {
    const { setTimeout: delay } = await import("node:timers/promises");
    const g = new Group(background());
    const real = new Error("real failure");
    g.go(async () => {
      await Promise.resolve();
      throw real;
    });
    g.go(async (ctx) => {
      await delay(60_000, undefined, { signal: ctx.signal });
    });
    await expect(g.wait()).rejects.toBe(real);
    expect(g.errors).toEqual([real]);
  });

  it("Group.errors leaves out a sibling's own error that wraps Node's AbortError for the group's cancellation", async () => {
    const { setTimeout: delay } = await import("node:timers/promises");
    const g = new Group(background());
    const real = new Error("upstream failed");
    g.go(async () => {
      await Promise.resolve();
      throw real;
    });
    g.go(async (ctx) => {
      try {
        await delay(60_000, undefined, { signal: ctx.signal });
      } catch (e) {
        throw new Error("step 2 failed", { cause: e });
      }
    });
    await expect(g.wait()).rejects.toBe(real);
    expect(g.errors).toEqual([real]);
  });

  it("Group with failFast: false keeps siblings running and reports every failure in errors", async () => {
    const g = new Group(background(), { failFast: false });
    const e1 = new Error("one");
    const e2 = new Error("two");
    let finished = false;
    g.go(() => {
      throw e1;
    });
    g.go(async (ctx) => {
      await sleep(ctx, 5);
      finished = true;
    });
    g.go(async () => {
      await Promise.resolve();
      throw e2;
    });
    await expect(g.wait()).rejects.toBe(e1);
    expect(finished).toBe(true);
    expect(g.errors).toEqual([e1, e2]);
    expect(cause(g.ctx)).toBe(e1);
  });

  it("await using a Group does not throw for a task that wraps the group's cancellation in an error of its own", async () => {
    let thrown: unknown = "nothing";
    let g: Group | undefined;
    try {
      await using group = new Group(background());
      g = group;
      group.go(async (ctx) => {
        try {
          await sleep(ctx, 60_000);
        } catch (e) {
          throw new Error("step failed", { cause: e });
        }
      });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe("nothing");
    expect(g?.errors).toEqual([]);
  });

  it("Group keeps a sibling's own error that wraps the same upstream failure as the first error", async () => {
    const upstream = new Error("db down");
    const g = new Group(background());
    g.go(async () => {
      throw upstream;
    });
    g.go(async () => {
      await sleep(background(), 1);
      throw new Error("report query failed", { cause: upstream });
    });
    await expect(g.wait()).rejects.toBe(upstream);
    expect(g.errors.map((e) => (e as Error).message)).toEqual(["db down", "report query failed"]);
  });

  it("Group under a parent cancelled with a null cause does not count fetch-style echoes of it as failures, and wait() rejects with the parent's err", async () => {
    const fetchLike = (c: Context): Promise<string> =>
      new Promise((_, reject) => c.signal.addEventListener("abort", () => reject(c.signal.reason), { once: true }));
    const [ctx, cancel] = withCancelCause(background());
    const g = new Group(ctx);
    g.go(fetchLike);
    g.go(fetchLike);
    await new Promise((r) => setTimeout(r, 1));
    cancel(null);
    await expect(g.wait()).rejects.toBe(Canceled);
    expect(g.errors).toEqual([]);
  });

  it("Group.errors is a frozen copy: editing what a read returned erases nothing the group recorded", async () => {
    const g = new Group(background(), { failFast: false });
    const boom = new Error("boom");
    g.go(async () => {
      throw boom;
    });
    await g.wait().catch(() => undefined);
    const seen = g.errors;
    expect(Object.isFrozen(seen)).toBe(true);
    expect(() => ((seen as unknown[]).length = 0)).toThrow(TypeError);
    expect(g.errors).toEqual([boom]);
  });

  it("Group.errors does not list the parent's cancellation, and wait() rejects with a task's own failure that came after it", async () => {
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent, { failFast: false });
    const own = new Error("own");
    g.go((ctx) => sleep(ctx, 60_000));
    g.go(async (ctx) => {
      await sleep(ctx, 60_000).catch(() => undefined);
      throw own;
    });
    g.go((ctx) => sleep(ctx, 60_000));
    cancel();
    await expect(g.wait()).rejects.toBe(own);
    expect(g.errors).toEqual([own]);
  });

  it("Group.wait() rejects with the parent's cancellation when no task failed on its own", async () => {
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent);
    g.go((ctx) => sleep(ctx, 60_000));
    g.go((ctx) => sleep(ctx, 60_000));
    cancel();
    await expect(g.wait()).rejects.toBe(Canceled);
    expect(g.errors).toEqual([]);
  });

  it("Group.wait() settles with the first error when a later task rejects with a revoked Proxy", async () => {
    const g = new Group(background());
    const { proxy, revoke } = Proxy.revocable(new Error("odd"), {});
    revoke();
    const first = new Error("first");
    g.go(async () => {
      throw first;
    });
    g.go(async (ctx) => {
      await sleep(ctx, 60_000).catch(() => {});
      throw proxy;
    });
    await expect(g.wait()).rejects.toBe(first);
    // By identity: a revoked Proxy cannot be compared structurally.
    expect(g.errors.length).toBe(2);
    expect(g.errors[0]).toBe(first);
    expect(g.errors[1] === proxy).toBe(true);
  });

  it("Group keeps a cleanup failure in errors without letting it replace the first error", async () => {
    const g = new Group(background());
    const first = new Error("first");
    const cleanup = new Error("cleanup");
    g.go(async function* () {
      try {
        yield* until(new Promise(() => {}));
      } finally {
        // eslint-disable-next-line no-unsafe-finally -- the failure under test
        throw cleanup;
      }
    });
    g.go(async () => {
      await turn();
      throw first;
    });
    await expect(g.wait()).rejects.toBe(first);
    expect(g.errors).toHaveLength(2);
    expect((g.errors[1] as { error?: unknown }).error).toBe(cleanup);
  });

  it("Group rejects bad options and tasks with errors that name them", () => {
    expect(() => new Group(background(), { limit: 0 })).toThrow(/Group: limit must be a whole number ≥ 1 or Infinity, received 0/);
    expect(() => new Group(background(), { limit: 1.5 })).toThrow(RangeError);
    expect(() => new Group(background(), { limit: "2" as never })).toThrow(TypeError);
    expect(() => new Group(background(), { failFast: "yes" as never })).toThrow(/failFast must be a boolean/);
    expect(() => new Group(background(), { failFast: null as never })).toThrow(/Group: failFast must be a boolean, received null/);
    expect(() => new Group(null as never)).toThrow(/Group: parent must be a Context, received null/);
    const g = new Group(background());
    expect(() => g.go(42 as never)).toThrow(/Group.go: task must be a function, received 42/);
    return g.wait();
  });
});

describe("Group in dump()", () => {
  it("dump() shows a named group and its named tasks with what they wait for", async () => {
    const { dump } = await import("@tether/core/debug");
    const g = new Group(background(), { name: "crawler", limit: 2 });
    g.go(
      async function* () {
        yield* until(new Promise(() => {}));
      },
      { name: "page 1" },
    );
    g.go(async function fetchPage2(ctx) {
      await sleep(ctx, 60_000);
    });
    let out = "";
    try {
      // A generator task reaches its until after its first step, which a loaded machine may
      // precede with a checkpoint's turn of the event loop: wait for it (at most 100 turns).
      for (let i = 0; i < 100 && !(out = dump(g.ctx)).includes("until(<Promise>)"); i++) await turn();
    } finally {
      await g[Symbol.asyncDispose]();
    }
    expect(out.split("\n")[0]).toBe('background().withCancelCause() "crawler" [alive]');
    expect(out).toContain('task "page 1" (generator): until(<Promise>)');
    expect(out).toContain('task "fetchPage2": running');
    expect(out).toContain("sleep(60000ms)");
  });

  it("Group rejects a name that is not a string", () => {
    expect(() => new Group(background(), { name: 7 as never })).toThrow(/Group: name must be a string, received 7/);
    const g = new Group(background());
    expect(() => g.go(() => 1, { name: 1 as never })).toThrow(/Group.go: options.name must be a string, received 1/);
    return g.wait();
  });
});

describe("Group with a limit, draining a long queue of tasks that settle at once", () => {
  const tasks: Array<[string, () => unknown]> = [
    ["a plain function", () => 1],
    ["an async function", async () => 1],
    ["an async generator function that never yields", async function* () {
      return 1;
    }],
  ];

  it.each(tasks)("lets a due timer run, and its cancel stop the queue, when each task is %s", async (_, task) => {
    const [ctx, cancel] = withCancelCause(background());
    const timerRan = new Error("the timer ran");
    setTimeout(() => cancel(timerRan), 0);
    const g = new Group(ctx, { limit: 2 });
    // Far more tasks than a few milliseconds run: a group that never lets the timer run drains
    // them all and resolves, instead of rejecting with the cancellation.
    const queued = 200_000;
    let ran = 0;
    for (let i = 0; i < queued; i++) {
      g.go(() => {
        ran++;
        return task() as never;
      });
    }
    await expect(g.wait()).rejects.toBe(Canceled);
    expect(cause(ctx)).toBe(timerRan);
    expect(ran).toBeLessThan(queued);
    expect(g.size).toBe(0);
  });
});

describe("Group with a limit, fed while it drains a long queue", () => {
  it("go() from a callback during the drain queues behind every queued task, and tryGo() refuses while any is queued", async () => {
    const g = new Group(background(), { limit: 1 });
    const order: Array<number | string> = [];
    const queued = 200_000;
    for (let i = 0; i < queued; i++) g.go(() => void order.push(i));
    let tryGoTookSlot = false;
    setImmediate(() => {
      // The drain is waiting for its turn now, with a slot free: the queued tasks still come first.
      tryGoTookSlot = g.tryGo(() => void order.push("tryGo"));
      g.go(() => void order.push("late"));
    });
    await g.wait();
    expect(tryGoTookSlot).toBe(false);
    expect(order).toHaveLength(queued + 1);
    expect(order.at(-1)).toBe("late");
  });

  it("go() from a queued task as the drain starts it after its turn queues behind the tasks queued before it", async () => {
    const g = new Group(background(), { limit: 2 });
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    g.go(() => gate);
    g.go(() => gate);
    g.go(() => {
      // Holds the thread past the time slice, so the drain waits for a turn and then finds both
      // slots free at once.
      const start = performance.now();
      while (performance.now() - start < 6);
      order.push("slow");
    });
    g.go(() => {
      order.push("A");
      g.go(() => void order.push("from A"));
    });
    g.go(() => void order.push("B"));
    g.go(() => void order.push("C"));
    release();
    await g.wait();
    expect(order).toEqual(["slow", "A", "B", "C", "from A"]);
  });
});
