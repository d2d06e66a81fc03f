/**
 * generator-cleanup: a generator task that holds a resource, is cancelled mid-`yield`, and lets go.
 *
 * The task writes a report the safe way: into a temporary file, renamed into place only when
 * complete. While it runs it holds an open file handle and a partial file. Every `yield` is a point
 * where cancellation can land; when it does, the `yield` throws `ctx.err` and the `finally` block
 * closes the handle and deletes the partial file, so a cancelled run leaves neither a leaked
 * descriptor nor half a report. The cleanup uses `await`, never `yield`: the task is already
 * cancelled, and a `yield` in cleanup would only throw again.
 *
 * Structured concurrency does the rest: `runTask`, `run` and `Group` settle only after that
 * `finally` has finished, so by the time the caller sees the cancellation, the file is closed.
 */
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Context, background, runTask, sleep, until, withCancel } from "@tether/core";
import { run } from "@tether/group";
import { runIfMain } from "./lib/main.js";

export interface ReportHooks {
  /** Called with each event: "opened", "line N", "released", "published". */
  onEvent?: (event: string, handle: FileHandle) => void;
  /** Pause between lines, so there is time for something to happen. Default: 5 ms. */
  paceMs?: number;
}

/**
 * writeReport returns a task that writes `lines` to `path` through a temporary file. Cancelled, it
 * closes the file and removes the partial one before it settles.
 */
export function writeReport(path: string, lines: readonly string[], hooks: ReportHooks = {}) {
  const { onEvent, paceMs = 5 } = hooks;
  return async function* (ctx: Context): AsyncGenerator<unknown, string, unknown> {
    const partial = `${path}.partial`;
    const handle = yield* until(open(partial, "w"));
    let published = false;
    try {
      onEvent?.("opened", handle);
      for (const [i, line] of lines.entries()) {
        yield* until(handle.write(`${line}\n`));
        onEvent?.(`line ${i + 1}`, handle);
        // The pause is part of the work: until() makes it a wait that cancellation interrupts.
        yield* until(sleep(ctx, paceMs));
      }
      yield* until(handle.sync());
      await handle.close();
      yield* until(rename(partial, path));
      published = true;
      onEvent?.("published", handle);
      return path;
    } finally {
      if (!published) {
        // close() waits for a write still in flight; both are safe to repeat after a success.
        await handle.close();
        await rm(partial, { force: true });
        onEvent?.("released", handle);
      }
    }
  };
}

export async function main(): Promise<void> {
  const path = join(tmpdir(), `tether-report-${process.pid}.txt`);
  const lines = Array.from({ length: 10 }, (_, i) => `row ${i + 1}`);
  const log = (event: string, h: FileHandle): void => console.log(`  ${event} (fd ${h.fd})`);

  console.log("cancelled by its caller:");
  const [ctx, cancel] = withCancel(background());
  const running = runTask(ctx, writeReport(path, lines, { onEvent: log, paceMs: 10 }));
  setTimeout(cancel, 25);
  await running.catch((err: unknown) => console.log(`  runTask rejected with ${String(err)}`));

  console.log("cancelled because a sibling failed:");
  const failing = async (c: Context): Promise<never> => {
    await sleep(c, 12);
    throw new Error("upstream feed broke");
  };
  await run(background(), writeReport(path, lines, { onEvent: log }), failing).catch((err: unknown) =>
    console.log(`  run rejected with ${String(err)}`),
  );

  console.log("left alone:");
  console.log(`  wrote ${await runTask(background(), writeReport(path, lines.slice(0, 2), { onEvent: log }))}`);
  await rm(path, { force: true });
}

runIfMain(import.meta.url, main);
