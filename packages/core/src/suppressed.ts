/**
 * Builds a SuppressedError: the native one where the runtime has it, else an Error of the same
 * shape (`name`, `error`, `suppressed`), which is also what TypeScript's `using` emits.
 */
export function suppressed(error: unknown, suppressedError: unknown): Error {
  const message = `An error was suppressed during cleanup: ${error instanceof Error ? error.message : String(error)}`;
  const Native = (globalThis as { SuppressedError?: new (e: unknown, s: unknown, m: string) => Error }).SuppressedError;
  if (typeof Native === "function") return new Native(error, suppressedError, message);
  const e = new Error(message) as Error & { error: unknown; suppressed: unknown };
  e.name = "SuppressedError";
  e.error = error;
  e.suppressed = suppressedError;
  return e;
}
