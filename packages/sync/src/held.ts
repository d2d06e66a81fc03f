import { suppressed } from "@tether/core/internal";

/**
 * Awaits a hold (a lock, read lock or permits), runs `fn` under it and releases it however `fn`
 * ends: with a value, a rejection or a synchronous throw. Nothing is released when the hold was
 * never granted, because the first `await` rejects before the `try`. When both `fn` and the
 * release fail, it rejects with a `SuppressedError` carrying both, as `using` would.
 *
 * @internal
 */
export async function runHeld<T>(hold: Promise<Disposable>, fn: () => T | PromiseLike<T>): Promise<T> {
  const held = await hold;
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    try {
      held[Symbol.dispose]();
    } catch (releaseError) {
      throw suppressed(releaseError, error);
    }
    throw error;
  }
  held[Symbol.dispose]();
  return result;
}

/**
 * Gives the prototype of a hold class a `then` that is `undefined`, so resolving a promise with a
 * hold is cheaper. Resolving a promise with an object looks the object's `then` up; found at once
 * on the hold's prototype, that lookup costs about half of a miss, which walks on to
 * `Object.prototype` — a miss that was a quarter of an uncontended `Mutex.lock`. The hold stays
 * what it was: not a thenable (`then` is not callable), with no new own property; only `"then" in
 * hold` tells. Writable and configurable, as an ordinary property would be.
 *
 * @internal
 */
export function notThenable(cls: abstract new (...args: never[]) => object): void {
  Object.defineProperty(cls.prototype, "then", { value: undefined, writable: true, enumerable: false, configurable: true });
}
