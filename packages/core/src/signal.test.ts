import { getEventListeners } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  background,
  cause,
  createKey,
  withCancel,
  withCancelCause,
  withTimeout,
  withSignal,
  withValue,
  withoutCancel,
  type Context,
} from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { ForeignContext } from "./test-helpers/foreign.js";
import { isSettled } from "./test-helpers/flush.js";
import { runNodeReport } from "../../../test/child.js";

/** A fetch-style consumer: waits for work that aborts with `signal.reason`, as fetch() does. */
function abortableWork(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

describe("Context.signal", () => {
  it("aborts with reason === cause(ctx) for each way a context ends", () => {
    vi.useFakeTimers();
    const why = new Error("why");
    const [byCancel, cancel1] = withCancel(background());
    const [byCause, cancel2] = withCancelCause(background());
    const [byTimeout, cancel3] = withTimeout(background(), 10);
    const [byTimeoutCause, cancel4] = withTimeout(background(), 10, why);
    const [parent, cancelParent] = withCancelCause(background());
    const inherited = withValue(withCancel(parent)[0], createKey("k"), 1);
    const all = [byCancel, byCause, byTimeout, byTimeoutCause, inherited];
    const signals = all.map((c) => c.signal);
    expect(signals.some((s) => s.aborted)).toBe(false);

    cancel1();
    cancel2(why);
    cancelParent(why);
    vi.advanceTimersByTime(10);

    expect(signals.map((s) => s.reason)).toEqual([Canceled, why, DeadlineExceeded, why, why]);
    all.forEach((c, i) => expect(signals[i]?.reason, String(c)).toBe(cause(c)));
    for (const f of [cancel3, cancel4]) f();
  });

  it("gives a fetch-style consumer the real cause, whether it waits or starts after the cancel", async () => {
    const [ctx, cancel] = withCancelCause(background());
    const waiting = abortableWork(ctx.signal);
    const why = new Error("user navigated away");
    cancel(why);
    await expect(waiting).rejects.toBe(why);
    await expect(abortableWork(ctx.signal)).rejects.toBe(why);
  });

  it("makes fetch() reject with the real cause", async () => {
    const [ctx, cancel] = withCancelCause(background());
    const why = new Error("shutting down");
    cancel(why);
    // An aborted signal makes fetch reject before it touches the network.
    await expect(fetch("http://127.0.0.1:9/", { signal: ctx.signal })).rejects.toBe(why);
  });

  it("is the same object on every read, before and after cancel, through value layers", () => {
    const [ctx, cancel] = withCancel(background());
    const layered = withValue(ctx, createKey("k"), 1);
    const s = ctx.signal;
    expect(ctx.signal).toBe(s);
    expect(layered.signal).toBe(s);
    cancel();
    expect(ctx.signal).toBe(s);
    expect(layered.signal).toBe(s);
  });

  it("read first on an already-cancelled context is already aborted with the cause", () => {
    const [ctx, cancel] = withCancelCause(background());
    const why = new Error("before anyone looked");
    cancel(why);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe(why);
    expect(ctx.signal).toBe(ctx.signal);
  });

  it("never aborts on a context that can never be cancelled", () => {
    for (const ctx of [background(), withoutCancel(background()), withValue(background(), createKey("k"), 1)]) {
      expect(ctx.signal.aborted).toBe(false);
      expect(ctx.signal).toBe(ctx.signal);
    }
  });
});

describe("Context.done", () => {
  it("resolves, never rejects, once the context is cancelled or expires", async () => {
    vi.useFakeTimers();
    const [a, cancelA] = withCancelCause(background());
    const [b, cancelB] = withTimeout(background(), 10);
    const doneA = a.done;
    const doneB = b.done;
    expect(await isSettled(doneA)).toBe(false);
    cancelA(new Error("cause is not thrown"));
    vi.advanceTimersByTime(10);
    await expect(doneA).resolves.toBeUndefined();
    await expect(doneB).resolves.toBeUndefined();
    cancelB();
  });

  it("is the same promise on every read, before and after cancel, through value layers", () => {
    const [ctx, cancel] = withCancel(background());
    const layered = withValue(ctx, createKey("k"), 1);
    const d = ctx.done;
    expect(ctx.done).toBe(d);
    expect(layered.done).toBe(d);
    cancel();
    expect(ctx.done).toBe(d);
  });

  it("read first on an already-cancelled context is an already-resolved promise", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    const d = ctx.done;
    expect(ctx.done).toBe(d);
    expect(await isSettled(d)).toBe(true);
    await expect(d).resolves.toBeUndefined();
  });

  it("stays pending on a context that can never be cancelled", async () => {
    expect(await isSettled(background().done)).toBe(false);
    expect(await isSettled(withoutCancel(background()).done)).toBe(false);
    expect(background().done).toBe(background().done);
  });
});

