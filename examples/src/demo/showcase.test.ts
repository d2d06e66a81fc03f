import { afterEach, describe, expect, it, vi } from "vitest";
import { type Output, Progress } from "./progress.js";
import { checkProof, formatSummary, runShowcase, type Summary } from "./showcase.js";
import { type PageSpec, layout } from "./site.js";

const ok = (delayMs = 2): PageSpec => ({ kind: "ok", delayMs });
const slow: PageSpec = { kind: "slow", delayMs: 0 };
const error: PageSpec = { kind: "error", delayMs: 2 };
const fatal: PageSpec = { kind: "fatal", delayMs: 0 };
const times = (n: number, p: PageSpec): PageSpec[] => Array.from({ length: n }, () => p);

function accounted(s: Summary): number {
  return s.fetched + s.failed + s.fatal + s.timedOut + s.cancelled + s.notStarted;
}

function collect(isTTY: boolean): Output & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, write: (t: string) => chunks.push(t), text: () => chunks.join("") };
}

describe("runShowcase", () => {
  it("runShowcase() fetches, fails and times out pages independently, then proves nothing is left", async () => {
    const pages = [...times(20, ok()), slow, error, slow, error];
    const s = await runShowcase({ layout: pages, limit: 4, perRequestMs: 1_000, deadlineMs: 10_000 });
    expect(s).toMatchObject({ total: 24, fatal: 0, cancelled: 0, notStarted: 0, stoppedBy: undefined });
    // The two pages that never answer always time out. A machine stalled for longer than a
    // request's timeout may time out a quick page too, so the others are checked as bounds.
    expect(s.timedOut).toBeGreaterThanOrEqual(2);
    expect(s.fetched).toBeLessThanOrEqual(20);
    expect(s.failed).toBeLessThanOrEqual(2);
    expect(s.fetched + s.failed + s.timedOut).toBe(24);
    expect(s.fetched).toBeGreaterThan(0);
    expect(s.proof).toEqual({
      serverInFlight: 0,
      clientSocketsInUse: 0,
      openSockets: 0,
      live: { nodesWithChildren: 0, foreignListeners: 0, timers: 0, tasks: 0, waiters: 0 },
      ok: true,
    });
  });

  it("runShowcase()'s plain progress lines report the peak in flight, which reaches the limit", async () => {
    const out = collect(false);
    const s = await runShowcase({ layout: times(12, ok(5)), limit: 4, perRequestMs: 1_000, deadlineMs: 5_000, out });
    expect(s.fetched).toBe(12);
    const lines = out.text().trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/ in flight +0 \(peak 4\) /);
  });

  it("runShowcase() cancels what is in flight and starts nothing more after the first fatal error", async () => {
    const pages = [slow, ok(), ok(), ok(), fatal, ...times(20, ok())];
    const s = await runShowcase({ layout: pages, limit: 3, perRequestMs: 5_000, deadlineMs: 5_000 });
    expect(s.fatal).toBe(1);
    expect(s.stoppedBy).toBe("GET /page/4 answered 401: credentials revoked, stopping the run");
    // The stalled first page held its slot the whole time, so the fatal error is what ended it.
    expect(s.cancelledByCause[s.stoppedBy as string]).toBeGreaterThanOrEqual(1);
    expect(s.timedOut).toBe(0);
    expect(s.notStarted).toBeGreaterThan(0);
    expect(accounted(s)).toBe(25);
    expect(s.proof.ok).toBe(true);
  });

  it("runShowcase() cancels everything at the overall deadline, by that cause, and starts no queued page", async () => {
    const pages = [...times(3, slow), ...times(10, ok())];
    const s = await runShowcase({ layout: pages, limit: 3, perRequestMs: 5_000, deadlineMs: 80 });
    expect(s).toMatchObject({ fetched: 0, timedOut: 0, cancelled: 3, notStarted: 10 });
    expect(s.cancelledByCause).toEqual({ "overall deadline of 80ms passed": 3 });
    expect(s.stoppedBy).toBe("overall deadline of 80ms passed");
    expect(s.proof.ok).toBe(true);
  });

  it("runShowcase() stops when its signal aborts, with the signal's reason as the cause", async () => {
    const interrupt = new AbortController();
    const pages = [...times(2, slow), ...times(5, ok())];
    // Ctrl-C once both slow pages have started (the first progress draw comes as the first page
    // starts; the second starts in the same turn), however long the server took to start.
    let pressed = false;
    const out: Output = {
      isTTY: true,
      write: () => {
        if (pressed) return;
        pressed = true;
        setImmediate(() => interrupt.abort(new Error("interrupted by Ctrl-C")));
      },
    };
    const s = await runShowcase({ layout: pages, limit: 2, perRequestMs: 5_000, deadlineMs: 5_000, signal: interrupt.signal, out });
    expect(s.cancelledByCause).toEqual({ "interrupted by Ctrl-C": 2 });
    expect(s.notStarted).toBe(5);
    expect(s.proof.ok).toBe(true);
  });

  it("formatSummary() shows every count, the causes and the verdict of the proof", async () => {
    const s = await runShowcase({ layout: [ok(), error, fatal, slow], limit: 4, perRequestMs: 5_000, deadlineMs: 5_000 });
    const text = formatSummary(s);
    expect(text).toMatch(/fetched\s+\d+/);
    expect(text).toMatch(/fatal\s+1/);
    expect(text).toContain("GET /page/2 answered 401");
    expect(text).toContain("OK: nothing outlived the run");
  });
});

