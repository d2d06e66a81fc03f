import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  afterFunc,
  background,
  cause,
  createKey,
  sleep,
  withCancel,
  withCancelCause,
  withDeadline,
  withSignal,
  withTimeout,
  withValue,
  withoutCancel,
  type Context,
} from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { cancelEpoch } from "@tether/core/internal";
import { heapGrowthMB } from "../../../test/heap.js";
import { ForeignContext, WrappedContext } from "./test-helpers/foreign.js";

const key = createKey<string>("key");

describe("withCancel()", () => {
  it("cancel() marks every descendant cancelled before it returns, through value and detached layers", () => {
    const [root, cancelRoot] = withCancel(background());
    const v1 = withValue(root, key, "v1");
    const [c1, cancelC1] = withCancel(v1);
    const [t1, cancelT1] = withTimeout(c1, 60_000);
    const v2 = withValue(t1, key, "v2");
    const [cc, cancelCc] = withCancelCause(v2);
    const [s1, cancelS1] = withSignal(cc, new AbortController().signal);
    const detached = withoutCancel(c1);
    const [underDetached, cancelUnderDetached] = withCancel(detached);
    const valueUnderDetached = withValue(underDetached, key, "d");
    const reached = [v1, c1, t1, v2, cc, s1];
    const signals = reached.map((c) => c.signal);

    cancelRoot();

    for (const c of [root, ...reached]) {
      expect(c.err, String(c)).toBe(Canceled);
      expect(cause(c), String(c)).toBe(Canceled);
    }
    for (const s of signals) expect(s.aborted).toBe(true);
    expect(liveCounts().timers).toBe(0);
    expect(detached.err).toBeUndefined();
    expect(underDetached.err).toBeUndefined();
    expect(valueUnderDetached.err).toBeUndefined();

    cancelUnderDetached();
    expect(valueUnderDetached.err).toBe(Canceled);
    expect(detached.err).toBeUndefined();
    for (const f of [cancelC1, cancelT1, cancelCc, cancelS1]) f();
  });

  it("cancel() sets err on the whole subtree before any abort listener runs", () => {
    const [root, cancelRoot] = withCancel(background());
    const [a] = withCancel(root);
    const [b] = withCancel(withValue(a, key, "b"));
    const [c] = withTimeout(b, 60_000);
    const [d] = withCancel(root);
    const all = [root, a, b, c, d];
    const seen: Array<Array<Error | undefined>> = [];
    for (const ctx of all) ctx.signal.addEventListener("abort", () => seen.push(all.map((x) => x.err)));

    cancelRoot();

    expect(seen).toHaveLength(all.length);
    for (const errs of seen) expect(errs).toEqual(all.map(() => Canceled));
  });

  it("cancel() of a child leaves the parent and its siblings alive and unlinks the child", () => {
    const [parent, cancelParent] = withCancel(background());
    const [a, cancelA] = withCancel(parent);
    const aValue = withValue(a, key, "a");
    const [aChild] = withCancel(aValue);
    const [b, cancelB] = withCancel(parent);
    expect(childCount(parent)).toBe(2);

    cancelA();

    expect([a.err, aValue.err, aChild.err]).toEqual([Canceled, Canceled, Canceled]);
    expect(parent.err).toBeUndefined();
    expect(b.err).toBeUndefined();
    expect(childCount(parent)).toBe(1);
    expect(childCount(a)).toBe(0);
    cancelB();
    expect(childCount(parent)).toBe(0);
    expect(parent.err).toBeUndefined();
    cancelParent();
  });

  it("cancel() is idempotent: a second call changes nothing", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const [ctx, cancel] = withCancel(parent);
    cancel();
    cancel();
    cancelParent(new Error("later"));
    expect(ctx.err).toBe(Canceled);
    expect(cause(ctx)).toBe(Canceled);
  });

  it("cancel() of a parent reaches a child derived after a value layer over a detached context", () => {
    const detached = withoutCancel(background());
    const [mid, cancelMid] = withCancel(withValue(detached, key, "x"));
    const [leaf] = withCancel(withValue(mid, key, "y"));
    expect(childCount(mid)).toBe(1);
    cancelMid();
    expect(leaf.err).toBe(Canceled);
    expect(leaf.value(key)).toBe("y");
  });
});

