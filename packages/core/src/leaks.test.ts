import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { afterFunc, background, createKey, withCancel, withSignal, withValue, type Context } from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { ForeignContext, WrappedContext } from "./test-helpers/foreign.js";
import { macrotask } from "./test-helpers/flush.js";

const N = 100_000;
const BATCH = 1_000;

/** One long-lived parent: how to derive a child under it, and what to inspect afterwards. */
interface Parent {
  derive(): [Context, () => void];
  /** The signal whose abort listeners must all be gone. */
  signal: AbortSignal;
  /** The Tether node whose child list must be empty, when there is one. */
  node: Context | undefined;
  /** Whether the parent is still alive, as it must be. */
  alive(): boolean;
  end(): void;
}

const parents: Array<[string, () => Parent]> = [
  ["a Tether parent", () => {
    const [ctx, cancel] = withCancel(background());
    return { derive: () => withCancel(ctx), signal: ctx.signal, node: ctx, alive: () => ctx.err === undefined, end: cancel };
  }],
  ["a bare AbortSignal via withSignal()", () => {
    const ac = new AbortController();
    return {
      derive: () => withSignal(background(), ac.signal),
      signal: ac.signal,
      node: undefined,
      alive: () => !ac.signal.aborted,
      end: () => ac.abort(),
    };
  }],
  ["a foreign parent", () => {
    const foreign = new ForeignContext();
    return {
      derive: () => withCancel(foreign),
      signal: foreign.signal,
      node: undefined,
      alive: () => foreign.err === undefined,
      end: () => foreign.cancel(),
    };
  }],
  ["a foreign wrapper around a Tether parent", () => {
    const [ctx, cancel] = withCancel(background());
    const wrapped = new WrappedContext(ctx);
    return { derive: () => withCancel(wrapped), signal: ctx.signal, node: ctx, alive: () => ctx.err === undefined, end: cancel };
  }],
  // background() can never be cancelled, so its children have nothing to listen to; its signal is
  // the one that every never-cancelled context shares, so a listener there is shared by the process.
  ["a foreign wrapper around background()", () => {
    const wrapped = new WrappedContext(background());
    return { derive: () => withCancel(wrapped), signal: background().signal, node: undefined, alive: () => true, end: () => {} };
  }],
];

/** Reads `signal` and `done` on every other child: readers and non-readers must both leave nothing. */
function maybeRead(child: Context, i: number): void {
  if (i % 2 === 1) {
    void child.signal;
    void child.done;
  }
}

async function expectNothingLeft(parent: Parent, warnings: Error[]): Promise<void> {
  if (parent.node !== undefined) expect(childCount(parent.node)).toBe(0);
  expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
  expect(liveCounts()).toMatchObject({ nodesWithChildren: 0, foreignListeners: 0, timers: 0 });
  expect(parent.alive()).toBe(true);
  await macrotask();
  expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message)).toEqual([]);
}

/** Runs `body` while collecting process warnings, and always ends the parent. */
async function withWarnings(parent: Parent, body: (warnings: Error[]) => Promise<void>): Promise<void> {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on("warning", onWarning);
  try {
    await body(warnings);
  } finally {
    process.off("warning", onWarning);
    parent.end();
  }
}

describe(`${N.toLocaleString("en")} children under one long-lived parent`, () => {
  it.each(parents)(
    "created and cancelled one at a time under %s leave no children and no listeners",
    async (_, make) => {
      const parent = make();
      await withWarnings(parent, async (warnings) => {
        for (let i = 0; i < N; i++) {
          const [child, cancel] = parent.derive();
          maybeRead(child, i);
          cancel();
          if (child.err === undefined) throw new Error(`child ${i} survived its cancel`);
        }
        await expectNothingLeft(parent, warnings);
      });
    },
    30_000,
  );

  it.each(parents)(
    `created ${BATCH.toLocaleString("en")} at a time and cancelled out of order under %s leave no children and no listeners`,
    async (_, make) => {
      const parent = make();
      await withWarnings(parent, async (warnings) => {
        const cancels: Array<() => void> = [];
        for (let round = 0; round < N / BATCH; round++) {
          cancels.length = 0;
          for (let i = 0; i < BATCH; i++) {
            const [child, cancel] = parent.derive();
            maybeRead(child, i);
            cancels.push(cancel);
          }
          if (parent.node !== undefined && round === 0) expect(childCount(parent.node)).toBe(BATCH);
          // Odd ones first, then even ones from the back: unlinking from the middle and both ends.
          for (let i = 1; i < BATCH; i += 2) cancels[i]?.();
          for (let i = BATCH - 2; i >= 0; i -= 2) cancels[i]?.();
        }
        await expectNothingLeft(parent, warnings);
      });
    },
    30_000,
  );
});

describe("contexts that can never be cancelled", () => {
  it("children of 50 distinct wrappers around background() put no listener on the shared never-aborting signal", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    const cancels: Array<() => void> = [];
    try {
      for (let i = 0; i < 50; i++) cancels.push(withCancel(new WrappedContext(background()))[1]);
      expect(getEventListeners(background().signal, "abort")).toHaveLength(0);
      expect(liveCounts().foreignListeners).toBe(0);
      await macrotask();
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      for (const cancel of cancels) cancel();
    }
  });
});

describe("childCount() of a context Tether did not make", () => {
  it("childCount() counts the Tether children and afterFunc registrations following a foreign context, and its value layers", () => {
    const foreign = new ForeignContext();
    expect(childCount(foreign)).toBe(0);
    const cancels = [withCancel(foreign)[1], withCancel(foreign)[1], withCancel(foreign)[1]];
    const stop = afterFunc(foreign, () => {});
    expect(childCount(foreign)).toBe(4);
    expect(childCount(withValue(foreign, createKey<number>("n"), 1))).toBe(4);
    cancels[0]?.();
    stop();
    expect(childCount(foreign)).toBe(2);
    foreign.cancel();
    expect(childCount(foreign)).toBe(0);
    for (const c of cancels) c();
  });

  it("childCount() of a foreign wrapper counts the list of the Tether context whose signal it lends", () => {
    const [ctx, cancel] = withCancel(background());
    const wrapped = new WrappedContext(ctx);
    const [, cancelChild] = withCancel(wrapped);
    expect(childCount(wrapped)).toBe(1);
    expect(childCount(wrapped)).toBe(childCount(ctx));
    cancelChild();
    expect(childCount(wrapped)).toBe(0);
    cancel();
  });
});
