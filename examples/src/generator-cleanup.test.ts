import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Canceled, type Context, background, runTask, sleep, withCancel } from "@tether/core";
import { run } from "@tether/group";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeReport } from "./generator-cleanup.js";

describe("writeReport", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-gen-"));
    path = join(dir, "report.txt");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lines = Array.from({ length: 20 }, (_, i) => `row ${i + 1}`);

  it("writeReport() publishes the whole report when nothing cancels it", async () => {
    const events: string[] = [];
    const out = await runTask(background(), writeReport(path, lines.slice(0, 3), { onEvent: (e) => events.push(e), paceMs: 0 }));
    expect(out).toBe(path);
    expect(readFileSync(path, "utf8")).toBe("row 1\nrow 2\nrow 3\n");
    expect(events).toEqual(["opened", "line 1", "line 2", "line 3", "published"]);
  });

  it("a cancel mid-yield closes the file and removes the partial one before runTask settles", async () => {
    const [ctx, cancel] = withCancel(background());
    const events: string[] = [];
    let handle: FileHandle | undefined;
    let lineWritten!: () => void;
    const firstLine = new Promise<void>((r) => (lineWritten = r));
    const onEvent = (e: string, h: FileHandle): void => {
      events.push(e);
      handle = h;
      if (e === "line 1") lineWritten();
    };
    // A long pace parks the task at its `yield* until(sleep(...))` after the first line.
    const running = runTask(ctx, writeReport(path, lines, { onEvent, paceMs: 60_000 }));
    await firstLine;
    await new Promise<void>((r) => setImmediate(r));
    expect(existsSync(`${path}.partial`)).toBe(true);
    cancel();
    await expect(running).rejects.toBe(Canceled);
    expect(events).toEqual(["opened", "line 1", "released"]);
    expect(handle?.fd).toBe(-1);
    expect(existsSync(`${path}.partial`)).toBe(false);
    expect(existsSync(path)).toBe(false);
  });

  it("a failing sibling in run() cancels the writer, and run() rejects only after it released", async () => {
    const events: string[] = [];
    let handle: FileHandle | undefined;
    const failure = new Error("upstream feed broke");
    const failing = async (c: Context): Promise<never> => {
      await sleep(c, 15);
      throw failure;
    };
    const outcome = await run(
      background(),
      writeReport(path, lines, {
        onEvent: (e, h) => {
          events.push(e);
          handle = h;
        },
      }),
      failing,
    ).catch((err: unknown) => err);
    expect(outcome).toBe(failure);
    expect(events.at(-1)).toBe("released");
    expect(events.length).toBeLessThan(lines.length + 2);
    expect(handle?.fd).toBe(-1);
    expect(existsSync(`${path}.partial`)).toBe(false);
  });
});
