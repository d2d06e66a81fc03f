import { describe } from "./context.js";

/**
 * What the cleanup error says, for the wrapper's message: whatever it is, it must not throw, or the
 * error it describes would be lost behind the one its printing raised.
 */
function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return describe(error);
  }
}

/**
 * Builds a SuppressedError: the native one where the runtime has it, else an Error of the same
 * shape (`name`, `error`, `suppressed`), which is also what TypeScript's `using` emits.
 */
export function suppressed(error: unknown, suppressedError: unknown): Error {
  const message = `An error was suppressed during cleanup: ${messageOf(error)}`;
  const Native = (globalThis as { SuppressedError?: new (e: unknown, s: unknown, m: string) => Error }).SuppressedError;
  if (typeof Native === "function") return new Native(error, suppressedError, message);
  const e = new Error(message) as Error & { error: unknown; suppressed: unknown };
  e.name = "SuppressedError";
  e.error = error;
  e.suppressed = suppressedError;
  return e;
}
