import { mulberry32 } from "../../../../test/model.js";

export { mulberry32 };

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
