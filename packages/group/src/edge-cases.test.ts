import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { Canceled, background, runTask, sleep, withCancel, type Context } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { GroupEndedError, Group, map, race, run } from "@tether/group";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Rejects with the signal's reason once ctx is cancelled, as fetch() and most AbortSignal APIs do. */
function abortable(ctx: Context): Promise<never> {
  return new Promise<never>((_, reject) => {
    const s = ctx.signal;
    s.addEventListener("abort", () => reject(s.reason), { once: true });
  });
}

describe("edge cases: Group", () => {
  it("Group.wait() does not resolve successfully when queued tasks were dropped because the parent was cancelled", async () => {
    const [parent, cancelParent] = withCancel(background());
    const g = new Group(parent, { limit: 1 });
    const first = gate();
    let secondRan = false;
    g.go(() => first.promise); // finishes its work even though the context is cancelled
    g.go(() => {
      secondRan = true;
    });
    cancelParent();
    first.open();
    const outcome = await g.wait().then(
      () => "resolved",
      (e: unknown) => e,
    );
    expect(secondRan).toBe(false);
    expect(outcome).toBe(Canceled);
  });

  it("map() does not resolve with holes when the parent is cancelled while items are queued", async () => {
    const [parent, cancelParent] = withCancel(background());
    const first = gate();
    const p = map(
      parent,
      [1, 2, 3],
      async (_ctx, x) => {
        await first.promise; // an item that completes although its context was cancelled
        return x * 10;
      },
      { limit: 1 },
    );
    cancelParent();
    first.open();
    const outcome = await p.then(
      (r) => r,
      (e: unknown) => e,
    );
    // Either all three results, or a rejection; never [10, <hole>, <hole>] typed as number[].
    expect(outcome).toBe(Canceled);
  });

  it("Group.go() after wait() has ended does not drop the task silently", async () => {
    const g = new Group(background());
    g.go(() => 1);
    await g.wait();
    let ran = false;
    // Tether cancels the group at its end, so the task cannot run: go() must throw, or wait() reject.
    let reported = false;
    try {
      g.go(() => {
        ran = true;
      });
    } catch {
      reported = true;
    }
    if (!reported) reported = await g.wait().then(() => false, () => true);
    expect(ran).toBe(false);
    expect(reported).toBe(true);
  });

  it("Group.wait() never returns with a task running: a go() made while it finishes is waited for, or refused with GroupEndedError", async () => {
    for (let hops = 0; hops < 4; hops++) {
      const g = new Group(background());
      const first = gate();
      g.go(() => first.promise);
      let late: "not started" | "running" | "done" | "cancelled" = "not started";
      let chain: Promise<unknown> = first.promise;
      for (let i = 0; i < hops; i++) chain = chain.then(() => {});
      let refused = false;
      const added = chain.then(() => {
        try {
          g.go(async (ctx) => {
            late = "running";
            try {
              await sleep(ctx, 5);
              late = "done";
            } catch {
              late = "cancelled";
            }
          });
        } catch (e) {
          // Too late: wait() had already returned, and go() says so instead of dropping the task.
          refused = e instanceof GroupEndedError;
        }
      });
      const w = g.wait().then(
        () => g.size,
        () => g.size,
      );
      first.open();
      const sizeAtReturn = await w;
      await added;
      while (g.size > 0) await turn(); // clean up whatever wait() left running
      expect({ hops, sizeAtReturn, late, refused }).toEqual({ hops, sizeAtReturn: 0, late: refused ? "not started" : "done", refused });
    }
  });

  it("await using a Group rethrows a failure once, not as SuppressedError(e, e), when the body already awaited wait()", async () => {
    const boom = new Error("boom");
    const body = async (): Promise<void> => {
      await using g = new Group(background());
      g.go(() => {
        throw boom;
      });
      await g.wait();
    };
    const caught = await body().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(caught).toBe(boom);
  });

  it("Group.errors holds the first failure once when siblings reject with the signal's reason (fetch-style)", async () => {
    const g = new Group(background());
    const boom = new Error("boom");
    g.go(abortable);
    g.go(abortable);
    g.go(async () => {
      await turn();
      throw boom;
    });
    await expect(g.wait()).rejects.toBe(boom);
    expect(g.errors).toEqual([boom]);
  });

  it("Group with a limit whose queue never drains does not keep a slot for every task it ever queued", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, "run with --expose-gc (vitest.config.ts does)").toBeTypeOf("function");
    const g = new Group(background(), { limit: 1 });
    const n = 400_000;
    let started = 0;
    let heapAtStart = 0;
    let heapAtEnd = 0;
    // A worker pool under steady load: two tasks always queued, each task queues one more.
    const task = (): void => {
      started++;
      if (started === 1_000) {
        gc?.();
        heapAtStart = process.memoryUsage().heapUsed;
      }
      if (started === n) {
        gc?.();
        heapAtEnd = process.memoryUsage().heapUsed;
      }
      if (started < n) g.go(task);
    };
    g.go(task);
    g.go(task);
    g.go(task);
    await g.wait();
    // 8 bytes per processed task would be 3.2 MB here; a compacting queue stays flat.
    expect(heapAtEnd - heapAtStart).toBeLessThan(1_000_000);
  });

  it("tryGo() on a full group returns false; two wait() calls both resolve; tryGo() after them throws GroupEndedError", async () => {
    const g = new Group(background(), { limit: 1 });
    const first = gate();
    g.go(() => first.promise);
    expect(g.tryGo(() => 1)).toBe(false);
    const w1 = g.wait();
    const w2 = g.wait();
    first.open();
    await Promise.all([w1, w2]);
    expect(() => g.tryGo(() => 1)).toThrow(GroupEndedError);
    expect(g.ctx.err).toBe(Canceled);
  });

  it("Group with failFast: false and await using waits for every task and rethrows the first failure", async () => {
    const a = new Error("a");
    const log: string[] = [];
    const body = async (): Promise<void> => {
      await using g = new Group(background(), { failFast: false });
      g.go(async () => {
        await turn();
        throw a;
      });
      g.go(async function* () {
        try {
          for (;;) yield;
        } finally {
          log.push("generator cleaned up");
        }
      });
      await turn();
      await turn();
      expect(g.ctx.err).toBeUndefined(); // no sibling cancelled by the failure
    };
    await expect(body()).rejects.toBe(a);
    expect(log).toEqual(["generator cleaned up"]);
  });
});

