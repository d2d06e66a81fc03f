/**
 * The hooks the other Tether packages build on. Not a public API: names and shapes here may change
 * in any release.
 *
 * @packageDocumentation
 * @internal
 */
export { cancelEpoch, neverCancelled, subscribe, subscribeWith, waitErr } from "./cancel.js";
export { Sub, type Subscriber, unsubscribe } from "./node.js";
export { asContext, asFunction, contextError, describe, functionName, parentDeadline, toContext } from "./context.js";
export { suppressed } from "./suppressed.js";
export { live } from "./counters.js";
export { type Idle, linger, sweepIdle } from "./linger.js";
export { checkMs } from "./timer.js";
export { type TaskRecord, asTask, isGeneratorFunction, startTask, watchTask } from "./task.js";
export { reportQueued } from "./queued.js";
export { giveTurn, turnDue } from "./slice.js";
export { keep } from "./keep.js";
