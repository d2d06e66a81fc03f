import { Bench } from "tinybench";

/**
 * One implementation of an operation. `fn` performs `ops` operations per call: cheap operations
 * run in an inner loop so that the timer's own cost (a `performance.now()` pair per sample) is
 * spread over many of them.
 */
export interface Impl {
  name: string;
  fn: () => unknown;
  ops: number;
}

/** A bar from the issues, met when `ratio` (comparison ÷ Tether) is at least `min`. */
export interface Target {
  label: string;
  min: number;
}

export interface Comparison extends Impl {
  target?: Target;
}

/** One row group of the report: Tether's implementation beside everything it is compared with. */
export interface Case {
  id: string;
  suite: string;
  operation: string;
  tether: Impl;
  comparisons: Comparison[];
  /** Releases what the case set up (timers, parents) once it has been measured. */
  cleanup?: () => void;
}

export interface Timing {
  name: string;
  /** The median over rounds of each round's mean: a round disturbed by other load drops out. */
  nsPerOp: number;
  /** Each round's mean ns/op, in order. */
  rounds: number[];
  /** Relative margin of error of the mean in the median round, in percent. */
  rme: number;
  /** Timed calls over all rounds. */
  samples: number;
}

export interface ComparisonResult extends Timing {
  ratio: number;
  target?: Target & { met: boolean };
}

export interface CaseResult {
  id: string;
  suite: string;
  operation: string;
  tether: Timing;
  comparisons: ComparisonResult[];
}

export interface RunOptions {
  /** Measuring time per implementation in each round, ms. */
  time: number;
  /** Rounds: the implementations of a case take turns, round after round. */
  rounds: number;
  /** Warm-up time per implementation before the first round, ms. */
  warmupTime: number;
}

/** Written to by every benchmark body, so that V8 cannot prove a result unused and drop the work. */
export const sink = { value: undefined as unknown, n: 0 };

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

interface Round {
  ns: number;
  rme: number;
  samples: number;
}

function round(impl: Impl, bench: Bench): Round {
  const r = bench.getTask(impl.name)?.result;
  if (r === undefined || r.error !== undefined || r.latency === undefined) {
    throw new Error(`bench: ${impl.name} produced no result${r?.error ? `: ${String(r.error)}` : ""}`);
  }
  // tinybench reports milliseconds per call; a call does `ops` operations.
  return { ns: (r.latency.mean * 1e6) / impl.ops, rme: r.latency.rme, samples: r.latency.samples.length };
}

function summarize(impl: Impl, rounds: readonly Round[]): Timing {
  const sorted = [...rounds].sort((x, y) => x.ns - y.ns);
  const mid = sorted[(sorted.length - 1) >> 1] as Round;
  return {
    name: impl.name,
    nsPerOp: mid.ns,
    rounds: rounds.map((r) => r.ns),
    rme: mid.rme,
    samples: rounds.reduce((n, r) => n + r.samples, 0),
  };
}

/**
 * Measures a case. Every implementation is warmed up, then the implementations take turns for
 * `rounds` rounds, each timed by tinybench with a full GC before it (so one implementation's
 * garbage is not billed to the next). Taking turns means a burst of load from elsewhere on the
 * machine hits one round of every implementation rather than all of one; the median round is kept.
 */
export async function measure(c: Case, opts: RunOptions): Promise<CaseResult> {
  const impls: Impl[] = [c.tether, ...c.comparisons];
  const rounds: Round[][] = impls.map(() => []);
  try {
    for (let r = 0; r < opts.rounds; r++) {
      const bench = new Bench({
        time: opts.time,
        warmup: r === 0,
        warmupTime: opts.warmupTime,
        warmupIterations: 4,
        iterations: 4,
        throws: true,
        setup: () => gc?.(),
      });
      for (const impl of impls) bench.add(impl.name, impl.fn);
      await bench.run();
      impls.forEach((impl, i) => rounds[i]?.push(round(impl, bench)));
    }
  } finally {
    c.cleanup?.();
  }
  const tether = summarize(c.tether, rounds[0] as Round[]);
  const comparisons = c.comparisons.map((cmp, i): ComparisonResult => {
    const t = summarize(cmp, rounds[i + 1] as Round[]);
    const ratio = t.nsPerOp / tether.nsPerOp;
    const out: ComparisonResult = { ...t, ratio };
    if (cmp.target !== undefined) out.target = { ...cmp.target, met: ratio >= cmp.target.min };
    return out;
  });
  return { id: c.id, suite: c.suite, operation: c.operation, tether, comparisons };
}

/**
 * Lets what a measured case left behind go: full collections with turns of the event loop between,
 * so finalizers run (AbortSignal.timeout's timers are cleared by one once their signal is
 * collected) and the case's process can exit on its own instead of waiting out those timers.
 */
export async function settle(): Promise<void> {
  sink.value = undefined;
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Makes a case just before it is measured, so that nothing of it outlives its measurement. */
export type CaseFactory = () => Case;

/** Throws when a benchmark body computed something other than what it should: a broken case must fail loudly. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench: ${what}`);
}