describe("withSignal()", () => {
  it("a reason whose cause getter throws still cancels the child, with Canceled, and throws nowhere", () => {
    const reason = new Error("odd");
    Object.defineProperty(reason, "cause", {
      get() {
        throw new Error("boom");
      },
    });
    const ac = new AbortController();
    const [live, cancelLive] = withSignal(background(), ac.signal);
    ac.abort(reason);
    expect(live.err).toBe(Canceled);
    expect(cause(live)).toBe(reason);
    const [born, cancelBorn] = withSignal(background(), AbortSignal.abort(reason));
    expect(born.err).toBe(Canceled);
    cancelLive();
    cancelBorn();
  });

  it("a Tether deadline passed on through AbortSignal.any, or wrapped as a cause, stays DeadlineExceeded", () => {
    const [expired, cancelExpired] = withTimeout(background(), 0);
    const [viaAny, cancelViaAny] = withSignal(background(), AbortSignal.any([expired.signal]));
    expect(viaAny.err).toBe(DeadlineExceeded);
    expect(cause(viaAny)).toBe(DeadlineExceeded);
    const wrapped = new Error("upstream gave up", { cause: DeadlineExceeded });
    const [viaWrap, cancelViaWrap] = withSignal(background(), AbortSignal.abort(wrapped));
    expect(viaWrap.err).toBe(DeadlineExceeded);
    expect(cause(viaWrap)).toBe(wrapped);
    const [plain, cancelPlain] = withSignal(background(), AbortSignal.abort(new Error("no")));
    expect(plain.err).toBe(Canceled);
    for (const cancel of [cancelExpired, cancelViaAny, cancelViaWrap, cancelPlain]) cancel();
  });

  it("is cancelled with Canceled and cause = reason when the signal aborts", () => {
    const ac = new AbortController();
    const [parent, cancelParent] = withCancel(background());
    const [ctx, cancel] = withSignal(parent, ac.signal);
    const [child] = withCancel(ctx);
    const why = new Error("client went away");
    ac.abort(why);
    expect(ctx.err).toBe(Canceled);
    expect(cause(ctx)).toBe(why);
    expect(child.err).toBe(Canceled);
    expect(cause(child)).toBe(why);
    expect(parent.err).toBeUndefined();
    expect(childCount(parent)).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    cancel();
    cancelParent();
  });

  it("maps a TimeoutError reason from AbortSignal.timeout() to DeadlineExceeded", async () => {
    const signal = AbortSignal.timeout(1);
    const [ctx, cancel] = withSignal(background(), signal);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(cause(ctx)).toBeInstanceOf(DOMException);
    expect((cause(ctx) as DOMException).name).toBe("TimeoutError");
    expect(cause(ctx)).toBe(signal.reason);
    cancel();
  });

  it("maps the default AbortError reason of abort() to Canceled", () => {
    const ac = new AbortController();
    const [ctx, cancel] = withSignal(background(), ac.signal);
    ac.abort();
    expect(ctx.err).toBe(Canceled);
    expect((cause(ctx) as DOMException).name).toBe("AbortError");
    cancel();
  });

  it("on an already-aborted signal gives a cancelled child and adds no listener", () => {
    const ac = new AbortController();
    const why = new Error("already gone");
    ac.abort(why);
    const [ctx, cancel] = withSignal(background(), ac.signal);
    expect(ctx.err).toBe(Canceled);
    expect(cause(ctx)).toBe(why);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(liveCounts().foreignListeners).toBe(0);
    const [late, cancelLate] = withSignal(background(), AbortSignal.abort(new DOMException("t", "TimeoutError")));
    expect(late.err).toBe(DeadlineExceeded);
    cancel();
    cancelLate();
  });

  it("cancel() removes its listener from the signal", () => {
    const ac = new AbortController();
    const [ctx, cancel] = withSignal(background(), ac.signal);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    cancel();
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    ac.abort(new Error("too late"));
    expect(cause(ctx)).toBe(Canceled);
  });

  it("a parent's cancel removes the child's listener from the signal", () => {
    const ac = new AbortController();
    const [parent, cancelParent] = withCancel(background());
    const [ctx, cancel] = withSignal(withValue(parent, createKey("k"), 1), ac.signal);
    cancelParent();
    expect(ctx.err).toBe(Canceled);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    cancel();
  });

  it("under a cancelled parent takes the parent's cause and adds no listener", () => {
    const ac = new AbortController();
    const [parent, cancelParent] = withCancelCause(background());
    const why = new Error("parent first");
    cancelParent(why);
    const [ctx, cancel] = withSignal(parent, ac.signal);
    expect(cause(ctx)).toBe(why);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    cancel();
  });

  it("follows a foreign parent and its own signal, whichever aborts first", () => {
    const foreign = new ForeignContext();
    const ac = new AbortController();
    const [ctx, cancel] = withSignal(foreign, ac.signal);
    const why = new Error("foreign first");
    foreign.cancel(why);
    expect(cause(ctx)).toBe(why);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    cancel();
  });

  it("accepts a Tether context's own signal", () => {
    const [source, cancelSource] = withCancelCause(background());
    const [ctx, cancel]: [Context, () => void] = withSignal(background(), source.signal);
    const why = new Error("source ended");
    cancelSource(why);
    expect(cause(ctx)).toBe(why);
    cancel();
  });

  it("a chain of 20,000 contexts, each following the previous one's signal, is cancelled whole by one cancel(), which returns", () => {
    const [root, cancelRoot] = withCancelCause(background());
    const chain: Context[] = [];
    const cancels: Array<() => void> = [];
    let prev: Context = root;
    for (let i = 0; i < 20_000; i++) {
      const [c, cancel] = withSignal(withValue(background(), createKey("link"), i), prev.signal);
      chain.push(c);
      cancels.push(cancel);
      prev = c;
    }
    // Every err is set before any abort listener runs, down to the last link.
    const seen: unknown[] = [];
    (chain[0] as Context).signal.addEventListener("abort", () => seen.push((chain[chain.length - 1] as Context).err));
    const why = new Error("root ended");
    expect(() => cancelRoot(why)).not.toThrow();
    expect(seen).toEqual([Canceled]);
    expect(chain.every((c) => c.err === Canceled && cause(c) === why && c.signal.aborted)).toBe(true);
    expect(childCount(root)).toBe(0);
    for (const cancel of cancels) cancel();
  });
});

