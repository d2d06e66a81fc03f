// Captured at load, before any test installs fake timers, so it always reaches the real event loop.
const realSetImmediate = globalThis.setImmediate;

/** Resolves after the microtask queue has drained `n` times over: enough for queued callbacks. */
export async function microtasks(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Resolves on the real event loop's next check phase, after pending microtasks and nextTicks. */
export function macrotask(): Promise<void> {
  return new Promise<void>((resolve) => realSetImmediate(resolve));
}

/** Whether `p` has settled, found without waiting for anything but microtasks. */
export async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await microtasks();
  return settled;
}