describe("checkProof", () => {
  const zero = { nodesWithChildren: 0, foreignListeners: 0, timers: 0, tasks: 0, waiters: 0 };

  it("checkProof() fails when the server still handles a request, a socket is open or a counter is not zero", () => {
    expect(checkProof({ serverInFlight: 0, clientSocketsInUse: 0, openSockets: 0, live: zero }).ok).toBe(true);
    expect(checkProof({ serverInFlight: 1, clientSocketsInUse: 0, openSockets: 0, live: zero }).ok).toBe(false);
    expect(checkProof({ serverInFlight: 0, clientSocketsInUse: 1, openSockets: 0, live: zero }).ok).toBe(false);
    expect(checkProof({ serverInFlight: 0, clientSocketsInUse: 0, openSockets: 2, live: zero }).ok).toBe(false);
    expect(checkProof({ serverInFlight: 0, clientSocketsInUse: 0, openSockets: 0, live: { ...zero, timers: 1 } }).ok).toBe(false);
  });
});

describe("Progress", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const counts = { total: 10, started: 0, fetched: 0, failed: 0, fatal: 0, timedOut: 0, cancelled: 0, inFlight: 0, peak: 0 };

  it("Progress redraws one line in place on a terminal", () => {
    vi.useFakeTimers();
    const out = collect(true);
    const p = new Progress(out, Date.now());
    p.update({ ...counts, fetched: 1 });
    vi.advanceTimersByTime(100);
    p.update({ ...counts, fetched: 2 });
    p.finish({ ...counts, fetched: 10 });
    expect(out.text().split("\r\x1b[2K").filter(Boolean)).toHaveLength(3);
    expect(out.text().endsWith("\n")).toBe(true);
    expect(out.text().split("\n")).toHaveLength(2);
  });

  it("Progress prints plain lines, one per tenth of the way, when not on a terminal", () => {
    const out = collect(false);
    const p = new Progress(out, Date.now());
    for (let i = 1; i <= 10; i++) p.update({ ...counts, fetched: i });
    p.finish({ ...counts, fetched: 10 });
    expect(out.text()).not.toContain("\r");
    expect(out.text().trimEnd().split("\n")).toHaveLength(10);
  });
});

describe("layout", () => {
  it("layout() gives the same site for the same seed, with the fatal page where asked", () => {
    const o = { pages: 100, seed: 3, fatalAt: 90, slowShare: 0.05, errorShare: 0.05, minDelayMs: 1, maxDelayMs: 9 };
    expect(layout(o)).toEqual(layout(o));
    expect(layout(o)[90]?.kind).toBe("fatal");
    expect(layout(o).filter((p) => p.kind === "fatal")).toHaveLength(1);
  });
});
