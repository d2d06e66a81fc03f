/**
 * One memory measurement, in a process of its own (run with `node --expose-gc`): the heap growth,
 * after full collections, left by N children derived from one long-lived parent and cancelled.
 * Prints one JSON line. Run by memory.ts; not meant to be run by hand, though it can be:
 * `node --expose-gc dist/memory-child.js tether 1000000`.
 */
import { getEventListeners } from "node:events";
import { setImmediate as tick } from "node:timers/promises";
import { background, withCancel } from "@tether/core";
import { childCount } from "@tether/core/testing";

export type MemoryImpl = "tether" | "any" | "listener";

export interface MemorySample {
  impl: MemoryImpl;
  iterations: number;
  heapBefore: number;
  heapAfter: number;
  growth: number;
  /** What the parent still holds for its children afterwards (children or listeners). */
  parentHolds: number;
}

/** Derive+cancel steps per turn of the event loop. */
const CHUNK = 1_000;

const gc = (globalThis as { gc?: () => void }).gc;

/** Full collections with turns of the event loop between, so finalizers and weak cleanups run. */
async function settle(): Promise<void> {
  if (gc === undefined) throw new Error("memory: run with node --expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await tick();
  }
}

function workload(impl: MemoryImpl): { step: () => void; holds: () => number; keep: unknown } {
  switch (impl) {
    case "tether": {
      const [parent] = withCancel(background());
      return {
        step: () => {
          const [, cancel] = withCancel(parent);
          cancel();
        },
        holds: () => childCount(parent),
        keep: parent,
      };
    }
    case "any": {
      const parent = new AbortController();
      return {
        step: () => {
          const own = new AbortController();
          AbortSignal.any([parent.signal, own.signal]);
          own.abort();
        },
        holds: () => getEventListeners(parent.signal, "abort").length,
        keep: parent,
      };
    }
    case "listener": {
      const parent = new AbortController();
      const signal = parent.signal;
      return {
        step: () => {
          const child = new AbortController();
          const onAbort = (): void => child.abort(signal.reason);
          signal.addEventListener("abort", onAbort);
          child.abort();
          signal.removeEventListener("abort", onAbort);
        },
        holds: () => getEventListeners(signal, "abort").length,
        keep: parent,
      };
    }
  }
}

async function main(): Promise<void> {
  const impl = process.argv[2] as MemoryImpl;
  const iterations = Number(process.argv[3]);
  if (!["tether", "any", "listener"].includes(impl) || !(iterations > 0)) {
    throw new Error(`memory: usage: memory-child.js tether|any|listener ITERATIONS, received ${process.argv.slice(2).join(" ")}`);
  }
  const w = workload(impl);
  // Warm up first, so that compiled code and inline caches are in the baseline, not the growth.
  for (let i = 0; i < 10_000; i++) w.step();
  await settle();
  const heapBefore = process.memoryUsage().heapUsed;
  // Yield between chunks, as a server yields between requests: WeakRefs made in a job (which
  // AbortSignal.any makes) are held until the job ends, and one long job would bill that to it.
  for (let done = 0; done < iterations; done += CHUNK) {
    const n = Math.min(CHUNK, iterations - done);
    for (let i = 0; i < n; i++) w.step();
    await tick();
  }
  await settle();
  const heapAfter = process.memoryUsage().heapUsed;
  const sample: MemorySample = { impl, iterations, heapBefore, heapAfter, growth: heapAfter - heapBefore, parentHolds: w.holds() };
  // The parent must still be alive here: what it holds is what is being measured.
  if (w.keep === undefined) throw new Error("memory: parent collected");
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}

await main();
