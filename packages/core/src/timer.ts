import { live } from "./counters.js";
import { describe } from "./context.js";

/** setTimeout clamps longer delays to 1 ms, so longer waits are armed in steps of this size. */
export const MAX_DELAY = 2 ** 31 - 1;

/**
 * Arms a counted timer that calls `fn(arg)` once `at` (epoch ms) has passed, re-arming in steps
 * for delays beyond what setTimeout can hold. `unref` lets a Node process exit while it is armed.
 * `set` receives each new handle so the owner can clear the current one.
 */
export function armAt<A>(
  at: number,
  unref: boolean,
  arg: A,
  fn: (arg: A) => void,
  set: (arg: A, handle: ReturnType<typeof setTimeout> | undefined) => void,
): void {
  const step = (): void => {
    live.timers--;
    const left = at - Date.now();
    if (left > 0) arm(left);
    else {
      set(arg, undefined);
      fn(arg);
    }
  };
  const arm = (delay: number): void => {
    const t = setTimeout(step, Math.min(delay, MAX_DELAY));
    if (unref && typeof t === "object" && t !== null && typeof t.unref === "function") t.unref();
    live.timers++;
    set(arg, t);
  };
  arm(at - Date.now());
}

/** Clears a timer armed by armAt and keeps the live count right. */
export function disarm(handle: ReturnType<typeof setTimeout>): void {
  clearTimeout(handle);
  live.timers--;
}

/** Validates a duration in milliseconds: a number, not NaN, not negative; Infinity allowed. */
export function checkMs(ms: unknown, fn: string, arg: string): number {
  if (typeof ms !== "number") throw new TypeError(`${fn}: ${arg} must be a number of milliseconds, received ${describe(ms)}`);
  if (Number.isNaN(ms) || ms < 0) throw new RangeError(`${fn}: ${arg} must be a non-negative number of milliseconds, received ${describe(ms)}`);
  return ms;
}
