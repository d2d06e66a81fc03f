import { subscribe } from "./cancel.js";
import { type Context, asContext, asFunction, functionName } from "./context.js";

const PENDING = 0;
const STARTED = 1;
const STOPPED = 2;

/**
 * afterFunc arranges for `fn` to run once after `ctx` is cancelled — soon, if it already is. It
 * never runs inside the cancel call itself: it is queued as a microtask. An exception thrown by
 * `fn` is not swallowed: like a panic in a Go goroutine it surfaces as an uncaught exception.
 *
 * The returned `stop` withdraws the call. It returns true when it prevented `fn` from running, and
 * false when `fn` had already started or `stop` was already called. Stopping unlinks the
 * registration from `ctx`, so a long-lived context gathers nothing.
 *
 * @example Clean up on cancel, unless the work finished first
 * ```ts
 * import { afterFunc, background, withCancel } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * const stop = afterFunc(ctx, () => console.log("cleaning up"));
 * console.assert(stop() === true);
 * console.assert(stop() === false);
 * cancel();
 * ```
 */
export function afterFunc(ctx: Context, fn: () => void): () => boolean {
  const c = asContext(ctx, "afterFunc", "ctx");
  asFunction(fn, "afterFunc", "fn");
  let state: number = PENDING;
  const call = (): void => {
    if (state !== PENDING) return;
    state = STARTED;
    fn();
  };
  const sub = c.err === undefined ? subscribe(c, () => queueMicrotask(call), `afterFunc(${functionName(fn, "anonymous")})`) : undefined;
  if (c.err !== undefined) queueMicrotask(call);
  return () => {
    if (state !== PENDING) return false;
    state = STOPPED;
    sub?.off();
    return true;
  };
}
