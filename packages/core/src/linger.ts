/**
 * An idle subscription: one kept linked into a context's cancel list while it covers no wait, so
 * that the next wait under the same context can reuse it rather than link a new one and unlink it
 * again. A channel in a ping-pong waits and is served, under one context, tens of thousands of times
 * a second; linking and unlinking were most of what each wait cost.
 *
 * Kept linked, it would hold its context's list (and what it points to) for as long as the context
 * lives, so it is withdrawn soon: every idle subscription is swept at the next timer turn, when the
 * burst of waits that made it idle is over, and at once whenever the testing counters are read, so
 * that what a test sees is what is waiting.
 *
 * @internal
 */
export interface Idle {
  /** Set while it is in the sweep's queue, so that it is queued once however often it idles. */
  _lingering: boolean;
  /** Withdraws the subscription if it is still idle; else it stays, and is queued when it next idles. */
  _sweep(): void;
}

const queue: Idle[] = [];

/**
 * The armed sweep timer, with the setTimeout and clearTimeout of the moment it was armed. A test's
 * fake timers may arm it and then be uninstalled, dropping it unfired: `linger` then sees another
 * setTimeout, disarms the stale timer with the clearTimeout that matches it, and arms a real one.
 */
let armed:
  | { handle: ReturnType<typeof setTimeout>; set: typeof setTimeout; clear: typeof clearTimeout }
  | undefined;

/**
 * Queues an idle subscription for the next sweep, arming the sweep's timer if it is not armed. The
 * timer is unref'd: an idle subscription is nothing a Node process should stay alive for.
 *
 * @internal
 */
export function linger(s: Idle): void {
  s._lingering = true;
  queue.push(s);
  if (armed !== undefined) {
    if (armed.set === setTimeout) return;
    armed.clear(armed.handle);
  }
  const set = setTimeout;
  const clear = clearTimeout;
  const handle = set(onTimer, 0);
  if (typeof handle === "object" && handle !== null && typeof handle.unref === "function") handle.unref();
  armed = { handle, set, clear };
}

function onTimer(): void {
  armed = undefined;
  sweep();
}

/**
 * Withdraws every queued subscription that is still idle, now, and disarms the timer. The testing
 * functions run it before they count, so that what a test sees is what is waiting.
 *
 * @internal
 */
export function sweepIdle(): void {
  if (armed !== undefined) {
    armed.clear(armed.handle);
    armed = undefined;
  }
  sweep();
}

function sweep(): void {
  // A sweep only unlinks, so it queues nothing new while it runs.
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i] as Idle;
    s._lingering = false;
    s._sweep();
  }
  queue.length = 0;
}
