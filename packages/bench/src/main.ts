/**
 * `pnpm bench`: every case in a fresh process of its own, one markdown table on stdout, the same
 * data as JSON.
 *
 *   pnpm bench            full run; writes results/latest.json
 *   pnpm bench --quick    every case briefly (CI: proves no case has rotted); writes results/quick.tmp.json
 *   pnpm bench --only=core,sync   a subset; writes results/partial.tmp.json
 *
 * Progress goes to stderr, so `pnpm -s bench > table.md` captures only the table.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type CaseFactory, type CaseResult, type RunOptions, measure, settle } from "./harness.js";
import { type MemoryResult, measureMemory } from "./memory.js";
import { type Report, markdown, ns, quoteTable, ratio, targets } from "./report.js";
import { coreSuite } from "./suites/core.js";
import { groupSuite } from "./suites/group.js";
import { syncSuite } from "./suites/sync.js";

const SUITES: Record<string, () => CaseFactory[]> = { core: coreSuite, group: groupSuite, sync: syncSuite };
const ALL = [...Object.keys(SUITES), "memory"];

function parseArgs(argv: readonly string[]): { quick: boolean; only: string[]; child: string | undefined } {
  let quick = false;
  let only = ALL;
  let child: string | undefined;
  for (const a of argv) {
    if (a === "--quick") quick = true;
    else if (a.startsWith("--only=")) only = a.slice("--only=".length).split(",").filter(Boolean);
    else if (a.startsWith("--case=")) child = a.slice("--case=".length);
    else if (a === "--") continue;
    else throw new Error(`bench: unknown argument ${JSON.stringify(a)}; use --quick and/or --only=${ALL.join(",")}`);
  }
  const unknown = only.filter((s) => !ALL.includes(s));
  if (unknown.length > 0) throw new Error(`bench: unknown suite ${unknown.join(", ")}; choose from ${ALL.join(", ")}`);
  return { quick, only, child };
}

const exec = promisify(execFile);
const self = fileURLToPath(import.meta.url);

/**
 * Measures one case in a fresh process, as JMH forks a JVM per benchmark: what an earlier case
 * leaves behind — a heap grown by a million `AbortSignal.any` dependants, type feedback from other
 * contexts — would otherwise tax every case after it, and each implementation by a different
 * amount, so a case's ratios would depend on which suites ran before it.
 */
async function measureApart(suite: string, index: number, quick: boolean): Promise<CaseResult> {
  // The parent's flags (--expose-gc), but not an inspector's, whose port the children would fight over.
  const flags = process.execArgv.filter((f) => !f.startsWith("--inspect"));
  const args = [...flags, self, `--case=${suite}:${index}`, ...(quick ? ["--quick"] : [])];
  const name = `${suite} case ${index}`;
  let stdout: string;
  try {
    // A full case takes seconds; one that takes minutes has hung, and should fail the run, not stall it.
    ({ stdout } = await exec(process.execPath, args, { maxBuffer: 1 << 24, timeout: 5 * 60_000 }));
  } catch (err) {
    throw new Error(`bench: ${name} failed in its process`, { cause: err });
  }
  try {
    return JSON.parse(stdout) as CaseResult;
  } catch (err) {
    throw new Error(`bench: ${name} wrote something other than its result to stdout: ${stdout.slice(0, 200)}`, { cause: err });
  }
}

/** The child's side of {@link measureApart}: measures the case and writes its result to stdout. */
async function measureHere(spec: string, options: RunOptions): Promise<void> {
  const [suite = "", index = ""] = spec.split(":");
  const make = SUITES[suite]?.()[Number(index)];
  if (make === undefined) throw new Error(`bench: no case ${JSON.stringify(spec)}`);
  const r = await measure(make(), options);
  // Collected, the case's platform signals clear their timers, so the process can exit on its own.
  await settle();
  process.stdout.write(JSON.stringify(r));
}

async function main(): Promise<void> {
  const { quick, only, child } = parseArgs(process.argv.slice(2));
  const options: RunOptions & { memoryIterations: number } = quick
    ? { time: 15, rounds: 1, warmupTime: 5, memoryIterations: 50_000 }
    : { time: 200, rounds: 5, warmupTime: 250, memoryIterations: 1_000_000 };
  if (child !== undefined) {
    await measureHere(child, options);
    return;
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    process.stderr.write("bench: note: run with node --expose-gc for a full GC between implementations\n");
  }
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const cores = cpus().length;
  if (!quick && loadAtStart > cores / 2) {
    process.stderr.write(`bench: warning: load average ${loadAtStart.toFixed(2)} on ${cores} cores; other work will skew these timings\n`);
  }
  const cases: CaseResult[] = [];
  for (const suite of Object.keys(SUITES)) {
    if (!only.includes(suite)) continue;
    const count = (SUITES[suite] as () => CaseFactory[])().length;
    for (let i = 0; i < count; i++) {
      const r = await measureApart(suite, i, quick);
      cases.push(r);
      const cmp = r.comparisons.map((x) => `${ratio(x.ratio)} ${x.name}`).join("; ");
      process.stderr.write(`${r.id}: Tether ${ns(r.tether.nsPerOp)} ns/op; ${cmp}\n`);
    }
  }
  let memory: MemoryResult | undefined;
  if (only.includes("memory")) {
    memory = await measureMemory(options.memoryIterations);
    process.stderr.write(`${memory.id}: Tether +${memory.tether.sample.growth} bytes\n`);
  }
  const cpu = cpus();
  const report: Report = {
    environment: {
      node: process.version,
      v8: process.versions.v8,
      cpu: cpu[0]?.model.trim() ?? "unknown CPU",
      cores: cpu.length,
      platform: `${platform()} ${release()}`,
      date: new Date().toISOString(),
      load: [loadAtStart, loadavg()[0] ?? 0],
    },
    mode: quick ? "quick" : "full",
    options,
    cases,
    memory,
    targets: targets(cases, memory),
  };
  process.stdout.write(`${markdown(report)}\n`);

  const complete = only.length === ALL.length;
  const file = quick ? "quick.tmp.json" : complete ? "latest.json" : "partial.tmp.json";
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(dir + file, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`bench: wrote results/${file} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (file === "latest.json") quoteInBenchmarksMd(markdown(report));
}

/** Puts a full run's table into BENCHMARKS.md, which quotes it (a test checks the two agree). */
function quoteInBenchmarksMd(table: string): void {
  const path = fileURLToPath(new URL("../../../BENCHMARKS.md", import.meta.url));
  let doc: string;
  try {
    doc = readFileSync(path, "utf8");
  } catch {
    return;
  }
  const next = quoteTable(doc.replace(/\r\n/g, "\n"), table);
  if (next === null) return;
  writeFileSync(path, next);
  process.stderr.write("bench: quoted the table in BENCHMARKS.md; its prose may need the new numbers\n");
}

await main();
