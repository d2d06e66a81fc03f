import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  background,
  errorIs,
  runTask,
  sleep,
  until,
  withCancel,
  withCancelCause,
  withTimeout,
  type Context,
} from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { unhandledDuring } from "./test-helpers/unhandled.js";
import { heapGrowthMB } from "../../../test/heap.js";
import { runNodeReport } from "../../../test/child.js";

/** Resolves after every queued microtask and one macrotask turn have run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("runTask() with plain functions", () => {
  it("runTask() passes a plain function's value and an async function's result through", async () => {
    expect(await runTask(background(), () => 7)).toBe(7);
    expect(await runTask(background(), async () => "x")).toBe("x");
  });

  it("runTask() turns a synchronous throw into a rejection", async () => {
    const boom = new Error("boom");
    const p = runTask(background(), () => {
      throw boom;
    });
    await expect(p).rejects.toBe(boom);
  });

  it("runTask() on a cancelled context rejects with ctx.err and never calls the task", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    let called = false;
    await expect(runTask(ctx, () => (called = true))).rejects.toBe(Canceled);
    expect(called).toBe(false);
  });

  it("runTask() counts a running task until it settles", async () => {
    const p = runTask(background(), () => sleep(background(), 1));
    expect(liveCounts().tasks).toBe(1);
    await p;
    expect(liveCounts().tasks).toBe(0);
  });
});

describe("runTask() with generator tasks", () => {
  it("runTask() rejects a function* task with a TypeError that says to write async function*, its body never run", async () => {
    let ran = false;
    const task = function* () {
      ran = true;
      yield;
      return 1;
    };
    const err = await runTask(background(), task).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/^runTask: task must be a plain, async or async generator function, but it is a function\*.*`async function\*`/);
    expect(ran).toBe(false);
    expect(liveCounts().tasks).toBe(0);
  });

  it("runTask() rejects a function* whose own constructor property claims it is a plain function", async () => {
    let ran = false;
    const task = function* () {
      ran = true;
      yield;
    };
    Object.defineProperty(task, "constructor", { value: Function });
    await expect(runTask(background(), task)).rejects.toThrow(/^runTask: task .* it is a function\*/);
    expect(ran).toBe(false);
  });

  it("runTask() rejects a function* made in another realm too", async () => {
    const foreign = runInNewContext("(function* () { yield; return 1; })") as () => Generator<undefined, number>;
    await expect(runTask(background(), foreign)).rejects.toThrow(/^runTask: task .* it is a function\*/);
  });

  it("runTask() passes through a generator or iterator that a plain function returns as its value", async () => {
    const entries = new Map([["a", 1]]).entries();
    expect(await runTask(background(), () => entries)).toBe(entries);
    function* lines(): Generator<string> {
      yield "a";
      yield "b";
    }
    const got = await runTask(background(), () => lines());
    expect([...got]).toEqual(["a", "b"]);
  });

  it("runTask() halts a generator paused at a yield and runs its finally", async () => {
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    const p = runTask(ctx, async function* () {
      try {
        for (;;) yield* until(sleep(ctx, 1_000));
      } finally {
        log.push("finally");
      }
    });
    await turn();
    cancel();
    await expect(p).rejects.toBe(Canceled);
    expect(log).toEqual(["finally"]);
  });

  it("runTask() cleans up nested generators innermost first", async () => {
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    async function* inner(): AsyncGenerator<unknown, void, unknown> {
      try {
        yield* until(new Promise(() => {}));
      } finally {
        log.push("inner");
      }
    }
    async function* middle(): AsyncGenerator<unknown, void, unknown> {
      try {
        yield* inner();
      } finally {
        log.push("middle");
      }
    }
    const p = runTask(ctx, async function* () {
      try {
        yield* middle();
      } finally {
        log.push("outer");
      }
    });
    await turn();
    cancel();
    await expect(p).rejects.toBe(Canceled);
    expect(log).toEqual(["inner", "middle", "outer"]);
  });

  it("runTask() never runs code after a delegated yield* whose finally yields", async () => {
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    async function* child(): AsyncGenerator<unknown, void, unknown> {
      try {
        yield* until(new Promise(() => {}));
      } finally {
        log.push("child finally starts");
        yield;
        log.push("child finally after its yield");
      }
    }
    const p = runTask(ctx, async function* () {
      try {
        yield* child();
        log.push("after yield*");
        yield;
        log.push("after a later yield");
      } finally {
        log.push("parent finally");
      }
    });
    await turn();
    cancel();
    await expect(p).rejects.toBe(Canceled);
    expect(log).toEqual(["child finally starts", "parent finally"]);
  });

  it("runTask() settles only after cleanup that awaits has finished", async () => {
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    const p = runTask(ctx, async function* () {
      try {
        yield* until(new Promise(() => {}));
      } finally {
        await sleep(background(), 5);
        log.push("cleanup done");
      }
    }).catch((e: unknown) => {
      log.push("settled");
      throw e;
    });
    await turn();
    cancel();
    await expect(p).rejects.toBe(Canceled);
    expect(log).toEqual(["cleanup done", "settled"]);
  });

  it("runTask() rejects with the cleanup's error and keeps the cancellation reachable with errorIs", async () => {
    const [ctx, cancel] = withCancel(background());
    const broken = new Error("could not release");
    const p = runTask(ctx, async function* () {
      try {
        yield* until(new Promise(() => {}));
      } finally {
        // eslint-disable-next-line no-unsafe-finally -- the point of the test
        throw broken;
      }
    });
    await turn();
    cancel();
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { error?: unknown }).error).toBe(broken);
    expect(errorIs(err, broken)).toBe(true);
    expect(errorIs(err, Canceled)).toBe(true);
  });

  it("runTask() interrupts a task paused in an await that ignores the context at its next yield", async () => {
    const [ctx, cancel] = withCancel(background());
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = runTask(ctx, async function* () {
      await gate;
      log.push("await settled");
      yield;
      log.push("after yield");
    });
    await turn();
    cancel();
    expect(log).toEqual([]);
    release();
    await expect(p).rejects.toBe(Canceled);
    expect(log).toEqual(["await settled"]);
  });

  it("runTask() throws at a yield after the task cancels its own context", async () => {
    const [ctx, cancel] = withCancelCause(background());
    const why = new Error("done early");
    const log: string[] = [];
    const p = runTask(ctx, async function* () {
      cancel(why);
      log.push("cancelled itself");
      yield;
      log.push("unreachable");
    });
    await expect(p).rejects.toBe(Canceled);
    expect(log).toEqual(["cancelled itself"]);
  });

  it("runTask() throws the cancellation at every later yield (level-triggered)", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    const seen: unknown[] = [];
    // The generator only starts on a live context, so cancel from inside instead.
    const [ctx2, cancel2] = withCancel(background());
    const p = runTask(ctx2, async function* () {
      cancel2();
      for (let i = 0; i < 3; i++) {
        try {
          yield;
        } catch (e) {
          seen.push(e);
        }
      }
      return "gave up";
    });
    await expect(p).resolves.toBe("gave up");
    expect(seen).toEqual([Canceled, Canceled, Canceled]);
    expect(ctx.err).toBe(Canceled);
  });

  it("runTask() resolves with the value when the task catches the cancellation and returns", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      try {
        yield* until(new Promise(() => {}));
        return "finished";
      } catch (e) {
        return e === Canceled ? "stopped" : "other";
      }
    });
    await turn();
    cancel();
    await expect(p).resolves.toBe("stopped");
  });

  it("yield* until() interrupts a wait on a promise that never settles", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      yield* until(new Promise<never>(() => {}));
    });
    await turn();
    expect(liveCounts().tasks).toBe(1);
    cancel();
    await expect(p).rejects.toBe(Canceled);
  });

  it("yield* until() calls a thenable's then() once, as await does", async () => {
    let calls = 0;
    // A lazy query builder runs its query in then(): a second call would run it twice.
    const query: PromiseLike<string> = {
      then(ok, _fail) {
        calls++;
        return Promise.resolve("row").then(ok);
      },
    };
    const got = await runTask(background(), async function* () {
      return yield* until(query);
    });
    expect(got).toBe("row");
    expect(calls).toBe(1);
  });

  it("until() throws a TypeError naming p and the value when given something that is not a promise", () => {
    for (const [bad, received] of [
      [5, "received 5"],
      [null, "received null"],
      [{}, "received <Object>"],
    ] as const) {
      expect(() => until(bad as unknown as PromiseLike<unknown>)).toThrow(new TypeError(`until: p must be a promise or a thenable, ${received}`));
    }
  });

  it("yield* until() sends the value back and throws the rejection into the generator", async () => {
    const oops = new Error("oops");
    const got = await runTask(background(), async function* () {
      const a = yield* until(Promise.resolve(2));
      try {
        yield* until(Promise.reject(oops));
        return -1;
      } catch (e) {
        return e === oops ? a * 21 : -2;
      }
    });
    expect(got).toBe(42);
  });

  it("a promise abandoned by cancellation that rejects later causes no unhandled rejection", async () => {
    const seen = await unhandledDuring(async () => {
      const [ctx, cancel] = withCancel(background());
      let reject!: (e: Error) => void;
      const doomed = new Promise<void>((_, r) => (reject = r));
      const p = runTask(ctx, async function* () {
        yield* until(doomed);
      });
      await turn();
      cancel();
      await expect(p).rejects.toBe(Canceled);
      reject(new Error("late failure"));
    });
    expect(seen).toEqual([]);
  });

  it("generator tasks run one after another share one time slice, so a chain of them lets a due timer run", async () => {
    let fired = false;
    setTimeout(() => (fired = true), 0);
    // Bounded, so that a chain that never lets the timer run fails here instead of holding the
    // thread for good; at about a microsecond a task, the bound is far past any slice.
    let tasks = 0;
    while (!fired && tasks < 200_000) {
      await runTask(background(), async function* () {
        yield;
      });
      tasks++;
    }
    expect(fired).toBe(true);
    expect(tasks).toBeGreaterThan(0);
  });

  it("a CPU-bound loop with bare yields sees a 20 ms withTimeout fire", async () => {
    const [ctx, cancel] = withTimeout(background(), 20);
    let spins = 0;
    const p = runTask(ctx, async function* () {
      for (;;) {
        spins++;
        yield;
      }
    });
    await expect(p).rejects.toBe(DeadlineExceeded);
    expect(spins).toBeGreaterThan(0);
    cancel();
  });

  it("runTask() throws a TypeError into a generator that yields a value", async () => {
    const caught: unknown[] = [];
    const p = runTask(background(), async function* () {
      try {
        yield 42;
      } catch (e) {
        caught.push(e);
      }
      try {
        yield until(Promise.resolve(1));
      } catch (e) {
        caught.push(e);
      }
      const child = async function* (): AsyncGenerator<undefined, void, unknown> {
        yield;
      };
      try {
        yield child();
      } catch (e) {
        caught.push(e);
      }
      return "recovered";
    });
    await expect(p).resolves.toBe("recovered");
    expect(caught).toHaveLength(3);
    expect(caught[0]).toBeInstanceOf(TypeError);
    expect(String(caught[0])).toMatch(/received 42/);
    expect(String(caught[1])).toMatch(/write yield\* until\(\.\.\.\), with the star/);
    expect(String(caught[2])).toMatch(/to run a generator inside this task, delegate to it with yield\*$/);
  });

  it("runTask() disposes of a resource a task yields, which the task could never get back", async () => {
    const events: string[] = [];
    const hold = { [Symbol.dispose]: () => events.push("disposed") };
    let thrown: unknown;
    const p = runTask(background(), async function* () {
      try {
        // The shape of `yield mu.lock(ctx)`: the generator awaits the promise and yields the hold.
        yield Promise.resolve(hold);
      } catch (e) {
        thrown = e;
      }
      events.push("resumed");
    });
    await p;
    expect(events).toEqual(["disposed", "resumed"]);
    expect(thrown).toBeInstanceOf(TypeError);
    expect(String(thrown)).toMatch(/received <Object> \(it was disposed of, since the task can no longer get it\); to wait for a promise, write const v = yield\* until\(promise\)/);
  });

  it("runTask() disposes of a yielded resource through Symbol.dispose only, never waiting on Symbol.asyncDispose", async () => {
    const events: string[] = [];
    const both = {
      [Symbol.asyncDispose]: () => {
        events.push("async dispose");
        return new Promise<void>(() => {});
      },
      [Symbol.dispose]: () => events.push("sync dispose"),
    };
    const asyncOnly = { [Symbol.asyncDispose]: () => new Promise<void>(() => events.push("async-only dispose")) };
    const thrown: unknown[] = [];
    await runTask(background(), async function* () {
      for (const y of [both, asyncOnly]) {
        try {
          yield y;
        } catch (e) {
          thrown.push(e);
        }
      }
    });
    expect(events).toEqual(["sync dispose"]);
    expect(String(thrown[0])).toMatch(/it was disposed of/);
    expect(String(thrown[1])).not.toMatch(/disposed/);
    expect(thrown[1]).toBeInstanceOf(TypeError);
  });

  it("runTask() throws the cancellation when disposing of a yielded resource cancels the task's context", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      yield { [Symbol.dispose]: () => cancel() };
    });
    await expect(p).rejects.toBe(Canceled);
  });

  it("runTask() throws both errors into a task whose yielded resource fails to dispose, as using does", async () => {
    const boom = new Error("dispose failed");
    const p = runTask(background(), async function* () {
      yield {
        [Symbol.dispose]: () => {
          throw boom;
        },
      };
    });
    const err = (await p.catch((e: unknown) => e)) as { name: string; error: unknown; suppressed: unknown };
    expect(err.name).toBe("SuppressedError");
    expect(err.error).toBe(boom);
    expect(err.suppressed).toBeInstanceOf(TypeError);
    expect(String(err.suppressed)).toMatch(/it was disposed of/);
  });

  it("runTask() disposes of a resource yielded after the cancel and throws the cancellation", async () => {
    const [ctx, cancel] = withCancel(background());
    let disposed = 0;
    const p = runTask(ctx, async function* () {
      cancel();
      yield { [Symbol.dispose]: () => disposed++ };
    });
    await expect(p).rejects.toBe(Canceled);
    expect(disposed).toBe(1);
  });

  it("runTask() leaves a yielded value alone when it is not a resource", async () => {
    const getter = vi.fn(() => undefined);
    const value = Object.defineProperty({}, Symbol.dispose, { get: getter });
    const p = runTask(background(), async function* () {
      yield value;
    });
    await expect(p).rejects.toThrow(/received <Object>; to wait for a promise/);
    expect(getter).toHaveBeenCalledTimes(1);
  });

  it("until(p) answers every iterator request as the async generator `return yield instruction` would", async () => {
    type Request = ["next", unknown] | ["throw", unknown] | ["return", unknown];
    const boom = new Error("boom");
    const sequences: Request[][] = [
      [["next", undefined], ["next", 7], ["next", 8]],
      [["next", undefined], ["throw", boom], ["next", 1]],
      [["throw", boom], ["next", 1]],
      [["return", 5], ["next", 1], ["throw", boom]],
      [["next", undefined], ["return", 6], ["return", 9]],
      [["next", undefined], ["return", Promise.resolve("awaited")]],
      [["next", 3], ["next", 4]],
    ];
    const settle = async (p: Promise<IteratorResult<unknown>>): Promise<unknown> =>
      p.then((r) => ({ value: r.value, done: r.done }), (e: unknown) => ({ threw: e }));
    for (const sequence of sequences) {
      const it = until(Promise.resolve(0));
      const instruction = (await it.next()).value;
      const ours = until(Promise.resolve(0));
      const reference = (async function* (): AsyncGenerator<unknown, unknown, unknown> {
        return yield instruction;
      })();
      const outcomes: Array<[unknown, unknown]> = [];
      for (const [kind, arg] of sequence) {
        const mine = kind === "next" ? ours.next(arg) : kind === "throw" ? ours.throw(arg) : ours.return(arg as never);
        const theirs = kind === "next" ? reference.next(arg) : kind === "throw" ? reference.throw(arg) : reference.return(arg as never);
        outcomes.push([await settle(mine), await settle(theirs)]);
      }
      for (const [mine, theirs] of outcomes) {
        // The instruction each yields is its own: compare its kind, everything else exactly.
        const shape = (o: unknown): unknown =>
          o !== null && typeof o === "object" && "value" in o && o.value !== null && typeof o.value === "object" && !(o.value instanceof Error)
            ? { ...o, value: Object.getPrototypeOf(o.value) }
            : o;
        expect(shape(mine)).toEqual(shape(theirs));
      }
    }
  });

  it("const v = yield* until(p) is typed as p's value", async () => {
    await runTask(background(), async function* () {
      const v = yield* until(Promise.resolve({ id: 1 }));
      expectTypeOf(v).toEqualTypeOf<{ id: number }>();
      expect(v.id).toBe(1);
    });
    const n = await runTask(background(), async function* () {
      yield;
      return "done" as const;
    });
    expectTypeOf(n).toEqualTypeOf<"done">();
    expect(n).toBe("done");
  });

  it("runTask() rejects a task or context that is not one, naming the argument", async () => {
    await expect(runTask(background(), 5 as never)).rejects.toThrow(/runTask: task must be a function, received 5/);
    await expect(runTask({} as never, () => 1)).rejects.toThrow(/runTask: ctx must be a Context/);
  });
});

