// Soak: a million short-lived children of one long-lived parent, for each way of deriving one.
// Run with `node --expose-gc scripts/soak.mjs [count]` after `tsc -b`. It checks that the parent
// ends with no children and no listeners, that every child was garbage-collected (one straggler
// allowed per kind, as V8 may keep the last object alive in a register), and that the heap after GC
// grew by less than 1 MB in all; prints a JSON summary and exits 1 if any check fails.
import { getEventListeners } from "node:events";
import { afterFunc, background, withCancel, withSignal, withTimeout } from "../packages/core/dist/index.js";
import { childCount, liveCounts } from "../packages/core/dist/testing.js";

const N = Number(process.argv[2] ?? 1_000_000);
if (typeof globalThis.gc !== "function") {
  console.error("soak: run with node --expose-gc");
  process.exit(2);
}

const settle = () => new Promise((r) => setTimeout(r, 0));
async function collectGarbage(rounds = 6) {
  for (let i = 0; i < rounds; i++) {
    globalThis.gc();
    await settle();
  }
}

const longLived = new AbortController();
const [parent, cancelParent] = withCancel(background());

const kinds = {
  withCancel: () => {
    const [ctx, cancel] = withCancel(parent);
    cancel();
    return ctx;
  },
  withTimeout: () => {
    const [ctx, cancel] = withTimeout(parent, 60_000);
    cancel();
    return ctx;
  },
  withSignal: () => {
    const [ctx, cancel] = withSignal(background(), longLived.signal);
    cancel();
    return ctx;
  },
  "afterFunc+stop": () => {
    const stop = afterFunc(parent, () => {});
    stop();
    return stop;
  },
};

// Registration runs in a function of its own: V8 keeps objects made in a top-level module loop
// alive longer (seen on Node 20: none of 100,000 collected), which would hide a real result.
function fill(make, registry) {
  for (let i = 0; i < N; i++) registry.register(make(), i);
}

const results = [];
let failed = false;
await collectGarbage();
const heapStart = process.memoryUsage().heapUsed;
for (const [name, make] of Object.entries(kinds)) {
  let collected = 0;
  const registry = new FinalizationRegistry(() => collected++);
  const started = performance.now();
  fill(make, registry);
  const ms = performance.now() - started;
  for (let i = 0; i < 50 && collected < N - 1; i++) await collectGarbage(2);
  const row = {
    kind: name,
    count: N,
    nsPerOp: Math.round((ms * 1e6) / N),
    collected,
    parentChildren: childCount(parent),
    signalListeners: getEventListeners(longLived.signal, "abort").length,
    live: liveCounts(),
  };
  const ok =
    collected >= N - 1 &&
    row.parentChildren === 0 &&
    row.signalListeners === 0 &&
    Object.values(row.live).every((v) => v === 0);
  if (!ok) failed = true;
  results.push({ ...row, ok });
}
await collectGarbage();
const growth = process.memoryUsage().heapUsed - heapStart;
if (growth >= 1024 * 1024) failed = true;
cancelParent();
console.log(JSON.stringify({ count: N, heapGrowthBytes: growth, results, ok: !failed }, null, 2));
process.exit(failed ? 1 : 0);
