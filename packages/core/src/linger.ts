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
/** How many subscriptions may wait for the timer's sweep before `linger` sweeps at once. */
const MAX_QUEUED = 1024;

// The timer functions as this module found them when it loaded. The sweep is housekeeping, not
// something a program waits for: fake timers installed later (a test's) neither count it nor
// control it, and uninstalling them cannot strand it unfired. Deadlines and sleep, which a test
// does want to control, call the current setTimeout instead.
const setTimer = setTimeout;
const clearTimer = clearTimeout;

/** The armed sweep timer, if any. */
let armed: ReturnType<typeof setTimeout> | undefined;

/**
 * Queues an idle subscription for the next sweep, arming the sweep's timer if it is not armed. The
 * timer is unref'd: an idle subscription is nothing a Node process should stay alive for.
 *
 * @internal
 */
export function linger(s: Idle): void {
  s._lingering = true;
  // A burst that never yields to timers (microtasks only) with a fresh context per wait would
  // otherwise keep every displaced subscription, and its context, until the burst ends: past a
  // bound, sweep now. Sweeping early only withdraws what is idle, so it costs a re-subscribe at most.
  if (queue.length >= MAX_QUEUED) sweep();
  queue.push(s);
  if (armed !== undefined) return;
  const t = setTimer(onTimer, 0);
  if (typeof t === "object" && t !== null && typeof t.unref === "function") t.unref();
  armed = t;
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
    clearTimer(armed);
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