describe("contexts that can never be cancelled", () => {
  it("each has a done and a signal of its own, the same on every read, that never settle", async () => {
    const detached = withoutCancel(background());
    const layer = withValue(background(), key, "v");
    const other = withValue(background(), key, "w");
    expect(detached.done).toBe(detached.done);
    expect(layer.signal).toBe(layer.signal);
    expect(new Set([detached.done, layer.done, other.done, background().done]).size).toBe(4);
    expect(new Set([detached.signal, layer.signal, other.signal, background().signal]).size).toBe(4);
    const settled = await Promise.race([layer.done.then(() => "settled"), new Promise((r) => setImmediate(() => r("pending")))]);
    expect(settled).toBe("pending");
    expect(layer.signal.aborted).toBe(false);
  });

  it("reactions raced against the done of short-lived uncancellable contexts die with them: 100,000 grow the heap < 4 MB", async () => {
    // Per request: a context with a value and no deadline, and an operation raced against its done.
    const requests = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const ctx = withValue(background(), key, String(i));
        await Promise.race([Promise.resolve(i), ctx.done]);
        ctx.signal.addEventListener("abort", () => {});
      }
    };
    const grown = await heapGrowthMB(
      () => requests(2_000),
      () => requests(100_000),
    );
    // One shared never-settling promise used to keep every race's reaction: over 10 MB here.
    expect(grown).toBeLessThan(4);
  }, 30_000);

  it("a foreign wrapper of a context that can never be cancelled adds no listener to its signal", () => {
    const layer = withValue(withoutCancel(background()), key, "v");
    const wrapper: Context = { deadline: undefined, err: undefined, done: layer.done, signal: layer.signal, value: (k) => layer.value(k) };
    const [child, cancel] = withCancel(wrapper);
    expect(getEventListeners(layer.signal, "abort")).toHaveLength(0);
    expect(liveCounts().foreignListeners).toBe(0);
    cancel();
    expect(child.err).toBe(Canceled);
  });
});

// Each entry derives one child under `parent` and returns the function that ends it by the route
// the test names; the parent's child count must go 1 → 0 along that route.
const unlinkRoutes: Array<[string, (parent: Context) => () => void | Promise<void>]> = [
  ["withCancel() cancelled", (p) => withCancel(p)[1]],
  ["withCancelCause() cancelled with a cause", (p) => {
    const [, cancel] = withCancelCause(p);
    return () => cancel(new Error("done"));
  }],
  ["withTimeout() cancelled before its deadline", (p) => withTimeout(p, 60_000)[1]],
  ["withDeadline() cancelled before its deadline", (p) => withDeadline(p, Date.now() + 60_000)[1]],
  ["withSignal() cancelled", (p) => withSignal(p, new AbortController().signal)[1]],
  ["withSignal() whose signal aborted", (p) => {
    const ac = new AbortController();
    const [, cancel] = withSignal(p, ac.signal);
    return () => {
      ac.abort();
      cancel();
    };
  }],
  ["afterFunc() stopped", (p) => {
    const stop = afterFunc(p, () => {
      throw new Error("a stopped afterFunc ran");
    });
    return () => void stop();
  }],
  ["sleep() that resolved", (p) => {
    const slept = sleep(p, 0);
    return () => slept;
  }],
  ["withCancel() under a value layer cancelled", (p) => withCancel(withValue(p, key, "v"))[1]],
];

describe("childCount()", () => {
  it.each(unlinkRoutes)("goes 1 → 0 on the parent for %s", async (_, derive) => {
    const [parent, cancelParent] = withCancel(background());
    const end = derive(parent);
    expect(childCount(parent)).toBe(1);
    await end();
    expect(childCount(parent)).toBe(0);
    expect(liveCounts().timers).toBe(0);
    expect(parent.err).toBeUndefined();
    cancelParent();
  });

  it("stays 0 for value and detached layers, which link nothing", () => {
    const [parent, cancel] = withCancel(background());
    withValue(parent, key, "v");
    withoutCancel(parent);
    expect(childCount(parent)).toBe(0);
    cancel();
  });
});

// Each entry derives from `parent` and returns the child and its cancel function.
const derivations: Array<[string, (parent: Context) => [Context, () => void]]> = [
  ["withCancel()", (p) => withCancel(p)],
  ["withCancelCause()", (p) => withCancelCause(p)],
  ["withTimeout()", (p) => withTimeout(p, 60_000)],
  ["withDeadline()", (p) => withDeadline(p, Date.now() + 60_000)],
  ["withSignal()", (p) => withSignal(p, new AbortController().signal)],
  ["withValue()", (p) => [withValue(p, key, "v"), () => {}]],
  ["withCancel() of a value layer", (p) => withCancel(withValue(p, key, "v"))],
];