describe("foreign signals that misbehave", () => {
  it(
    "a signal whose removeEventListener or reason getter throws stops no cancel halfway: every follower is cancelled and each error is reported as uncaught",
    async () => {
      const fixture = fileURLToPath(new URL("./test-helpers/refusing-signal.mjs", import.meta.url));
      expect(existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url))), "build with `npx tsc -b` first").toBe(true);
      expect(await runNodeReport(fixture)).toEqual({
        removeRefused: { threw: null, aborted: [true, true, true] },
        reasonRefused: { aborted: [true, true], errs: ["CanceledError", "CanceledError"] },
        uncaught: ["signal gone", "reason gone"],
        live: { nodesWithChildren: 0, foreignListeners: 0, timers: 0, tasks: 0, waiters: 0 },
      });
    },
    15_000,
  );

  it("withSignal() whose signal throws on addEventListener or on reason throws and links no child", () => {
    const [parent, cancel] = withCancel(background());
    const refusing = { aborted: false, addEventListener: () => { throw new Error("refused"); }, removeEventListener: () => {} };
    expect(() => withSignal(parent, refusing as unknown as AbortSignal)).toThrow("refused");
    const unreadable = {
      aborted: true,
      get reason(): unknown {
        throw new Error("no reason");
      },
      addEventListener: () => {},
      removeEventListener: () => {},
    };
    expect(() => withSignal(parent, unreadable as unknown as AbortSignal)).toThrow("no reason");
    expect(childCount(parent)).toBe(0);
    cancel();
  });

  it("a foreign context whose first subscribe failed is subscribed again by its next child, which its abort cancels", () => {
    const foreign = new ForeignContext();
    const signal = foreign.signal;
    const add = signal.addEventListener.bind(signal);
    let calls = 0;
    signal.addEventListener = ((...args: Parameters<AbortSignal["addEventListener"]>) => {
      if (calls++ === 0) throw new Error("transient");
      add(...args);
    }) as AbortSignal["addEventListener"];
    expect(() => withCancel(foreign)).toThrow("transient");
    const [child, cancel] = withCancel(foreign);
    foreign.cancel("stop");
    expect([child.err, cause(child)]).toEqual([Canceled, "stop"]);
    cancel();
  });

  it("a foreign context whose err getter throws after its abort still cancels its children, with that error", () => {
    const ac = new AbortController();
    const broken = new Error("err getter broke");
    const foreign: Context = {
      deadline: undefined,
      get err(): Error | undefined {
        if (ac.signal.aborted) throw broken;
        return undefined;
      },
      done: new Promise<void>(() => {}),
      signal: ac.signal,
      value: () => undefined,
    };
    const [child, cancel] = withCancel(foreign);
    ac.abort("stop");
    expect(child.err).toBe(broken);
    cancel();
  });
});
