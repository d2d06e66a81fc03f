/**
 * Runs `warmUp`, then `measured`, and returns how many MB the heap grew across `measured`, each
 * read after a full garbage collection. The warm-up lets tables and caches that a burst of work
 * needs reach their size first, so what remains is what the measured work left behind.
 */
export async function heapGrowthMB(warmUp: () => Promise<void>, measured: () => Promise<void>): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("this test needs node --expose-gc (set in vitest.config.ts)");
  await warmUp();
  gc();
  const before = process.memoryUsage().heapUsed;
  await measured();
  gc();
  return (process.memoryUsage().heapUsed - before) / 2 ** 20;
}
