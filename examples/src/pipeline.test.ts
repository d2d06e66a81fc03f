import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Canceled, type Context, background, sleep, withCancel } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Read, digestAll, main } from "./pipeline.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** A disk in memory: each file is read after its own latency, through `sleep(ctx, …)`. */
function fakeDisk(files: Record<string, { text: string; ms: number }>) {
  const reads: string[] = [];
  const aborted: string[] = [];
  let inFlight = 0;
  let peak = 0;
  const read: Read = async (ctx: Context, path: string) => {
    const file = files[path];
    if (file === undefined) throw new Error(`ENOENT: ${path}`);
    reads.push(path);
    peak = Math.max(peak, ++inFlight);
    try {
      await sleep(ctx, file.ms);
    } catch (err) {
      aborted.push(path);
      throw err;
    } finally {
      inFlight--;
    }
    return new TextEncoder().encode(file.text);
  };
  return { read, reads, aborted, peak: () => peak };
}

describe("pipeline", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("digestAll() hashes every file exactly once and returns the sums in path order", async () => {
    const files = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`f${String(i).padStart(2, "0")}`, { text: `content ${i}`, ms: (i * 7) % 5 }]),
    );
    const disk = fakeDisk(files);
    const paths = Object.keys(files).reverse();
    const done = digestAll(background(), paths, { workers: 3, read: disk.read });
    await vi.runAllTimersAsync();
    const sums = await done;
    expect(sums).toEqual(Object.keys(files).map((path) => ({ path, sha256: sha256(files[path]!.text) })));
    expect([...disk.reads].sort()).toEqual(Object.keys(files));
  });

  it("digestAll() never has more than `workers` reads in flight", async () => {
    const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, { text: `${i}`, ms: 10 }]));
    const disk = fakeDisk(files);
    const done = digestAll(background(), Object.keys(files), { workers: 4, read: disk.read });
    await vi.runAllTimersAsync();
    expect(await done).toHaveLength(20);
    expect(disk.peak()).toBe(4);
  });

  it("the walker runs at most one path ahead of the digesters, as unbuffered channels make it", async () => {
    const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, { text: `${i}`, ms: 100 }]));
    const disk = fakeDisk(files);
    const pulled: string[] = [];
    function* walkFiles(): Generator<string> {
      for (const path of Object.keys(files)) {
        pulled.push(path);
        yield path;
      }
    }
    const done = digestAll(background(), walkFiles(), { workers: 3, read: disk.read });
    await vi.advanceTimersByTimeAsync(50);
    // Three paths are being read; the fourth waits in the walker's send until a digester is free.
    expect(disk.reads).toEqual(["f0", "f1", "f2"]);
    expect(pulled).toEqual(["f0", "f1", "f2", "f3"]);
    await vi.advanceTimersByTimeAsync(100);
    expect(pulled).toHaveLength(7);
    await vi.runAllTimersAsync();
    expect(await done).toHaveLength(20);
  });

  it("the first failed read cancels the walker and the other digesters, and digestAll rejects with it", async () => {
    const files = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, { text: `${i}`, ms: 1_000 }]));
    const disk = fakeDisk(files);
    const paths = ["f0", "f1", "missing", ...Object.keys(files).slice(2)];
    const outcome = digestAll(background(), paths, { workers: 3, read: disk.read }).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(0);
    const err = await outcome;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe("ENOENT: missing");
    // The two reads in flight were aborted; the walker sent nothing more, so nothing else was read.
    expect(disk.aborted).toEqual(["f0", "f1"]);
    expect(disk.reads).toEqual(["f0", "f1"]);
    expect(liveCounts().waiters).toBe(0);
  });

  it("digestAll() rejects with ctx.err once the caller cancels, after every stage has stopped", async () => {
    const files = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, { text: `${i}`, ms: 100 }]));
    const disk = fakeDisk(files);
    const [ctx, cancel] = withCancel(background());
    const outcome = digestAll(ctx, Object.keys(files), { workers: 2, read: disk.read }).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(150);
    expect(disk.reads).toEqual(["f0", "f1", "f2", "f3"]);
    cancel();
    expect(await outcome).toBe(Canceled);
    expect(disk.aborted).toEqual(["f2", "f3"]);
    expect(liveCounts()).toMatchObject({ tasks: 0, waiters: 0, timers: 0 });
  });

  it("digestAll() rejects workers: 0 with a RangeError naming the option and the value", async () => {
    await expect(digestAll(background(), ["a"], { workers: 0 })).rejects.toThrow(
      new RangeError("digestAll: workers must be a whole number ≥ 1, received 0"),
    );
  });
});

describe("pipeline main", () => {
  it("main() prints the sha256 of every file under the directory, as sha256sum does", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tether-pipeline-"));
    try {
      await mkdir(join(dir, "sub"));
      await writeFile(join(dir, "a.txt"), "alpha");
      await writeFile(join(dir, "sub", "b.txt"), "beta");
      const lines: string[] = [];
      const log = vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
      try {
        expect(await main([dir])).toBe(0);
      } finally {
        log.mockRestore();
      }
      expect(lines).toEqual([`${sha256("alpha")}  a.txt`, `${sha256("beta")}  ${join("sub", "b.txt")}`, "2 files"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
