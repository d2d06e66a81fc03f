import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

type Row = { kind: string; count: number; collected: number; parentChildren: number; signalListeners: number; ok: boolean };

// The soak runs in its own `node --expose-gc` process against the built packages (the test command
// builds them first), so vitest's own heap does not blur the measurement.
it("a million short-lived children of each kind leave the parent bare, are all collected, and grow the heap by < 1 MB", () => {
  const script = fileURLToPath(new URL("../scripts/soak.mjs", import.meta.url));
  const out = spawnSync(process.execPath, ["--expose-gc", script], { encoding: "utf8", timeout: 60_000 });
  expect(out.stderr).toBe("");
  const report = JSON.parse(out.stdout) as { heapGrowthBytes: number; results: Row[]; ok: boolean };
  expect(report.results.map((r) => r.kind)).toEqual(["withCancel", "withTimeout", "withSignal", "afterFunc+stop"]);
  for (const r of report.results) {
    expect(r.count).toBe(1_000_000);
    expect(r.collected, r.kind).toBeGreaterThanOrEqual(r.count - 1);
    expect(r.parentChildren, r.kind).toBe(0);
    expect(r.signalListeners, r.kind).toBe(0);
  }
  expect(report.heapGrowthBytes).toBeLessThan(1024 * 1024);
  expect(report.ok).toBe(true);
  expect(out.status).toBe(0);
}, 60_000);
