import {
  type Context,
  type Key,
  background,
  createKey,
  runTask,
  until,
  withCancel,
  withTimeout,
  withValue,
  withoutCancel,
} from "@tether/core";
import { type Case, type CaseFactory, check, sink } from "../harness.js";

/** Operations per call for the cheap cases: a call then lasts tens of microseconds. */
const BATCH = 256;
const READS = 8_192;

/**
 * A child derived from a long-lived parent, then cancelled: the cost every request-scoped
 * `withCancel` pays. The parent lives for the whole case, as a server's root context would.
 */
function createCancel(): Case {
  const [parent, cancelParent] = withCancel(background());
  const parentAc = new AbortController();
  const parentSignal = parentAc.signal;
  return {
    id: "core.withCancel",
    suite: "core",
    operation: "withCancel + cancel, child of a long-lived parent",
    tether: {
      name: "Tether withCancel(parent) + cancel()",
      ops: BATCH,
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          const [ctx, cancel] = withCancel(parent);
          cancel();
          sink.value = ctx;
        }
      },
    },
    comparisons: [
      {
        name: "AbortController child linked by addEventListener (removed on abort)",
        ops: BATCH,
        target: { label: "≥ 20×", min: 20 },
        fn: () => {
          for (let i = 0; i < BATCH; i++) {
            const ac = new AbortController();
            const onAbort = (): void => ac.abort(parentSignal.reason);
            parentSignal.addEventListener("abort", onAbort);
            ac.abort();
            parentSignal.removeEventListener("abort", onAbort);
            sink.value = ac;
          }
        },
      },
      {
        name: "AbortSignal.any([parent]) (derive only, cannot be cancelled)",
        ops: BATCH,
        target: { label: "≥ 50×", min: 50 },
        fn: () => {
          for (let i = 0; i < BATCH; i++) sink.value = AbortSignal.any([parentSignal]);
        },
      },
      {
        name: "AbortSignal.any([parent, own.signal]) + own.abort()",
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) {
            const own = new AbortController();
            sink.value = AbortSignal.any([parentSignal, own.signal]);
            own.abort();
          }
        },
      },
      {
        name: "new AbortController() + abort() (no parent)",
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) {
            const ac = new AbortController();
            ac.abort();
            sink.value = ac;
          }
        },
      },
    ],
    cleanup: () => {
      cancelParent();
      parentAc.abort();
    },
  };
}

/** A timeout child of a long-lived parent, cancelled before it fires (the usual fate of a timeout). */
function timeoutCancel(): Case {
  const [parent, cancelParent] = withCancel(background());
  const MINUTE = 60_000;
  return {
    id: "core.withTimeout",
    suite: "core",
    operation: "withTimeout(60 s) + cancel, child of a long-lived parent",
    tether: {
      name: "Tether withTimeout(parent, 60_000) + cancel()",
      ops: BATCH,
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          const [ctx, cancel] = withTimeout(parent, MINUTE);
          cancel();
          sink.value = ctx;
        }
      },
    },
    comparisons: [
      {
        // It cannot be cancelled: its timer lives on until the signal is collected or it fires.
        name: "AbortSignal.timeout(60_000) (cannot be cancelled)",
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) sink.value = AbortSignal.timeout(MINUTE);
        },
      },
      {
        name: "AbortController + setTimeout(abort) + clearTimeout + abort()",
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) {
            const ac = new AbortController();
            const t = setTimeout(() => ac.abort(), MINUTE);
            clearTimeout(t);
            ac.abort();
            sink.value = ac;
          }
        },
      },
    ],
    cleanup: cancelParent,
  };
}

/** Reading `err` on a context already cancelled: what every ctx-aware wait checks first. */
function readErr(): Case {
  // Four of each, read in turn, so that the load cannot be hoisted out of the loop.
  const ctxs: Context[] = [];
  const signals: AbortSignal[] = [];
  for (let i = 0; i < 4; i++) {
    const [ctx, cancel] = withCancel(background());
    cancel();
    ctxs.push(ctx);
    const ac = new AbortController();
    ac.abort();
    signals.push(ac.signal);
  }
  return {
    id: "core.err",
    suite: "core",
    operation: "read err on a cancelled context",
    tether: {
      name: "Tether ctx.err",
      ops: READS,
      fn: () => {
        let n = 0;
        for (let i = 0; i < READS; i++) if ((ctxs[i & 3] as Context).err !== undefined) n++;
        check(n === READS, "ctx.err of a cancelled context was undefined");
        sink.n += n;
      },
    },
    comparisons: [
      {
        name: "AbortSignal.aborted",
        ops: READS,
        fn: () => {
          let n = 0;
          for (let i = 0; i < READS; i++) if ((signals[i & 3] as AbortSignal).aborted) n++;
          check(n === READS, "signal.aborted of an aborted signal was false");
          sink.n += n;
        },
      },
    ],
  };
}

