/**
 * Awaits a hold (a lock, read lock or permits), runs `fn` under it and releases it however `fn`
 * ends: with a value, a rejection or a synchronous throw. Nothing is released when the hold was
 * never granted, because the first `await` rejects before the `try`.
 *
 * @internal
 */
export async function runHeld<T>(hold: Promise<Disposable>, fn: () => T | PromiseLike<T>): Promise<T> {
  const held = await hold;
  try {
    return await fn();
  } finally {
    held[Symbol.dispose]();
  }
}