describe("runTask() and abandoned waits", () => {
  it("an until() reached after the context was cancelled leaves no unhandled rejection", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      cancel();
      yield* until(sleep(ctx, 5));
    });
    await expect(p).rejects.toBe(Canceled);
    await turn();
  });
});

describe("yield* until() when the cancel and the settlement meet", () => {
  it("yield* until() delivers a value that was ready when the cancel came, then throws at the next yield", async () => {
    const [ctx, cancel] = withCancel(background());
    let grant!: (v: string) => void;
    const granted = new Promise<string>((r) => (grant = r));
    const seen: unknown[] = [];
    const p = runTask(ctx, async function* () {
      seen.push(yield* until(granted));
      try {
        yield;
      } catch (e) {
        seen.push(e);
      }
    });
    await turn();
    // The hand-over and the cancel in one synchronous turn: the value was ready first.
    grant("the lock");
    cancel();
    await p;
    expect(seen).toEqual(["the lock", Canceled]);
  });

  it("yield* until() begun before the cancel delivers the value it had received when the driver meets it after the cancel", async () => {
    const [ctx, cancel] = withCancel(background());
    const seen: unknown[] = [];
    const p = runTask(ctx, async function* () {
      const wait = until(Promise.resolve("granted"));
      cancel();
      seen.push(yield* wait);
      try {
        yield;
      } catch (e) {
        seen.push(e);
      }
    });
    await p;
    expect(seen).toEqual(["granted", Canceled]);
  });

  it("yield* until() begun before the cancel throws it when its promise rejected, or was still pending", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      const failed = until(Promise.reject(new Error("its own failure")));
      const pending = until(new Promise(() => {}));
      cancel();
      const got: unknown[] = [];
      for (const wait of [failed, pending]) {
        try {
          yield* wait;
        } catch (e) {
          got.push(e);
        }
      }
      return got;
    });
    await expect(p).resolves.toEqual([Canceled, Canceled]);
  });

  it("yield* until() begun after the cancel throws it even when its promise has settled", async () => {
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      cancel();
      return yield* until(Promise.resolve("too late"));
    });
    await expect(p).rejects.toBe(Canceled);
  });

  it("yield* until() throws ctx.err, not a library's error, when its promise rejects in the cancel's own turn", async () => {
    class RequestAborted extends Error {}
    const [ctx, cancel] = withCancel(background());
    // A signal-aware client that rejects with an error of its own from an abort listener.
    const request = new Promise<never>((_, reject) => {
      ctx.signal.addEventListener("abort", () => reject(new RequestAborted("request aborted")), { once: true });
    });
    const p = runTask(ctx, async function* () {
      return yield* until(request);
    });
    await turn();
    cancel();
    await expect(p).rejects.toBe(Canceled);
  });

  it("a loop of yield* until() on settled promises ends at the cancel", async () => {
    const [ctx, cancel] = withCancel(background());
    let rounds = 0;
    const p = runTask(ctx, async function* () {
      for (;;) {
        yield* until(Promise.resolve(rounds));
        if (++rounds === 3) cancel();
      }
    });
    await expect(p).rejects.toBe(Canceled);
    expect(rounds).toBe(3);
  });

  it("yield* until() throws the cancellation when the promise was still pending as the cancel came", async () => {
    const [ctx, cancel] = withCancel(background());
    let resolve!: (v: string) => void;
    const later = new Promise<string>((r) => (resolve = r));
    const p = runTask(ctx, async function* () {
      return yield* until(later);
    });
    await turn();
    cancel();
    // The value comes a turn of the event loop later: past the cancel's few microtasks of grace.
    setImmediate(() => resolve("after the cancel"));
    await expect(p).rejects.toBe(Canceled);
  });
});

