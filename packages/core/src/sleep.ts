import { subscribe, waitErr } from "./cancel.js";
import type { Sub } from "./node.js";
import { type Context, asContext } from "./context.js";
import { armAfter, checkMs, disarm } from "./timer.js";

/**
 * sleep resolves after `ms` milliseconds, or rejects with `ctx.err` as soon as `ctx` is cancelled
 * (at once, if it already is), clearing its timer. Unlike a deadline's, the timer keeps a Node
 * process alive: a sleep is work somebody is waiting for. `Infinity` waits for cancellation only;
 * 0 or less is a sleep of 0, as in Go, which still gives timers and I/O a turn.
 *
 * @example
 * ```ts
 * import { background, sleep } from "@tether/core";
 * console.assert((await sleep(background(), 1)) === undefined);
 * ```
 */
export function sleep(ctx: Context, ms: number): Promise<void> {
  let c: Context;
  // A bad argument rejects, as every failure of a function that returns a promise does.
  try {
    c = asContext(ctx, "sleep", "ctx");
    checkMs(ms, "sleep", "ms");
  } catch (e) {
    return Promise.reject(e);
  }
  const err = c.err;
  if (err !== undefined) return Promise.reject(err);
  return new Promise<void>((resolve, reject) => {
    const state: { timer: ReturnType<typeof setTimeout> | undefined; sub: Sub | null } = { timer: undefined, sub: null };
    state.sub = subscribe(c, (e) => {
      if (state.timer !== undefined) disarm(state.timer);
      state.timer = undefined;
      reject(waitErr(c, e));
    }, `sleep(${ms}ms)`);
    if (ms === Infinity) return;
    armAfter(
      ms,
      false,
      state,
      (s) => {
        s.sub?.off();
        resolve();
      },
      (s, t) => (s.timer = t),
    );
  });
}
