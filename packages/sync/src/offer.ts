// What a channel's `_offer` did with a value: shared by the channel and select, which commits a
// send case through it and must know whether the value was taken.

/** Nobody could take the value now: no receiver, no room in the buffer. */
export const BLOCKED = 0;
/** Delivered to a receiver, or buffered. */
export const DONE = 1;
/** The channel is closed. */
export const CLOSED = 2;
