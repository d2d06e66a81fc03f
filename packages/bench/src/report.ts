import type { CaseResult, RunOptions } from "./harness.js";
import type { MemoryResult } from "./memory.js";

export interface Environment {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  date: string;
  /** The 1-minute load average when the run started and when it ended: other work on the machine skews timings. */
  load: [number, number];
}

export interface Report {
  environment: Environment;
  mode: "full" | "quick";
  options: RunOptions & { memoryIterations: number };
  cases: CaseResult[];
  memory: MemoryResult | undefined;
  targets: TargetOutcome[];
}

export interface TargetOutcome {
  id: string;
  against: string;
  label: string;
  /** The measured ratio (comparison ÷ Tether), or for memory Tether's growth in bytes. */
  measured: number;
  met: boolean;
}

export function targets(cases: readonly CaseResult[], memory: MemoryResult | undefined): TargetOutcome[] {
  const out: TargetOutcome[] = [];
  for (const c of cases) {
    for (const cmp of c.comparisons) {
      if (cmp.target !== undefined) out.push({ id: c.id, against: cmp.name, label: cmp.target.label, measured: cmp.ratio, met: cmp.target.met });
    }
  }
  if (memory !== undefined) {
    out.push({ id: memory.id, against: "Tether's own heap growth", label: memory.target.label, measured: memory.tether.sample.growth, met: memory.target.met });
  }
  return out;
}

/** ns with three significant figures, thousands separated. */
export function ns(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x < 10) return x.toFixed(2);
  if (x < 100) return x.toFixed(1);
  return Math.round(x).toLocaleString("en-US");
}

export function ratio(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x < 10) return `${x.toFixed(2)}×`;
  if (x < 1000) return `${x.toFixed(1)}×`;
  return `${Math.round(x).toLocaleString("en-US")}×`;
}

function mb(bytes: number): string {
  const v = bytes / 1_000_000;
  return `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(Math.abs(v) < 10 ? 2 : 1)} MB`;
}

/** A target's cell: judged in a full run; in a quick run only named, since its rounds are too short to judge. */
function mark(judged: boolean, met: boolean, label: string): string {
  if (!judged) return label;
  return met ? `✅ ${label}` : `❌ ${label} (missed)`;
}

/** Pipes would end a markdown cell. */
function cell(s: string): string {
  return s.replaceAll("|", "\\|");
}

/**
 * `doc` (BENCHMARKS.md) with its quoted table — from the line that starts with "Node v" after the
 * "## Latest results" heading through the "Targets:" line — replaced by `table`; null when `doc`
 * has no such block.
 */
export function quoteTable(doc: string, table: string): string | null {
  const heading = doc.indexOf("## Latest results");
  if (heading < 0) return null;
  const start = doc.indexOf("\nNode v", heading);
  const targets = start < 0 ? -1 : doc.indexOf("\nTargets:", start);
  if (targets < 0) return null;
  const eol = doc.indexOf("\n", targets + 1);
  return doc.slice(0, start + 1) + table + (eol < 0 ? "" : doc.slice(eol));
}

export function markdown(r: Report): string {
  const e = r.environment;
  const judged = r.mode !== "quick";
  const how =
    r.mode === "quick"
      ? "**quick run** (too short to quote: it only proves every case still runs)"
      : `full run: each case's implementations take turns for ${r.options.rounds} rounds of ${r.options.time} ms after ${r.options.warmupTime} ms of warm-up; ns/op is the median round's mean`;
  const lines = [
    `Node ${e.node} (V8 ${e.v8}) · ${e.cpu} × ${e.cores} · ${e.platform} · ${e.date} · load average ${e.load[0].toFixed(2)} at start, ${e.load[1].toFixed(2)} at end`,
    `${how}. Ratio = comparison ns/op ÷ Tether ns/op: above 1× Tether is faster.`,
    "",
    "| Suite | Operation | Tether ns/op | Compared with | ns/op | Ratio | Target |",
    "| --- | --- | ---: | --- | ---: | ---: | --- |",
  ];
  for (const c of r.cases) {
    c.comparisons.forEach((cmp, i) => {
      const first = i === 0;
      lines.push(
        `| ${first ? c.suite : ""} | ${first ? cell(c.operation) : ""} | ${first ? ns(c.tether.nsPerOp) : ""} | ${cell(cmp.name)} | ${ns(cmp.nsPerOp)} | ${ratio(cmp.ratio)} | ${cmp.target ? mark(judged, cmp.target.met, cmp.target.label) : ""} |`,
      );
    });
  }
  const m = r.memory;
  if (m !== undefined) {
    m.comparisons.forEach((cmp, i) => {
      const first = i === 0;
      lines.push(
        `| ${first ? "memory" : ""} | ${first ? cell(m.operation) : ""} | ${first ? mb(m.tether.sample.growth) : ""} | ${cell(cmp.name)} | ${mb(cmp.sample.growth)} | — | ${first ? mark(judged, m.target.met, `Tether ${m.target.label}`) : ""} |`,
      );
    });
  }
  const missed = r.targets.filter((t) => !t.met);
  lines.push("");
  lines.push(
    !judged
      ? `Targets: ${r.targets.length}, not judged in a quick run; \`pnpm bench\` judges them.`
      : missed.length === 0
      ? `Targets: all ${r.targets.length} met.`
      : `Targets: ${r.targets.length - missed.length} of ${r.targets.length} met; missed: ${missed.map((t) => `${t.id} vs ${t.against} (${t.label})`).join("; ")}.`,
  );
  return lines.join("\n");
}