describe("deriving from a cancelled parent", () => {
  it.each(derivations)("%s gives a cancelled child with the parent's err and cause", (_, derive) => {
    const [parent, cancelParent] = withCancelCause(background());
    const why = new Error("parent gave up");
    cancelParent(why);
    const [child, cancel] = derive(parent);
    expect(child.err).toBe(Canceled);
    expect(cause(child)).toBe(why);
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe(why);
    expect(childCount(parent)).toBe(0);
    expect(liveCounts()).toMatchObject({ timers: 0, foreignListeners: 0 });
    cancel();
    expect(cause(child)).toBe(why);
  });

  it.each(derivations)("%s under an expired parent reports DeadlineExceeded", (_, derive) => {
    const [parent, cancelParent] = withTimeout(background(), 0);
    const [child, cancel] = derive(parent);
    expect(child.err).toBe(DeadlineExceeded);
    expect(cause(child)).toBe(DeadlineExceeded);
    cancel();
    cancelParent();
  });

  it.each(derivations)("%s under an aborted foreign parent takes the abort reason as cause", (_, derive) => {
    const foreign = new ForeignContext();
    const why = new Error("foreign gave up");
    foreign.cancel(why);
    const [child, cancel] = derive(foreign);
    expect(child.err).toBe(Canceled);
    expect(cause(child)).toBe(why);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
    cancel();
  });
});

describe("a foreign Context as parent", () => {
  it("shares one abort listener among foreign contexts over the same signal, each cancelling with its own err", () => {
    const shutdown = new AbortController();
    // Request-scoped foreign contexts over one server-wide signal; every other one says it timed out.
    const requests = Array.from({ length: 11 }, (_, i): Context => ({
      deadline: undefined,
      get err() {
        if (!shutdown.signal.aborted) return undefined;
        return i % 2 === 0 ? DeadlineExceeded : Canceled;
      },
      done: new Promise<void>(() => {}),
      signal: shutdown.signal,
      value: () => undefined,
    }));
    const children = requests.map((r) => withCancel(r));
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(1);
    expect(liveCounts().foreignListeners).toBe(1);
    children[0]?.[1]();
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(1);
    shutdown.abort(new Error("shutting down"));
    children.forEach(([child], i) => {
      if (i === 0) return;
      expect(child.err).toBe(i % 2 === 0 ? DeadlineExceeded : Canceled);
      expect((cause(child) as Error).message).toBe("shutting down");
    });
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    expect(liveCounts().foreignListeners).toBe(0);
  });

  it("lets go of a shared signal's listener once the last child of any foreign context over it is cancelled", () => {
    const shutdown = new AbortController();
    const foreign = (): Context => ({ deadline: undefined, err: undefined, done: new Promise<void>(() => {}), signal: shutdown.signal, value: () => undefined });
    const [, cancelA] = withCancel(foreign());
    const [, cancelB] = withCancel(foreign());
    cancelA();
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(1);
    cancelB();
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    expect(liveCounts().foreignListeners).toBe(0);
  });

  it("cancels every descendant before the foreign signal's abort() returns", () => {
    const foreign = new ForeignContext();
    const [a, cancelA] = withCancel(foreign);
    const [b, cancelB] = withCancelCause(withValue(a, key, "b"));
    const [c, cancelC] = withTimeout(b, 60_000);
    const v = withValue(foreign, key, "v");
    const [d, cancelD] = withCancel(v);
    const why = new Error("request closed");

    foreign.cancel(why);

    for (const ctx of [a, b, c, d, v]) {
      expect(ctx.err, String(ctx)).toBe(Canceled);
      expect(cause(ctx), String(ctx)).toBe(why);
    }
    expect(liveCounts().timers).toBe(0);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
    for (const f of [cancelA, cancelB, cancelC, cancelD]) f();
  });

  it("passes on the foreign parent's own err: a timed-out foreign parent gives DeadlineExceeded", () => {
    const foreign = new ForeignContext();
    const [child, cancel] = withCancel(withValue(foreign, key, "v"));
    const timedOut = new DOMException("the request timed out", "TimeoutError");
    foreign.cancel(timedOut);
    expect(child.err).toBe(DeadlineExceeded);
    expect(cause(child)).toBe(timedOut);
    cancel();
  });

  it("a cancelled child removes its listener from the foreign signal and leaves the parent alive", () => {
    const foreign = new ForeignContext();
    const [child, cancel] = withCancel(foreign);
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(1);
    expect(liveCounts().foreignListeners).toBe(1);
    cancel();
    expect(child.err).toBe(Canceled);
    expect(foreign.err).toBeUndefined();
    expect(getEventListeners(foreign.signal, "abort")).toHaveLength(0);
    expect(liveCounts().foreignListeners).toBe(0);
  });

  it("a wrapper around a Tether context links its children to the Tether node, adding no listener", () => {
    const [inner, cancelInner] = withCancelCause(background());
    const wrapped = new WrappedContext(withValue(inner, key, "w"));
    const [child] = withCancel(wrapped);
    const [grandchild] = withTimeout(child, 60_000);
    expect(childCount(inner)).toBe(1);
    expect(getEventListeners(inner.signal, "abort")).toHaveLength(0);
    const why = new Error("inner cancelled");

    cancelInner(why);

    expect([child.err, grandchild.err]).toEqual([Canceled, Canceled]);
    expect(cause(grandchild)).toBe(why);
    expect(grandchild.value(key)).toBe("w");
    expect(childCount(inner)).toBe(0);
  });

  it("cause() of a wrapper around a Tether context is the real cause even inside an abort listener of the same cancel", () => {
    const [root, cancelRoot] = withCancelCause(background());
    const [child] = withCancel(root);
    const wrapped = new WrappedContext(child);
    void wrapped.signal;
    const why = new Error("root cancelled");
    const seen: unknown[] = [];
    root.signal.addEventListener("abort", () => seen.push(wrapped.err, cause(wrapped)));
    cancelRoot(why);
    expect(seen).toEqual([Canceled, why]);
    expect(cause(wrapped)).toBe(why);
  });

  it("a child of a wrapper around background() holds nothing once cancelled", () => {
    const wrapped = new WrappedContext(background());
    const [child, cancel] = withCancel(wrapped);
    expect(child.err).toBeUndefined();
    cancel();
    expect(child.err).toBe(Canceled);
    expect(getEventListeners(background().signal, "abort")).toHaveLength(0);
  });
});

