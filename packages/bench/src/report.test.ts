import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CaseResult, Timing } from "./harness.js";
import { type Report, markdown, quoteTable, targets } from "./report.js";

function timing(name: string, nsPerOp: number): Timing {
  return { name, nsPerOp, rounds: [nsPerOp], rme: 1, samples: 10 };
}

/** One case with one met and one missed target, as a run of the given mode would report it. */
function report(mode: Report["mode"]): Report {
  const c: CaseResult = {
    id: "sync.mutex",
    suite: "sync",
    operation: "lock",
    tether: timing("Tether", 10),
    comparisons: [
      { ...timing("fast peer", 15), ratio: 1.5, target: { label: "≥ 2×", min: 2, met: false } },
      { ...timing("slow peer", 300), ratio: 30, target: { label: "≥ 20×", min: 20, met: true } },
    ],
  };
  return {
    environment: { node: "v20", v8: "11", cpu: "cpu", cores: 2, platform: "linux", date: "2026-11-26", load: [0, 0] },
    mode,
    options: { time: 1, rounds: 1, warmupTime: 1, memoryIterations: 1 },
    cases: [c],
    memory: undefined,
    targets: targets([c], undefined),
  };
}

describe("bench report", () => {
  it("a full run's table marks each target met or missed and names the missed ones", () => {
    const md = markdown(report("full"));
    expect(md).toContain("✅ ≥ 20×");
    expect(md).toContain("❌ ≥ 2× (missed)");
    expect(md).toContain("Targets: 1 of 2 met; missed: sync.mutex vs fast peer (≥ 2×).");
  });

  it("a quick run's table names the targets without judging them, since its rounds are too short", () => {
    const md = markdown(report("quick"));
    expect(md).not.toMatch(/[✅❌]|missed/);
    expect(md).toContain("| ≥ 2× |");
    expect(md).toContain("Targets: 2, not judged in a quick run; `pnpm bench` judges them.");
  });
});

describe("BENCHMARKS.md", () => {
  it("BENCHMARKS.md quotes the table of results/latest.json exactly, so the two cannot drift apart", () => {
    const root = new URL("../../../", import.meta.url);
    const latest = JSON.parse(readFileSync(new URL("packages/bench/results/latest.json", root), "utf8")) as Report;
    // Line endings normalised: a checkout may have turned them into CRLF.
    const doc = readFileSync(new URL("BENCHMARKS.md", root), "utf8").replace(/\r\n/g, "\n");
    expect(doc).toContain(markdown(latest));
  });

  it("quoteTable() replaces the quoted table and nothing around it, and finds nothing to replace in a document without one", () => {
    const doc = "# B\n\n## Latest results\n\nintro\n\nNode v1 old\n| old |\n\nTargets: old.\n\n## After\n";
    expect(quoteTable(doc, "Node v2 new\n| new |\n\nTargets: new.")).toBe(
      "# B\n\n## Latest results\n\nintro\n\nNode v2 new\n| new |\n\nTargets: new.\n\n## After\n",
    );
    expect(quoteTable("# B\n\nNode v1\nTargets: x.\n", "t")).toBeNull();
  });
});
