/**
 * Runs `body` while recording every unhandled rejection, lets late rejections surface for two
 * macrotask turns, and returns what was recorded (the shared setup would also fail the test, but
 * a test that is about unhandled rejections asserts on them itself).
 */
export async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (r: unknown): void => void seen.push(r);
  process.on("unhandledRejection", record);
  try {
    await body();
    for (let i = 0; i < 2; i++) await new Promise<void>((r) => setImmediate(r));
  } finally {
    process.off("unhandledRejection", record);
  }
  return seen;
}
