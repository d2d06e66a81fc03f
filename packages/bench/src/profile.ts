/**
 * Profiles one implementation of one case with V8's sampling profiler and prints where the time
 * goes, by function (self time), so a missed target can be traced to code:
 *
 *   node dist/profile.js core.value            the Tether implementation, 3 s
 *   node dist/profile.js sync.channel 1 5000   the first comparison, 5 s
 *
 * It also writes the raw profile to $TMPDIR/tether-<case>.cpuprofile (open it in Chrome DevTools).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Case, Impl } from "./harness.js";
import { coreSuite } from "./suites/core.js";
import { groupSuite } from "./suites/group.js";
import { syncSuite } from "./suites/sync.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function where(url: string, line: number): string {
  const m = /\/packages\/(.*)$/.exec(url) ?? /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.*)$/.exec(url);
  const file = m ? m[1] : url === "" ? "(native)" : url.replace(/^file:\/\//, "");
  return `${file}:${line + 1}`;
}

async function main(): Promise<void> {
  const [id, which = "0", ms = "3000"] = process.argv.slice(2);
  const cases: Case[] = [...coreSuite(), ...groupSuite(), ...syncSuite()].map((make) => make());
  const c = cases.find((x) => x.id === id);
  for (const other of cases) if (other !== c) other.cleanup?.();
  if (c === undefined) throw new Error(`profile: no case ${JSON.stringify(id)}; one of ${cases.map((x) => x.id).join(", ")}`);
  const impls: Impl[] = [c.tether, ...c.comparisons];
  const impl = impls[Number(which)];
  if (impl === undefined) throw new Error(`profile: case ${id} has implementations 0..${impls.length - 1}`);

  // Warm up outside the profile, so the profile shows optimized code.
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) await impl.fn();

  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  let calls = 0;
  const until = performance.now() + Number(ms);
  while (performance.now() < until) {
    await impl.fn();
    calls++;
  }
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  c.cleanup?.();

  const nodes = profile.nodes as ProfileNode[];
  const total = nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const byFn = new Map<string, number>();
  for (const n of nodes) {
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"}  ${where(f.url, f.lineNumber)}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (n.hitCount ?? 0));
  }
  const top = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  process.stdout.write(`${id} / ${impl.name}: ${calls} calls of ${impl.ops} ops, ${total} samples\n`);
  process.stdout.write("self %   function  file:line\n");
  for (const [k, hits] of top) process.stdout.write(`${((100 * hits) / total).toFixed(1).padStart(6)}   ${k}\n`);
  const out = join(tmpdir(), `tether-${id}.cpuprofile`);
  writeFileSync(out, JSON.stringify(profile));
  process.stdout.write(`raw profile: ${out}\n`);
}

await main();
