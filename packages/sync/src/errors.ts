/**
 * ReleaseError is thrown when code gives back what it does not hold: `Mutex.unlock` of an unlocked
 * mutex, `RWMutex.rUnlock` without a reader, `Semaphore.release` of more permits than are held,
 * `WaitGroup.done` below zero. The primitive is left exactly as it was. Like Go's panics of the same
 * name, it marks a bug in the caller, not a condition to handle.
 *
 * @example
 * ```ts
 * import { Mutex, ReleaseError } from "@tether/sync";
 * const mu = new Mutex();
 * try {
 *   mu.unlock();
 * } catch (err) {
 *   console.assert(err instanceof ReleaseError);
 *   console.assert((err as Error).message === "Mutex.unlock: the mutex is not locked");
 * }
 * ```
 */
export class ReleaseError extends Error {
  override readonly name: string = "ReleaseError";
}

/**
 * ChannelClosedError is thrown (or rejected with) by an operation that needs an open channel: a
 * send, whether it was blocked when the channel closed or started after, and a second `close`.
 * `value` is the value the failed send carried, so nothing is lost; it is `undefined` for `close`.
 *
 * @example Recover the unsent value
 * ```ts
 * import { background } from "@tether/core";
 * import { Channel, ChannelClosedError } from "@tether/sync";
 * const ch = new Channel<string>();
 * ch.close();
 * try {
 *   await ch.send(background(), "job 1");
 * } catch (err) {
 *   console.assert(err instanceof ChannelClosedError && err.value === "job 1");
 * }
 * ```
 */
export class ChannelClosedError extends Error {
  override readonly name: string = "ChannelClosedError";
  /** The value the failed send carried; `undefined` for a second `close`. */
  readonly value: unknown;
  constructor(message: string, value?: unknown, options?: ErrorOptions) {
    super(message, options);
    this.value = value;
  }
}
