import { describe, expect, it, vi } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  afterFunc,
  background,
  cause,
  errorIs,
  runTask,
  sleep,
  until,
  withCancel,
  withCancelCause,
  withDeadline,
  withSignal,
  withTimeout,
} from "@tether/core";
import { liveCounts, trackLeaks } from "@tether/core/testing";
import { enableTrace } from "@tether/core/debug";
import { hooks } from "./counters.js";
import { unhandledDuring } from "./test-helpers/unhandled.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Captured before any test installs fake timers. */
const realSetImmediate = globalThis.setImmediate;

describe("edge cases: runTask() driver", () => {
  it("runTask() handles the rejection of an until() promise abandoned because ctx was cancelled before the driver saw the yield", async () => {
    const seen = await unhandledDuring(async () => {
      const [ctx, cancel] = withCancel(background());
      let rejectLater!: (e: unknown) => void;
      const p = runTask(ctx, async function* () {
        yield* until(new Promise((_, reject) => (rejectLater = reject)));
      });
      // The generator has already yielded its until() instruction; the driver has not resumed yet.
      cancel();
      await expect(p).rejects.toBe(Canceled);
      rejectLater(new Error("late failure of an abandoned promise"));
    });
    expect(seen).toEqual([]);
  });

  it("runTask() handles the rejection of an until() promise yielded by cleanup after cancellation", async () => {
    const seen = await unhandledDuring(async () => {
      const [ctx, cancel] = withCancel(background());
      let rejectLater!: (e: unknown) => void;
      const p = runTask(ctx, async function* () {
        try {
          for (;;) yield;
        } finally {
          // A (documented) mistake, but the abandoned promise must still not surface as unhandled.
          yield* until(new Promise((_, reject) => (rejectLater = reject)));
        }
      });
      await turn();
      cancel();
      await expect(p).rejects.toBe(Canceled);
      rejectLater(new Error("late"));
    });
    expect(seen).toEqual([]);
  });

  it("runTask() lets timers run in a checkpoint loop that also waits on until() of ready promises", async () => {
    // Make the driver's clock deterministic: every reading is one millisecond later than the last.
    let fake = performance.now();
    const spy = vi.spyOn(performance, "now").mockImplementation(() => (fake += 1));
    let macrotaskRan = false;
    setImmediate(() => (macrotaskRan = true));
    try {
      const iterations = await runTask(background(), async function* () {
        let n = 0;
        // Bounded so that a failing run ends; a correct driver lets the setImmediate run within ~4 ticks.
        while (!macrotaskRan && n < 20_000) {
          yield* until(Promise.resolve(n)); // e.g. a cache hit
          yield; // a checkpoint: it must let timers and I/O run every few milliseconds
          n++;
        }
        return n;
      });
      expect(macrotaskRan).toBe(true);
      expect(iterations).toBeLessThan(20_000);
    } finally {
      spy.mockRestore();
    }
  });

  it("runTask() lets timers run while a generator that swallows cancellation keeps yielding", async () => {
    const [ctx, cancel] = withCancel(background());
    let macrotaskRan = false;
    const p = runTask(ctx, async function* () {
      let n = 0;
      // Misbehaving task: it ignores the cancellation at every checkpoint until a macrotask has run.
      while (!macrotaskRan && n < 300_000) {
        try {
          yield;
        } catch {
          /* ignored on purpose */
        }
        n++;
      }
      return macrotaskRan ? "a macrotask ran" : "starved: no macrotask ran in 300,000 checkpoints";
    });
    cancel();
    setImmediate(() => (macrotaskRan = true));
    expect(await p).toBe("a macrotask ran");
  });

  it("runTask() wraps a cleanup failure after a cancel thrown in at a yield, and passes one after the task's own ctx-aware await through", async () => {
    const cleanup = new Error("cleanup failed");
    const atYield = withCancel(background());
    const atAwait = withCancel(background());
    const viaYield = runTask(atYield[0], async function* () {
      try {
        for (;;) yield;
      } finally {
        throw cleanup;
      }
    });
    const viaAwait = runTask(atAwait[0], async function* (ctx) {
      try {
        await sleep(ctx, 60_000);
      } finally {
        throw cleanup;
      }
    });
    const outcomes = Promise.all([viaYield.catch((e: unknown) => e), viaAwait.catch((e: unknown) => e)]);
    await turn();
    atYield[1]();
    atAwait[1]();
    const [e1, e2] = await outcomes;
    // The driver threw the cancellation in: what cleanup threw is reported beside it.
    expect(e1).toBeInstanceOf(Error);
    expect((e1 as Error).name).toBe("SuppressedError");
    expect((e1 as { error: unknown }).error).toBe(cleanup);
    expect(errorIs(e1, Canceled)).toBe(true);
    // The task's own wait saw the cancel, and the task failed: as an async function's, its error.
    expect(e2).toBe(cleanup);
  });

  it("runTask() keeps a cleanup failure that cannot be printed or inspected inside its SuppressedError", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwingCause = new Error("cleanup failed");
    Object.defineProperty(throwingCause, "cause", {
      get(): never {
        throw new Error("cause getter threw");
      },
    });
    const oddities: unknown[] = [
      Object.create(null),
      {
        toString(): never {
          throw new Error("no toString");
        },
      },
      proxy,
      throwingCause,
    ];
    for (const odd of oddities) {
      const [ctx, cancel] = withCancel(background());
      const p = runTask(ctx, async function* () {
        try {
          for (;;) yield;
        } finally {
          // eslint-disable-next-line no-unsafe-finally -- the failure under test
          throw odd;
        }
      });
      await turn();
      cancel();
      const err = await p.catch((e: unknown) => e);
      expect((err as Error).name).toBe("SuppressedError");
      expect((err as { error: unknown }).error).toBe(odd);
      expect((err as { suppressed: unknown }).suppressed).toBe(Canceled);
    }
  });

  it("runTask() passes through a generator task's own failure that a cancel raced, as for an async function", async () => {
    const own = new Error("db write failed");
    const [ctx, cancel] = withCancel(background());
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    const p = runTask(ctx, async function* () {
      // An await that does not watch ctx: the task never learns of the cancel before it fails.
      await paused;
      throw own;
    });
    await turn();
    cancel();
    resume();
    await expect(p).rejects.toBe(own);
  });

  it("runTask() passes through the failure of a task that cancels its own context on the way out", async () => {
    const own = new Error("validation failed");
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      try {
        yield;
        throw own;
      } finally {
        cancel();
      }
    });
    await expect(p).rejects.toBe(own);
  });

  it("runTask() passes a rejection from a thenable whose then getter throws into the generator", async () => {
    const bad = new Error("then getter threw");
    const thenable = {
      get then(): never {
        throw bad;
      },
    } as unknown as PromiseLike<number>;
    const got = await runTask(background(), async function* () {
      try {
        return yield* until(thenable);
      } catch (e) {
        return e;
      }
    });
    expect(got).toBe(bad);
  });

  it("runTask() passes a rejection from a thenable whose then() throws synchronously into the generator", async () => {
    const bad = new Error("then threw");
    const thenable: PromiseLike<number> = {
      then() {
        throw bad;
      },
    };
    const [ctx, cancel] = withCancel(background());
    const p = runTask(ctx, async function* () {
      return yield* until(thenable);
    });
    await expect(p).rejects.toBe(bad);
    expect(liveCounts().nodesWithChildren).toBe(0);
    cancel();
  });
});

