import { describe, expect, it } from "vitest";
import { findLeaks, fixedCall, leakyCall, soak } from "./leak-hunt.js";

function nodeGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("this test needs node --expose-gc (set in vitest.config.ts)");
  return gc;
}

describe("leak-hunt", () => {
  it("soak() shows live children and timers growing with every call when cancel is forgotten", async () => {
    const report = await soak(leakyCall, 400, 100);
    expect(report.samples.map((s) => s.children)).toEqual([100, 200, 300, 400]);
    expect(report.samples.map((s) => s.timers)).toEqual([100, 200, 300, 400]);
  });

  it("soak() shows the counters flat at zero when every call cancels", async () => {
    const report = await soak(fixedCall, 400, 100);
    expect(report.samples.map((s) => [s.children, s.timers])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it("the leaked contexts are freed only when the service context itself is cancelled", async () => {
    const report = await soak(leakyCall, 50, 50);
    expect(report.samples[0]).toEqual({ calls: 50, children: 50, timers: 50 });
    expect(report.afterShutdown).toEqual({ calls: 50, children: 0, timers: 0 });
  });

  it("findLeaks() reports every lost cancel with the line in leakyCall that made it", async () => {
    const hunt = await findLeaks(leakyCall, 3, nodeGc());
    expect(hunt.reports).toHaveLength(3);
    for (const r of hunt.reports) {
      expect(r.timer).toBe(true);
      expect(r.context).toMatch(/withTimeout\(/);
      expect(r.stack.split("\n")[0]).toMatch(/leakyCall.*leak-hunt\.(ts|js)/);
    }
    expect(hunt.tree.split("\n").filter((l) => l.includes("withTimeout("))).toHaveLength(3);
  });

  it("findLeaks() reports nothing and finds nothing hanging once every call cancels", async () => {
    const hunt = await findLeaks(fixedCall, 3, nodeGc());
    expect(hunt.reports).toEqual([]);
    expect(hunt.tree).not.toContain("withTimeout(");
  });
});
