export { Mutex } from "./mutex.js";
export { RWMutex } from "./rw-mutex.js";
export { Semaphore } from "./semaphore.js";
export { Channel } from "./channel.js";
export { select, type SelectCase, type SelectOptions, type RecvCaseResult, type SendCaseResult } from "./select.js";
export { WaitGroup } from "./wait-group.js";
export { ReleaseError, ChannelClosedError } from "./errors.js";