describe("edge cases: cancel tree and timers", () => {
  it("cancel() called from an abort listener of a descendant during the same cancel pass keeps the first cause and counters at zero", async () => {
    const [root, cancelRoot] = withCancelCause(background());
    const [child, cancelChild] = withCancelCause(root);
    const [grand, cancelGrand] = withCancel(child);
    const order: string[] = [];
    child.signal.addEventListener("abort", () => {
      order.push(`child aborted, grand.err=${String(grand.err?.message)}`);
      cancelGrand();
      cancelChild("second cause");
      cancelRoot("third cause");
      // Deriving and waiting on an already-cancelled node from inside the pass.
      const [late, cancelLate] = withCancel(grand);
      order.push(`late.err=${String(late.err?.message)}`);
      cancelLate();
    });
    afterFunc(grand, () => order.push("afterFunc(grand)"));
    cancelRoot("first cause");
    expect(cause(grand)).toBe("first cause");
    expect(order).toEqual(["child aborted, grand.err=context canceled", "late.err=context canceled"]);
    await turn();
    expect(order.at(-1)).toBe("afterFunc(grand)");
  });

  it("withSignal() on a Tether context's signal gives DeadlineExceeded whether that context expired before or after", () => {
    vi.useFakeTimers();
    const [expired, cancelExpired] = withTimeout(background(), 0);
    const [before, cancelBefore] = withSignal(background(), expired.signal);
    const [live, cancelLive] = withTimeout(background(), 10);
    const [after, cancelAfter] = withSignal(background(), live.signal);
    vi.advanceTimersByTime(10);
    expect(after.err).toBe(DeadlineExceeded);
    expect(before.err).toBe(DeadlineExceeded);
    for (const c of [cancelExpired, cancelBefore, cancelLive, cancelAfter]) c();
  });

  it("withDeadline() at exactly the parent's deadline makes no timer and expires with the parent", () => {
    vi.useFakeTimers();
    const [parent, cancelParent] = withTimeout(background(), 1_000, "parent cause");
    const [child, cancelChild] = withDeadline(parent, parent.deadline as number, "child cause");
    expect(liveCounts().timers).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(child.err).toBe(DeadlineExceeded);
    cancelChild();
    cancelParent();
  });

  it("withTimeout() longer than 2^31-1 ms fires at the right time, without an overflow warning, under fake timers", () => {
    vi.useFakeTimers();
    const ms = 2 ** 31 + 5_000;
    const [ctx, cancel] = withTimeout(background(), ms);
    vi.advanceTimersByTime(2 ** 31);
    expect(ctx.err).toBeUndefined();
    vi.advanceTimersByTime(5_000);
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    cancel();
  });

  it("sleep() longer than 2^31-1 ms resolves at the right time under fake timers", async () => {
    vi.useFakeTimers();
    let done = false;
    const p = sleep(background(), 2 ** 31 + 10).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    await p;
    expect(done).toBe(true);
  });

  it("runTask() with a long checkpoint loop completes under fake timers that fake setImmediate but not performance", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "Date"] });
    const started = performance.now();
    const p = runTask(background(), async function* () {
      let n = 0;
      while (performance.now() - started < 20) {
        yield;
        n++;
      }
      return n;
    });
    let settled = false;
    void p.then(() => (settled = true));
    // Real time passes; nobody advances the fake clock.
    const realWait = (): Promise<void> => new Promise((r) => realSetImmediate(r));
    // A generous bound, reached only if it never settles: a loaded machine may stall for a while.
    const until = performance.now() + 5_000;
    while (!settled && performance.now() < until) await realWait();
    const wasSettled = settled;
    while (!settled) await vi.runOnlyPendingTimersAsync();
    vi.useRealTimers();
    await p;
    expect(wasSettled).toBe(true);
  }, 15_000);
});

describe("edge cases: small misuse paths", () => {
  it("runTask() leaves no unhandled rejection when a task writes yield until(p) without the star", async () => {
    let rejectLater!: (e: unknown) => void;
    const outcome = await runTask(background(), async function* () {
      try {
        // A day-one typo: the driver answers with a TypeError, but p is never observed.
        yield until(new Promise((_, reject) => (rejectLater = reject)));
        return "no error";
      } catch (e) {
        return e instanceof TypeError ? "TypeError" : "other";
      }
    });
    expect(outcome).toBe("TypeError");
    rejectLater(new Error("p failed after the TypeError"));
    await turn();
  });
});

describe("edge cases: debug hooks", () => {
  it("trackLeaks().stop() and enableTrace(false) uninstall their hooks whatever the order they are stopped in", () => {
    const tracker = trackLeaks();
    enableTrace();
    tracker.stop();
    enableTrace(false);
    const left = hooks.created;
    // Restore by hand so that a failure here does not slow every later test.
    hooks.created = undefined;
    hooks.released = undefined;
    expect(left).toBeUndefined();
  });
});