describe("yield* until() on a long-lived promise", () => {
  it("waits abandoned on a promise that never settles leave nothing behind: a second 100,000 cancelled tasks grow the heap < 2 MB", async () => {
    // A server's "shutting down" promise, which every request's task also waits on.
    const shutdown = new Promise<never>(() => {});
    const wave = async (n: number): Promise<void> => {
      const tasks: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const [ctx, cancel] = withCancel(background());
        tasks.push(
          runTask(ctx, async function* () {
            yield* until(shutdown);
          }).catch((e: unknown) => e),
        );
        cancel();
      }
      const outcomes = await Promise.all(tasks);
      expect(outcomes.every((e) => e === Canceled)).toBe(true);
    };
    // The first wave grows the tables a burst of 100,000 tasks needs to their full size.
    const grown = await heapGrowthMB(
      () => wave(100_000),
      () => wave(100_000),
    );
    // One reaction per wait used to stay on the promise: about 10 MB per wave.
    expect(grown).toBeLessThan(2);
  }, 30_000);

  it("until() adopts a promise subclass through its own then, as await does, once however many waits share it", async () => {
    let thens = 0;
    class Tracked<T> extends Promise<T> {
      override then<A = T, B = never>(ok?: ((v: T) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
        thens++;
        return super.then(ok, fail);
      }
    }
    let resolve!: (v: number) => void;
    const shared = new Tracked<number>((r) => (resolve = r));
    const [ctx, cancel] = withCancel(background());
    const waits = Array.from({ length: 5 }, () =>
      runTask(ctx, async function* () {
        return yield* until(shared);
      }),
    );
    await turn();
    resolve(7);
    expect(await Promise.all(waits)).toEqual([7, 7, 7, 7, 7]);
    // Its own then runs (a lazy subclass starts its work there), once for the one shared watch.
    expect(thens).toBe(1);
    cancel();
  });

});

