/**
 * CanceledError is the class of {@link Canceled}, the error a context reports once it was cancelled
 * by its cancel function or by an ancestor's.
 *
 * @example Recognise a cancellation
 * ```ts
 * import { background, withCancel, CanceledError } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * cancel();
 * console.assert(ctx.err instanceof CanceledError);
 * ```
 */
export class CanceledError extends Error {
  override readonly name: string = "CanceledError";
  constructor(message = "context canceled", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * DeadlineExceededError is the class of {@link DeadlineExceeded}, the error a context reports once
 * its deadline passed.
 *
 * @example Recognise an expired deadline
 * ```ts
 * import { background, withTimeout, DeadlineExceededError } from "@tether/core";
 * const [ctx, cancel] = withTimeout(background(), 0);
 * console.assert(ctx.err instanceof DeadlineExceededError);
 * cancel();
 * ```
 */
export class DeadlineExceededError extends Error {
  override readonly name: string = "DeadlineExceededError";
  constructor(message = "context deadline exceeded", options?: ErrorOptions) {
    super(message, options);
  }
}

// The sentinels are shared values, compared by identity like Go's context.Canceled. Their stack
// would only point at this module's load, which helps nobody, so it is trimmed to the message;
// the interesting part of a cancellation is its cause (see cause()).
function sentinel<E extends Error>(e: E): E {
  Object.defineProperty(e, "stack", { value: `${e.name}: ${e.message}`, writable: true, configurable: true });
  return e;
}

/**
 * Canceled is the value of `ctx.err` once a context was cancelled (not by its deadline).
 *
 * @example
 * ```ts
 * import { background, withCancel, Canceled } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * cancel();
 * console.assert(ctx.err === Canceled);
 * ```
 */
export const Canceled: CanceledError = sentinel(new CanceledError());

/**
 * DeadlineExceeded is the value of `ctx.err` once a context's deadline passed.
 *
 * @example
 * ```ts
 * import { background, withDeadline, DeadlineExceeded } from "@tether/core";
 * const [ctx, cancel] = withDeadline(background(), Date.now() - 1);
 * console.assert(ctx.err === DeadlineExceeded);
 * cancel();
 * ```
 */
export const DeadlineExceeded: DeadlineExceededError = sentinel(new DeadlineExceededError());

/**
 * errorIs reports whether `err`, or any error it wraps, is `target`. It follows `.cause`, the
 * `errors` of an `AggregateError` and the `error`/`suppressed` pair of a `SuppressedError` (also
 * the polyfill TypeScript emits for `using`), like Go's `errors.Is`. When `target` is a class, an
 * instance of it matches. It never throws: a part of `err` that cannot be inspected matches nothing,
 * and past 100,000 parts (a `cause` getter that makes a new error at each read) it answers false.
 *
 * @example Find a deadline behind a wrapped error
 * ```ts
 * import { errorIs, DeadlineExceeded } from "@tether/core";
 * const err = new Error("fetching user failed", { cause: DeadlineExceeded });
 * console.assert(errorIs(err, DeadlineExceeded));
 * console.assert(!errorIs(new Error("other"), DeadlineExceeded));
 * ```
 */
export function errorIs(err: unknown, target: unknown): boolean {
  const isClass = typeof target === "function";
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  // Only `err` itself can match an undefined target: a wrapper's absent or undefined cause is not one.
  const push = (v: unknown): boolean => {
    if (v !== undefined) stack.push(v);
    return true;
  };
  // A bound on the parts visited: a `cause` getter that makes a new error at every read would
  // otherwise never end. No real error tree comes near it.
  for (let visited = 0; stack.length > 0 && visited < MAX_PARTS; visited++) {
    const e = stack.pop();
    if (e === target) return true;
    if (e === null || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    if (isClass && isInstance(e, target)) return true;
    // Each part is read on its own: one that cannot be read (a revoked Proxy, a throwing getter)
    // hides nothing else. errorIs sits in error paths, where a throw of its own would replace the
    // error being examined.
    const o = e as { cause?: unknown; errors?: unknown; error?: unknown; suppressed?: unknown };
    attempt(() => "cause" in o && push(o.cause));
    attempt(() => {
      const errors = o.errors;
      if (!Array.isArray(errors)) return;
      for (let i = errors.length - 1; i >= 0; i--) attempt(() => push(errors[i]));
    });
    attempt(() => "suppressed" in o && "error" in o && push(o.suppressed));
    attempt(() => "suppressed" in o && "error" in o && push(o.error));
  }
  return false;
}

/** Runs `read`, ignoring a throw: a part of an error that cannot be read wraps nothing findable. */
function attempt(read: () => unknown): void {
  try {
    read();
  } catch {
    // Nothing to search below it.
  }
}

const MAX_PARTS = 100_000;

/** `e instanceof target`, false where `instanceof` throws (an arrow function has no prototype). */
function isInstance(e: object, target: unknown): boolean {
  try {
    return e instanceof (target as abstract new (...args: never[]) => unknown);
  } catch {
    return false;
  }
}