describe("edge cases: map and race", () => {
  it("map() with 11 concurrent calls that pass ctx.signal to a Node API prints no MaxListenersExceededWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const out = await map(background(), Array.from({ length: 11 }, (_, i) => i), (ctx, i) =>
        delay(1, i, { signal: ctx.signal }),
      );
      expect(out).toHaveLength(11);
      await turn();
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it("map() returns what fn returns when it is an async iterable that is not a generator (a stream)", async () => {
    const stream = new ReadableStream<number>({
      start(c) {
        c.enqueue(1);
        c.close();
      },
    });
    const [out] = await map(background(), [0], () => stream);
    expect(out).toBe(stream);
    await stream.cancel();
  });

  it("race() settles after the losers' generator cleanup and leaves nothing running", async () => {
    const log: string[] = [];
    const v = await race(
      background(),
      async function* () {
        try {
          for (;;) yield;
        } finally {
          log.push("loser cleaned up");
        }
      },
      async () => {
        await turn();
        return "winner";
      },
    );
    expect(v).toBe("winner");
    expect(log).toEqual(["loser cleaned up"]);
    expect(liveCounts().tasks).toBe(0);
  });

  it("run() of a task that spawns work with runTask on the run's ctx rejects with the first failure only", async () => {
    const boom = new Error("boom");
    await expect(
      run(
        background(),
        (ctx) => runTask(ctx, async function* () {
          for (;;) yield;
        }),
        () => {
          throw boom;
        },
      ),
    ).rejects.toBe(boom);
  });
});

describe("a function* task, refused before anything runs", () => {
  const task = function* (): Generator<undefined, number> {
    yield;
    return 1;
  };
  const message = (caller: string, arg: string): RegExp =>
    new RegExp(`^${caller.replace(".", "\\.")}: ${arg.replace(/[[\]]/g, "\\$&")} must be a plain, async or async generator function, but it is a function\\*`);

  it("Group.go() and Group.tryGo() throw a TypeError naming the call, and the group is untouched", async () => {
    const g = new Group(background());
    let ran = false;
    g.go(async () => {
      ran = true;
    });
    expect(() => g.go(task)).toThrow(message("Group.go", "task"));
    expect(() => g.tryGo(task)).toThrow(message("Group.tryGo", "task"));
    await expect(g.wait()).resolves.toBeUndefined();
    expect(ran).toBe(true);
    expect(g.errors).toEqual([]);
  });

  it("run() and race() reject with a TypeError naming the task's position, and call no task", async () => {
    let called = 0;
    const counted = async (): Promise<number> => ++called;
    await expect(run(background(), counted, task)).rejects.toThrow(message("run", "tasks[1]"));
    await expect(race(background(), counted, task)).rejects.toThrow(message("race", "tasks[1]"));
    expect(called).toBe(0);
  });
});

describe("a foreign parent whose deadline is not a number", () => {
  const foreign = (deadline: () => unknown): Context =>
    ({
      get deadline() {
        return deadline();
      },
      err: undefined,
      done: new Promise<void>(() => {}),
      signal: new AbortController().signal,
      value: () => undefined,
    }) as unknown as Context;

  it("Group, run, race and map refuse it with a TypeError under their own names, and start nothing", async () => {
    const ctx = foreign(() => null);
    let called = false;
    const task = (): void => void (called = true);
    const expected = "deadline must be undefined or a number of epoch milliseconds, received null";
    expect(() => new Group(ctx)).toThrow(new TypeError(`Group: parent.${expected}`));
    await expect(run(ctx, task)).rejects.toThrow(new TypeError(`run: ctx.${expected}`));
    await expect(race(ctx, task)).rejects.toThrow(new TypeError(`race: ctx.${expected}`));
    await expect(map(ctx, [1], task)).rejects.toThrow(new TypeError(`map: ctx.${expected}`));
    expect(called).toBe(false);
  });

  it("Group refuses one whose deadline getter throws with a TypeError saying it cannot be read", () => {
    const ctx = foreign(() => {
      throw new RangeError("getter");
    });
    expect(() => new Group(ctx)).toThrow(new TypeError("Group: parent.deadline cannot be read"));
  });
});
