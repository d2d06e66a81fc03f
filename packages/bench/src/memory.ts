import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { MemoryImpl, MemorySample } from "./memory-child.js";

const exec = promisify(execFile);
const child = fileURLToPath(new URL("./memory-child.js", import.meta.url));

export interface MemoryEntry {
  name: string;
  sample: MemorySample;
}

export interface MemoryResult {
  id: string;
  operation: string;
  iterations: number;
  tether: MemoryEntry;
  comparisons: MemoryEntry[];
  /** Tether's own bar: growth below this many bytes. */
  target: { label: string; maxBytes: number; met: boolean };
}

/** 1 MB, as in the issue: 10^6 bytes. */
const ONE_MB = 1_000_000;

const impls: Array<[MemoryImpl, string]> = [
  ["tether", "Tether withCancel(parent) + cancel()"],
  ["any", "AbortSignal.any([parent, own.signal]) + own.abort()"],
  ["listener", "AbortController + addEventListener on parent (removed)"],
];

async function sample(impl: MemoryImpl, iterations: number): Promise<MemorySample> {
  const { stdout } = await exec(process.execPath, ["--expose-gc", child, impl, String(iterations)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim()) as MemorySample;
}

/** Runs each implementation in a fresh process, one after another so they do not compete for cores. */
export async function measureMemory(iterations: number): Promise<MemoryResult> {
  const entries: MemoryEntry[] = [];
  for (const [impl, name] of impls) entries.push({ name, sample: await sample(impl, iterations) });
  const [tether, ...comparisons] = entries as [MemoryEntry, ...MemoryEntry[]];
  return {
    id: "core.memory",
    operation: `heap growth after GC: ${iterations.toLocaleString("en-US")} derive+cancel under one long-lived parent`,
    iterations,
    tether,
    comparisons,
    target: { label: "< 1 MB", maxBytes: ONE_MB, met: tether.sample.growth < ONE_MB },
  };
}