describe("cancelEpoch() (which cancel reached a context, for group's reading of its causes)", () => {
  it("cancelEpoch() is the same for every context one cancel reaches: children, value layers, withSignal followers and contexts derived afterwards", () => {
    const [origin, cancel] = withCancelCause(background());
    const layered = withValue(origin, createKey<number>("n"), 1);
    const [following, stop] = withSignal(background(), layered.signal);
    const [leaf] = withCancel(withValue(following, createKey<string>("s"), "x"));
    expect(cancelEpoch(leaf)).toBeUndefined();
    cancel(new Error("a task failed"));
    const epoch = cancelEpoch(origin);
    expect(epoch).toBeTypeOf("number");
    expect([cancelEpoch(layered), cancelEpoch(following), cancelEpoch(leaf)]).toEqual([epoch, epoch, epoch]);
    const [bornLater] = withCancel(leaf);
    const [followsLater] = withSignal(background(), origin.signal);
    expect([cancelEpoch(bornLater), cancelEpoch(followsLater)]).toEqual([epoch, epoch]);
    stop();
  });

  it("cancelEpoch() tells apart two cancels with the same cause: a context's own, and its parent's after it", () => {
    const failure = new Error("a task failed");
    const [parent, cancelParent] = withCancelCause(background());
    const [child, cancelChild] = withCancelCause(parent);
    cancelChild(failure);
    cancelParent(failure);
    expect(cancelEpoch(child)).not.toBe(cancelEpoch(parent));

    const [viaParent, cancelViaParent] = withCancelCause(background());
    const [viaSignal, cancelViaSignal] = withCancelCause(background());
    const [follower, stop] = withSignal(viaParent, viaSignal.signal);
    cancelViaSignal(failure);
    cancelViaParent(failure);
    expect(cancelEpoch(follower)).toBe(cancelEpoch(viaSignal));
    expect(cancelEpoch(follower)).not.toBe(cancelEpoch(viaParent));
    stop();
  });

  it("cancelEpoch() is undefined for a cancel that came through a signal Tether does not own", () => {
    const [origin, cancel] = withCancelCause(background());
    const [following, stop] = withSignal(background(), AbortSignal.any([origin.signal]));
    const ac = new AbortController();
    ac.abort(new Error("client went away"));
    const [bornAborted] = withSignal(background(), ac.signal);
    cancel(new Error("a task failed"));
    expect(cancelEpoch(origin)).toBeTypeOf("number");
    expect(cancelEpoch(following)).toBeUndefined();
    expect(cancelEpoch(bornAborted)).toBeUndefined();
    stop();
  });

  it("a cancelled withSignal context does not keep the context it followed alive", async () => {
    let followed: WeakRef<Context> | undefined;
    const [follower, stop] = (() => {
      const [origin, cancel] = withCancel(background());
      const made = withSignal(background(), origin.signal);
      cancel();
      followed = new WeakRef(origin);
      return made;
    })();
    stop();
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) throw new Error("this test needs node --expose-gc (set in vitest.config.ts)");
    // A turn before each collection: `deref()` keeps its target alive to the end of the turn.
    let alive = true;
    for (let i = 0; i < 5 && alive; i++) {
      await new Promise((r) => setTimeout(r, 0));
      gc();
      alive = followed?.deref() !== undefined;
    }
    expect(alive).toBe(false);
    expect(follower.err).toBe(Canceled);
  });
});
