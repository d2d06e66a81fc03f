// Stack capture for the debug tools (derivation traces, leak reports); not part of the public API.

/**
 * Frames of any Tether package: those under the directory that holds this package and its
 * siblings (`…/packages/` in this repository, `…/node_modules/@tether/` installed), found from this
 * module's own URL, so that a user's own `packages/core/src` in a monorepo is not taken for
 * Tether's; and, for a second installed copy, any `@tether/core|group|sync` directory.
 */
const OWN = ownFrames();

function ownFrames(): RegExp {
  const installed = "[\\\\/]@tether[\\\\/](core|group|sync)[\\\\/]";
  try {
    const home = new URL("../../", import.meta.url);
    // Only where the layout is known: in a bundle, user code may share this module's file.
    if (home.protocol !== "file:" || !/\/(packages|@tether)\/$/.test(home.pathname)) return new RegExp(installed);
    const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const path = decodeURIComponent(home.pathname);
    const dirs = [home.href, path, path.replace(/\//g, "\\")].map(escape).join("|");
    return new RegExp(`(?:${dirs})(core|group|sync)[\\\\/](src|dist)[\\\\/]|${installed}`);
  } catch {
    return new RegExp(installed);
  }
}
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
