import { type Context, background, withCancel } from "@tether/core";
import { Group, map, run } from "@tether/group";
import { type Operation, all, call, run as effectionRun, spawn } from "effection";
import pLimit from "p-limit";
import PQueue from "p-queue";
import { type Case, type CaseFactory, check, sink } from "../harness.js";

const N = 100;
const LIMIT = 4;
/** 0 + 1 + … + 99: every result of a round, summed, so a lost or doubled result is caught. */
const SUM = (N * (N - 1)) / 2;

function total(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** The trivial async tasks every implementation runs: task i resolves with i. */
const tasks: Array<(ctx: Context) => Promise<number>> = Array.from({ length: N }, (_, i) => async () => i);

/** The same work as Effection operations: operation i returns i (an operation is reusable). */
const operations: Array<Operation<number>> = Array.from({ length: N }, (_, i) => ({
  *[Symbol.iterator]() {
    return i;
  },
}));

function run100(parent: Context): Case {
  return {
    id: "group.run",
    suite: "group",
    operation: "run of 100 trivial async tasks",
    tether: {
      name: "Tether run(ctx, ...tasks)",
      ops: 1,
      fn: async () => {
        const out = await run(parent, ...tasks);
        check(total(out) === SUM, "run lost a result");
        sink.value = out;
      },
    },
    comparisons: [
      {
        name: "Promise.all(tasks.map(t => t(ctx)))",
        ops: 1,
        target: { label: "within 3× (≥ 0.33×)", min: 1 / 3 },
        fn: async () => {
          const out = await Promise.all(tasks.map((t) => t(parent)));
          check(total(out) === SUM, "Promise.all lost a result");
          sink.value = out;
        },
      },
      {
        name: "Effection run(() => all(operations))",
        ops: 1,
        target: { label: "≥ 100×", min: 100 },
        fn: async () => {
          const out = await effectionRun(() => all(operations));
          check(total(out) === SUM, "Effection all lost a result");
          sink.value = out;
        },
      },
      {
        name: "Effection run(() => all(tasks.map(call)))",
        ops: 1,
        fn: async () => {
          const out = await effectionRun(() => all(tasks.map((t) => call(() => t(parent)))));
          check(total(out) === SUM, "Effection all(call) lost a result");
          sink.value = out;
        },
      },
    ],
  };
}

/** The same tasks as generator tasks, which the driver runs step by step: task i returns i. */
const generatorTasks: Array<(ctx: Context) => AsyncGenerator<undefined, number, unknown>> = Array.from(
  { length: N },
  (_, i) =>
    async function* () {
      yield;
      return i;
    },
);

/** The Effection operations of the same shape: one suspension, then the result. */
const yieldingOperations: Array<Operation<number>> = Array.from({ length: N }, (_, i) => ({
  *[Symbol.iterator]() {
    yield* call(() => Promise.resolve());
    return i;
  },
}));

function run100Generators(parent: Context): Case {
  return {
    id: "group.run.generators",
    suite: "group",
    operation: "run of 100 generator tasks, each with one checkpoint",
    tether: {
      name: "Tether run(ctx, ...generatorTasks)",
      ops: 1,
      fn: async () => {
        const out = await run(parent, ...generatorTasks);
        check(total(out) === SUM, "run lost a generator task's result");
        sink.value = out;
      },
    },
    comparisons: [
      {
        name: "Effection run(() => all(operations)), each suspending once",
        ops: 1,
        fn: async () => {
          const out = await effectionRun(() => all(yieldingOperations));
          check(total(out) === SUM, "Effection all lost a result");
          sink.value = out;
        },
      },
    ],
  };
}

function spawn100(parent: Context): Case {
  return {
    id: "group.go",
    suite: "group",
    operation: "start 100 tasks one by one, then wait for all",
    tether: {
      name: "Tether Group: go() × 100 + wait()",
      ops: 1,
      fn: async () => {
        let s = 0;
        const g = new Group(parent);
        for (const t of tasks) {
          g.go(async (ctx) => {
            const v = await t(ctx);
            s += v;
          });
        }
        await g.wait();
        check(s === SUM, "Group lost a result");
        sink.n += s;
      },
    },
    comparisons: [
      {
        name: "Effection spawn() × 100 + join each",
        ops: 1,
        fn: async () => {
          const s = await effectionRun(function* () {
            const started = [];
            for (const op of operations) started.push(yield* spawn(() => op));
            let s = 0;
            for (const task of started) s += yield* task;
            return s;
          });
          check(s === SUM, "Effection spawn lost a result");
          sink.n += s;
        },
      },
    ],
  };
}

function boundedMap(parent: Context): Case {
  const items = Array.from({ length: N }, (_, i) => i);
  const work = async (x: number): Promise<number> => x;
  return {
    id: "group.map",
    suite: "group",
    operation: "map of 100 items, at most 4 at a time",
    tether: {
      name: "Tether map(ctx, items, fn, { limit: 4 })",
      ops: 1,
      fn: async () => {
        const out = await map(parent, items, (_ctx, x) => work(x), { limit: LIMIT });
        check(total(out) === SUM, "map lost a result");
        sink.value = out;
      },
    },
    comparisons: [
      {
        name: "p-limit(4) + Promise.all",
        ops: 1,
        fn: async () => {
          const limit = pLimit(LIMIT);
          const out = await Promise.all(items.map((x) => limit(() => work(x))));
          check(total(out) === SUM, "p-limit lost a result");
          sink.value = out;
        },
      },
      {
        name: "p-queue({ concurrency: 4 }).addAll",
        ops: 1,
        fn: async () => {
          const queue = new PQueue({ concurrency: LIMIT });
          const out = await queue.addAll(items.map((x) => () => work(x)));
          check(total(out) === SUM, "p-queue lost a result");
          sink.value = out;
        },
      },
    ],
  };
}

/** Each case hangs its work from a long-lived cancellable parent of its own, as a server's would be. */
function withParent(make: (parent: Context) => Case): CaseFactory {
  return () => {
    const [parent, cancel] = withCancel(background());
    const c = make(parent);
    c.cleanup = cancel;
    return c;
  };
}

export function groupSuite(): CaseFactory[] {
  return [withParent(run100), withParent(run100Generators), withParent(spawn100), withParent(boundedMap)];
}