interface Cell {
  readonly key: object;
  readonly val: unknown;
  readonly up: Cell | null;
}

/** The naive alternative: a linked list of key/value cells, walked until the key matches. */
function lookup(cell: Cell | null, key: object): unknown {
  while (cell !== null) {
    if (cell.key === key) return cell.val;
    cell = cell.up;
  }
  return undefined;
}

/**
 * `value()` of the deepest of eight keys, on a chain that mixes value layers with cancel,
 * timeout and detached layers (the worst case, as in Go's BenchmarkValueDepth8).
 */
function valueDepth8(): Case {
  const keys: Key<number>[] = [];
  for (let i = 0; i < 8; i++) keys.push(createKey<number>(`k${i}`));
  const deepest = keys[0] as Key<number>;
  const cancels: Array<() => void> = [];
  const chains: Context[] = [];
  const cells: Cell[] = [];
  for (let c = 0; c < 4; c++) {
    let ctx = background();
    let cell: Cell | null = null;
    keys.forEach((key, i) => {
      ctx = withValue(ctx, key, i);
      cell = { key, val: i, up: cell };
      // Between the value layers: cancel, timeout and detached layers, which lookup must skip.
      if (i % 3 === 0) {
        const [next, cancel] = withCancel(ctx);
        cancels.push(cancel);
        ctx = next;
      } else if (i % 3 === 1) {
        const [next, cancel] = withTimeout(ctx, 3_600_000);
        cancels.push(cancel);
        ctx = next;
      } else ctx = withoutCancel(ctx);
    });
    chains.push(ctx);
    cells.push(cell as unknown as Cell);
  }
  return {
    id: "core.value",
    suite: "core",
    operation: "value() at depth 8 through mixed layers",
    tether: {
      name: "Tether ctx.value(key)",
      ops: READS,
      fn: () => {
        let n = 0;
        for (let i = 0; i < READS; i++) n += (chains[i & 3] as Context).value(deepest) as number;
        check(n === 0, "value() returned the wrong value");
        sink.n += n + 1;
      },
    },
    comparisons: [
      {
        name: "naive linked-list lookup (8 cells)",
        ops: READS,
        target: { label: "no slower (≥ 1×)", min: 1 },
        fn: () => {
          let n = 0;
          for (let i = 0; i < READS; i++) n += lookup(cells[i & 3] as Cell, deepest) as number;
          check(n === 0, "lookup() returned the wrong value");
          sink.n += n + 1;
        },
      },
    ],
    cleanup: () => {
      for (const cancel of cancels) cancel();
    },
  };
}

/** Waits per call of the `until` case. */
const WAITS = 1_000;
/** 0 + 1 + … + WAITS-1: what every wait returned, summed. */
const WAITED = (WAITS * (WAITS - 1)) / 2;

/**
 * A generator task waiting on promises that are already settled, through `yield* until(p)`: the
 * cost of an interruptible wait beyond the promise itself, next to a plain `await` of the same.
 */
function untilWaits(): Case {
  const [ctx, cancel] = withCancel(background());
  return {
    id: "core.until",
    suite: "core",
    operation: "yield* until(p) in a generator task, p already settled (per wait)",
    tether: {
      name: "Tether runTask(ctx, function* { yield* until(p) } × 1,000)",
      ops: WAITS,
      fn: async () => {
        const s = await runTask(ctx, async function* () {
          let s = 0;
          for (let i = 0; i < WAITS; i++) s += yield* until(Promise.resolve(i));
          return s;
        });
        check(s === WAITED, "until lost a value");
        sink.n += s;
      },
    },
    comparisons: [
      {
        name: "await p in an async function (cannot be interrupted)",
        ops: WAITS,
        fn: async () => {
          let s = 0;
          for (let i = 0; i < WAITS; i++) s += await Promise.resolve(i);
          check(s === WAITED, "await lost a value");
          sink.n += s;
        },
      },
    ],
    cleanup: cancel,
  };
}

export function coreSuite(): CaseFactory[] {
  return [createCancel, readErr, valueDepth8, timeoutCancel, untilWaits];
}
