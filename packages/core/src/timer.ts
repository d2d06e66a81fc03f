import { live } from "./counters.js";
import { describe } from "./context.js";

/**
 * Elapsed milliseconds, from the clock found when core loaded: what tells a deadline overdue, as
 * Go's monotonic clock does. A wall clock stepped by NTP or by a test's `setSystemTime` must not
 * expire a context early; a fake clock installed later must not freeze it.
 */
export const elapsed: () => number =
  typeof performance === "object" && typeof performance.now === "function" ? performance.now.bind(performance) : Date.now;

/** setTimeout clamps longer delays to 1 ms, so longer waits are armed in steps of this size. */
export const MAX_DELAY = 2 ** 31 - 1;

/**
 * Arms a counted timer that calls `fn(arg)` once `ms` milliseconds have elapsed, re-arming in
 * steps for delays beyond what setTimeout can hold. `unref` lets a Node
 * process exit while it is armed. `set` receives each new handle so the owner can clear the current
 * one.
 *
 * The delay is measured as elapsed time, as Go's timers measure it, not by reading the wall clock
 * when the timer fires and re-arming until it shows a deadline passed: a clock set back, or fake timers that leave `Date` alone, would
 * otherwise re-arm it for as long as the clock seemed to lag, forever under such fake timers.
 */
export function armAfter<A>(
  ms: number,
  unref: boolean,
  arg: A,
  fn: (arg: A) => void,
  set: (arg: A, handle: ReturnType<typeof setTimeout> | undefined) => void,
): void {
  // Rounded up: setTimeout drops a fraction, and a timer must never fire before its deadline.
  let left = Math.max(0, Math.ceil(ms));
  const step = (): void => {
    live.timers--;
    if (left > 0) arm();
    else {
      set(arg, undefined);
      fn(arg);
    }
  };
  const arm = (): void => {
    const delay = Math.min(left, MAX_DELAY);
    left -= delay;
    const t = setTimeout(step, delay);
    if (unref && typeof t === "object" && t !== null && typeof t.unref === "function") t.unref();
    live.timers++;
    set(arg, t);
  };
  arm();
}

/** Clears a timer armed by armAfter and keeps the live count right. */
export function disarm(handle: ReturnType<typeof setTimeout>): void {
  clearTimeout(handle);
  live.timers--;
}

/**
 * Validates a duration in milliseconds: a number, not NaN. A negative one is a time already up, as
 * Go's durations are: a timeout computed from a budget already spent gives an expired context,
 * not an error. Infinity means never.
 */
export function checkMs(ms: unknown, fn: string, arg: string): number {
  if (typeof ms !== "number") throw new TypeError(`${fn}: ${arg} must be a number of milliseconds, received ${describe(ms)}`);
  if (Number.isNaN(ms)) throw new RangeError(`${fn}: ${arg} must be a number of milliseconds, not NaN, received ${describe(ms)}`);
  return ms;
}