describe("until() and tasks with unusual promises and yields", () => {
  it("until() of a promise whose own code calls until() on it while it is first watched still gets its value", async () => {
    const seen = new WeakSet<object>();
    class Traced<T> extends Promise<T> {}
    Object.defineProperty(Traced.prototype, "constructor", {
      get(this: Traced<unknown>) {
        if (!seen.has(this)) {
          seen.add(this);
          void until(this);
        }
        return Traced;
      },
    });
    const v = await runTask(background(), async function* () {
      return yield* until(Traced.resolve(42));
    });
    expect(v).toBe(42);
  });

  it("until() of a frozen promise, twice, gets its value each time", async () => {
    const p = Object.freeze(Promise.resolve(7));
    const v = await runTask(background(), async function* () {
      return (yield* until(p)) + (yield* until(p));
    });
    expect(v).toBe(14);
  });

  it("an until() instruction taken out and yielded again is refused with a TypeError, not waited on again", async () => {
    const p = runTask(background(), async function* () {
      const instruction = (await until(Promise.resolve(1)).next()).value;
      yield instruction;
      try {
        yield instruction;
      } catch (e) {
        return e;
      }
      return "accepted twice";
    });
    const got = await p;
    expect(got).toBeInstanceOf(TypeError);
  });

  it("runTask() throws a yielded value that cannot even be inspected into the generator, so its cleanup runs", async () => {
    const odd = new Proxy(
      {},
      {
        getPrototypeOf(): never {
          throw new Error("cannot inspect");
        },
      },
    );
    let cleanedUp = false;
    const p = runTask(background(), async function* () {
      try {
        yield odd;
      } finally {
        cleanedUp = true;
      }
    });
    await expect(p).rejects.toBeInstanceOf(TypeError);
    expect(cleanedUp).toBe(true);
  });

  it("yield* until() of a Proxy around a native promise gets its value, as await does", async () => {
    const px = new Proxy(Promise.resolve(41), {
      get(t, k) {
        const v: unknown = Reflect.get(t, k);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const got = await runTask(background(), async function* () {
      return (yield* until(px)) + 1;
    });
    expect(got).toBe(42);
  });

  it("a task whose promise's then calls back and then throws is reported once and stops being counted", async () => {
    class Twice<T> extends Promise<T> {
      override then<A = T, B = never>(ok?: ((v: T) => A | PromiseLike<A>) | null): Promise<A | B> {
        ok?.("v" as T);
        throw new Error("then threw after calling back");
      }
    }
    await expect(runTask(background(), () => new Twice<string>(() => {}))).resolves.toBe("v");
    expect(liveCounts().tasks).toBe(0);
  });

  it("yield* until() of a rejected promise from a vm context whose queue never drains leaves no unhandled rejection", async () => {
    const { runInNewContext } = await import("node:vm");
    const seen = await unhandledDuring(async () => {
      const foreign = runInNewContext("Promise.reject(new Error('boom'))", {}, { microtaskMode: "afterEvaluate" }) as Promise<never>;
      const [ctx, cancel] = withCancel(background());
      const p = runTask(ctx, async function* () {
        yield* until(foreign);
      });
      await turn();
      cancel();
      await expect(p).rejects.toBe(Canceled);
    });
    expect(seen).toEqual([]);
  });
});

describe("runTask() under a foreign context that refuses a listener", () => {
  it("yield* until() throws the refusal into the task, whose cleanup runs before runTask rejects", async () => {
    const refused = new Error("listener refused");
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener: () => {
        throw refused;
      },
      removeEventListener: () => {},
    };
    const foreign = { deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal, value: () => undefined };
    const log: string[] = [];
    const p = runTask(foreign as unknown as Context, async function* () {
      try {
        yield* until(new Promise<number>(() => {}));
      } catch (e) {
        log.push(`caught ${(e as Error).message}`);
        throw e;
      } finally {
        log.push("finally");
      }
    });
    await expect(p).rejects.toBe(refused);
    expect(log).toEqual(["caught listener refused", "finally"]);
    expect(liveCounts().tasks).toBe(0);
  });
});

describe("runTask() time slices under fake and frozen clocks", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runTask() lets a fake timer end a loop of bare yields under vitest's default fake timers", async () => {
    vi.useFakeTimers();
    const [ctx, cancel] = withTimeout(background(), 100);
    let steps = 0;
    const task = runTask(ctx, async function* () {
      for (;;) {
        steps++;
        yield;
      }
    });
    const outcome = task.then(
      () => "resolved",
      (err: unknown) => err,
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe(DeadlineExceeded);
    expect(steps).toBeGreaterThan(0);
    cancel();
  });

  const frozen = fileURLToPath(new URL("./test-helpers/frozen-clock.mjs", import.meta.url));

  it(
    "runTask() hands the event loop a turn even when the clock was frozen before core loaded",
    async () => {
      // The bound is this test's timeout: a driver that waits for the clock would loop forever.
      expect(await runNodeReport(frozen)).toEqual({ err: "context canceled", stepped: true });
    },
    15_000,
  );

  const fakeFirst = fileURLToPath(new URL("./test-helpers/fake-timers-first.mjs", import.meta.url));

  it(
    "runTask() finishes a long run of yields when fake timers were installed before core loaded",
    async () => {
      // The bound is this test's timeout: a driver that waits on the fake setImmediate never resumes.
      expect(await runNodeReport(fakeFirst)).toEqual({ finished: "finished", looped: "context canceled", promptly: true });
    },
    15_000,
  );
});
