// Stack capture for the debug tools (derivation traces, leak reports); not part of the public API.

/** Frames of any Tether package, in this repository or installed. */
const OWN = /[\\/]packages[\\/](core|group|sync)[\\/](src|dist)[\\/]|[\\/]@tether[\\/](core|group|sync)[\\/]/;
const TEST = /\.test\.[jt]s/;

/**
 * Captures where a context is being derived. V8 records the frames when the Error is made but
 * formats them only when `.stack` is read, so the capture is kept unformatted until printed.
 */
export function captureStack(): Error {
  // V8 keeps 10 frames by default, and Tether's own frames would use up most of them.
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 40;
  const at = new Error("derived here");
  if (limit !== undefined) E.stackTraceLimit = limit;
  return at;
}

/** The frames of a captured stack (or its text) that belong to the user's code: Tether's own are dropped. */
export function userFrames(at: Error | string): string {
  return (typeof at === "string" ? at : (at.stack ?? ""))
    .split("\n")
    .slice(1)
    .filter((l) => !(OWN.test(l) && !TEST.test(l)))
    .map((l) => l.trim())
    .join("\n");
}
