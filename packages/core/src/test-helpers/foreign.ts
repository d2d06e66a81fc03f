import { Canceled, DeadlineExceeded, type Context, type Key } from "../index.js";

/**
 * ForeignContext is a Context that Tether did not make, as a framework might define one: it is
 * cancelled through an AbortController of its own and keeps its values in a Map. Its err is
 * DeadlineExceeded when the abort reason is a TimeoutError, else Canceled. Its `done` is made on
 * first read only, so that tests counting listeners on its signal see Tether's alone.
 */
export class ForeignContext implements Context {
  readonly #ac = new AbortController();
  readonly #values = new Map<Key<unknown>, unknown>();
  #done: Promise<void> | undefined;
  constructor(readonly deadline: number | undefined = undefined) {}

  get err(): Error | undefined {
    const s = this.#ac.signal;
    if (!s.aborted) return undefined;
    return s.reason instanceof Error && s.reason.name === "TimeoutError" ? DeadlineExceeded : Canceled;
  }
  get done(): Promise<void> {
    return (this.#done ??= this.#ac.signal.aborted
      ? Promise.resolve()
      : new Promise<void>((resolve) => this.#ac.signal.addEventListener("abort", () => resolve(), { once: true })));
  }
  get signal(): AbortSignal {
    return this.#ac.signal;
  }
  value<T>(key: Key<T>): T | undefined {
    return this.#values.get(key) as T | undefined;
  }
  /** Stores a value, for tests of lookup through a foreign parent. */
  set<T>(key: Key<T>, value: T): this {
    this.#values.set(key, value);
    return this;
  }
  /** Cancels this context: its signal aborts with `reason`. */
  cancel(reason?: unknown): void {
    this.#ac.abort(reason);
  }
  toString(): string {
    return "ForeignContext";
  }
}

/**
 * WrappedContext forwards every member to a Tether context, as an adapter layer would: a foreign
 * Context whose signal Tether made.
 */
export class WrappedContext implements Context {
  constructor(readonly inner: Context) {}
  get deadline(): number | undefined {
    return this.inner.deadline;
  }
  get err(): Error | undefined {
    return this.inner.err;
  }
  get done(): Promise<void> {
    return this.inner.done;
  }
  get signal(): AbortSignal {
    return this.inner.signal;
  }
  value<T>(key: Key<T>): T | undefined {
    return this.inner.value(key);
  }
  toString(): string {
    return `Wrapped(${String(this.inner)})`;
  }
}
