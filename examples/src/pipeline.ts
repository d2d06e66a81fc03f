/**
 * pipeline: Go's bounded-parallelism pipeline, stages joined by channels, cancelled as one.
 *
 * `sha256sum` over a directory in three stages: a walker sends each path on `paths`, a fixed number
 * of digesters take paths from it and send digests on `sums`, and the collector gathers them. The
 * channels are unbuffered, so each stage runs only as far ahead as the next one takes: memory holds
 * at most `workers` files at a time however many there are.
 *
 * The stages run under one `run`, so the first failure anywhere (a file that can't be read) cancels
 * the rest. A stage blocked in `send` or in a `for await` over a channel leaves it as if it had never
 * waited; a read in flight is aborted through `ctx.signal`; and `run` settles only once every stage
 * has returned. Go's version closes `sums` after a `WaitGroup` of the digesters; here the digesters'
 * own `run` is that wait, and it cannot be forgotten.
 */
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type Context, background, withTimeout } from "@tether/core";
import { run } from "@tether/group";
import { Channel } from "@tether/sync";
import { runIfMain } from "./lib/main.js";

/** Reads one file's bytes; must honour `ctx`. */
export type Read = (ctx: Context, path: string) => Promise<Uint8Array>;

export interface DigestOptions {
  /** How many files are read and hashed at once. Default: 4. */
  readonly workers?: number;
  /** Reads a file. Default: `readFile` with `ctx.signal`. */
  readonly read?: Read;
}

/** A file's SHA-256, as `sha256sum` prints it. */
export interface Sum {
  readonly path: string;
  readonly sha256: string;
}

const readWithSignal: Read = (ctx, path) => readFile(path, { signal: ctx.signal });

/**
 * digestAll hashes every path with at most `workers` files in flight, and returns the sums in path
 * order. It rejects with the first failure, after every stage has stopped.
 */
export async function digestAll(ctx: Context, paths: Iterable<string>, options: DigestOptions = {}): Promise<Sum[]> {
  const { workers = 4, read = readWithSignal } = options;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`digestAll: workers must be a whole number ≥ 1, received ${String(workers)}`);
  }
  const pathsCh = new Channel<string>();
  const sumsCh = new Channel<Sum>();
  const sums: Sum[] = [];

  async function walk(ctx: Context): Promise<void> {
    try {
      for (const path of paths) await pathsCh.send(ctx, path);
    } finally {
      // Closed however the walk ends, so no digester waits for a path that will never come.
      pathsCh.close();
    }
  }

  async function digest(ctx: Context): Promise<void> {
    for await (const path of pathsCh.values(ctx)) {
      const bytes = await read(ctx, path);
      await sumsCh.send(ctx, { path, sha256: createHash("sha256").update(bytes).digest("hex") });
    }
  }

  async function digesters(ctx: Context): Promise<void> {
    try {
      await run(ctx, ...Array.from({ length: workers }, () => digest));
    } finally {
      // Every digester has returned, so no send can be pending on the channel being closed.
      sumsCh.close();
    }
  }

  async function collect(ctx: Context): Promise<void> {
    for await (const sum of sumsCh.values(ctx)) sums.push(sum);
  }

  await run(ctx, walk, digesters, collect);
  return sums.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every regular file under `dir`, recursively. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

export async function main(args: readonly string[]): Promise<number> {
  const dir = args[0] ?? fileURLToPath(new URL(".", import.meta.url));
  const [ctx, cancel] = withTimeout(background(), 10_000);
  try {
    const sums = await digestAll(ctx, await listFiles(dir));
    for (const s of sums) console.log(`${s.sha256}  ${relative(dir, s.path)}`);
    console.log(`${sums.length} files`);
    return 0;
  } finally {
    cancel();
  }
}

runIfMain(import.meta.url, main);
