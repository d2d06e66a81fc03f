/**
 * temp-dir: a temporary directory that lives exactly as long as a context.
 *
 * `afterFunc` ties the cleanup to the context rather than to the code path: the directory goes
 * whether the context ends by `cancel()`, by its deadline or because an ancestor was cancelled,
 * with no `finally` at every exit. The returned `stop()` opts out — the work succeeded and the
 * directory is being kept — and says whether it was in time.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Context, afterFunc, background, sleep, withCancel, withTimeout } from "@tether/core";
import { runIfMain } from "./lib/main.js";

export interface TempDir {
  readonly path: string;
  /** Keeps the directory: true if that prevented the removal, false if it had already started. */
  stop(): boolean;
  /** Resolves once the directory has been removed; never, if `stop()` won. */
  readonly removed: Promise<void>;
}

/** openTempDir creates a directory under the OS temp dir and removes it once `ctx` is done. */
export function openTempDir(ctx: Context, prefix = "tether-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  let onRemoved!: () => void;
  const removed = new Promise<void>((r) => (onRemoved = r));
  // Synchronous removal: afterFunc callbacks are plain functions, and a rejected promise from an
  // async one would have nobody to report to. `force` makes it idempotent.
  const stop = afterFunc(ctx, () => {
    rmSync(path, { recursive: true, force: true });
    onRemoved();
  });
  return { path, stop, removed };
}

export async function main(): Promise<void> {
  {
    const [ctx, cancel] = withCancel(background());
    const dir = openTempDir(ctx);
    console.log(`cancel:   created ${dir.path}`);
    cancel();
    await dir.removed;
    console.log(`cancel:   exists after cancel? ${existsSync(dir.path)}`);
  }
  {
    const [ctx, cancel] = withTimeout(background(), 50);
    const dir = openTempDir(ctx);
    await sleep(background(), 60);
    await dir.removed;
    console.log(`deadline: exists after the deadline? ${existsSync(dir.path)}`);
    cancel();
  }
  {
    const [ctx, cancel] = withCancel(background());
    const dir = openTempDir(ctx);
    console.log(`stop:     stop() prevented the removal? ${dir.stop()}`);
    cancel();
    console.log(`stop:     exists after cancel? ${existsSync(dir.path)} (kept, removing by hand)`);
    rmSync(dir.path, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
