// The time slice that generator tasks and map share: how long code that runs only in promise
// reactions — bare yields, waits on settled promises, calls that settle at once — may keep the
// thread before timers and I/O get a turn.

/** How long a slice lasts. */
const SLICE_MS = 4;

/**
 * How many checks a slice may answer while the clock does not move: one frozen before this module
 * loaded (fake timers) must not let a loop starve the event loop either. Counted only while the
 * clock stands still, so on a clock that runs the time alone decides.
 */
const SLICE_STEPS = 4096;

/** Whether `f` is a fake timer function: @sinonjs/fake-timers, which vitest and Jest use, marks each with its clock. */
const isFake = (f: unknown): boolean => typeof f === "function" && "clock" in f;

/**
 * Queues `fn` as a macrotask. Chosen when the module loads, so fake timers installed later by a
 * test cannot freeze it. Fake timers installed before it loads would: a fake `setImmediate` runs
 * only when the test advances the clock, so a task that yields would hang. Then a MessageChannel
 * (which no fake timers replace) carries the turn.
 */
const macrotask: (fn: () => void) => void = pickMacrotask();

function pickMacrotask(): (fn: () => void) => void {
  const si = typeof setImmediate === "function" ? setImmediate : undefined;
  if (si !== undefined && !isFake(si)) return (fn) => void si(fn);
  if (typeof MessageChannel === "function") {
    // A channel per turn, closed once it has carried it: Node delivers up to a thousand messages on
    // one port before it lets timers and I/O run, so a long-lived port would hold them off. An open
    // port keeps a Node process alive, as a turn that a running task waits for must.
    return (fn) => {
      const channel = new MessageChannel();
      const port = channel.port1 as unknown as { onmessage: (() => void) | null; close: () => void };
      port.onmessage = () => {
        port.close();
        fn();
      };
      channel.port2.postMessage(null);
    };
  }
  const st = setTimeout;
  return (fn) => void st(fn, 0);
}

// Also captured at load, for the same reason: a fake clock frozen by a test would end no slice.
const now: () => number =
  typeof performance === "object" && typeof performance.now === "function" ? performance.now.bind(performance) : Date.now;

/**
 * When the current slice began, or -1 when the event loop has had a turn since the last check.
 * One slice for the whole thread, not one per task: a stream of short tasks (map over an endless
 * source), each starting a slice of its own, would never reach the end of one.
 */
let began = -1;
let steps = 0;

/** Marks the event loop's turn: queued as a slice begins, it runs once the thread lets go. */
function turned(): void {
  began = -1;
}

/**
 * @internal Whether the thread has run promise reactions for a slice without the event loop
 * getting a turn, so the caller should await {@link giveTurn} before it goes on.
 */
export function turnDue(): boolean {
  const t = now();
  if (began < 0) {
    began = t;
    steps = 0;
    macrotask(turned);
    return false;
  }
  return t - began >= SLICE_MS || (++steps >= SLICE_STEPS && t === began);
}

/** @internal Resolves on a macrotask, once timers and I/O that were due have had their turn. */
export function giveTurn(): Promise<void> {
  return new Promise<void>((resolve) => macrotask(resolve));
}
