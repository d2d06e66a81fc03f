/**
 * mulberry32 is a tiny seeded PRNG: the same seed gives the same sequence of floats in [0, 1), so a
 * randomised test that fails can be replayed exactly from the seed it prints.
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

/**
 * The seed of this run: `TETHER_SEED` from the environment to replay a failure, else a fresh one,
 * so every run explores new interleavings.
 */
export function runSeed(): number {
  const env = process.env["TETHER_SEED"];
  return env !== undefined && env !== "" ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** A whole number in [0, n). */
export function below(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}
