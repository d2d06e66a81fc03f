// Model-based testing without a dependency: a seeded PRNG makes random operation lists, a check
// runs each list against the real code and a small reference model, and a failing list is shrunk
// (whole chunks, then single operations) before it is reported with its seed.

/**
 * mulberry32: a tiny, fast, seedable PRNG (32-bit state) — enough to explore schedules and to make
 * a randomized test reproducible from the seed it prints. The one copy every test uses.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded stream with the draws a model needs. */
export function prng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number],
    chance: (p) => next() < p,
  };
}

export interface Rng {
  next(): number;
  /** A whole number in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

/** How many seeds a model runs: 2,000 by default (CI), TETHER_MODEL_SEEDS to explore further. */
export function seedCount(): number {
  const env = Number(process.env["TETHER_MODEL_SEEDS"]);
  return Number.isInteger(env) && env > 0 ? env : 2_000;
}

export interface Model<Op> {
  name: string;
  /** Makes the operation list for one seed. */
  generate(rng: Rng): Op[];
  /** Runs the operations against the real code; throws (or rejects) on any disagreement. */
  check(ops: Op[], seed: number): void | Promise<void>;
}

async function fails<Op>(model: Model<Op>, ops: Op[], seed: number): Promise<unknown> {
  try {
    await model.check(ops, seed);
    return undefined;
  } catch (e) {
    return e ?? new Error("check threw a nullish value");
  }
}

/** Removes chunks, then single operations, while the list still fails. Bounded in attempts. */
export async function shrink<Op>(model: Model<Op>, ops: Op[], seed: number): Promise<Op[]> {
  let best = ops;
  let budget = 500;
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1 && budget > 0; chunk >>= 1) {
    for (let i = 0; i + chunk <= best.length && budget > 0; ) {
      const candidate = [...best.slice(0, i), ...best.slice(i + chunk)];
      budget--;
      if ((await fails(model, candidate, seed)) !== undefined) best = candidate;
      else i += chunk;
    }
  }
  return best;
}

/** How many seeds run between two turns of the event loop. */
const SEEDS_PER_TURN = 200;

/** The real `setImmediate`, taken before any test can install fake timers. */
const turn: (fn: () => void) => void = setImmediate;

/**
 * Runs `model` over `seeds` seeds starting at `first`. On the first failure it shrinks the list
 * and throws an error that names the seed, the shrunk operations and the original failure.
 */
export async function explore<Op>(model: Model<Op>, seeds = seedCount(), first = 1): Promise<number> {
  for (let seed = first; seed < first + seeds; seed++) {
    // A turn of the event loop now and then: a run of 100,000 seeds that only ever awaits
    // microtasks starves the test worker's messages to vitest (which times out and fails the run)
    // and core's timer-turn sweep of idle subscriptions.
    if ((seed - first) % SEEDS_PER_TURN === SEEDS_PER_TURN - 1) await new Promise<void>((resolve) => turn(resolve));
    const ops = model.generate(prng(seed));
    const failure = await fails(model, ops, seed);
    if (failure === undefined) continue;
    const small = await shrink(model, ops, seed);
    const why = (await fails(model, small, seed)) ?? failure;
    throw new Error(
      `${model.name}: seed ${seed} fails (${ops.length} operations, shrunk to ${small.length}):\n` +
        `${small.map((op) => `  ${JSON.stringify(op)}`).join("\n")}\n` +
        `failure: ${why instanceof Error ? why.message : String(why)}`,
      { cause: why },
    );
  }
  return seeds;
}
