import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  background,
  cause,
  createKey,
  withCancel,
  withDeadline,
  withTimeout,
  withValue,
  withoutCancel,
} from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { runNodeReport } from "../../../test/child.js";
import { macrotask } from "./test-helpers/flush.js";
import { ForeignContext } from "./test-helpers/foreign.js";

const NOW = Date.UTC(2030, 0, 1);
const MAX_DELAY = 2 ** 31 - 1;

/** Keeps the thread busy until `ms` milliseconds have elapsed: no timer can run meanwhile. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("withDeadline() and withTimeout() while the thread is busy", () => {
  it("a child made under a parent whose deadline passed but whose timer has not run is born expired, with the parent's cause", () => {
    const [parent, cancelParent] = withTimeout(background(), 1, "parent's");
    // The clock moves on while the thread is busy: the parent's timer has had no turn to fire.
    busy(5);
    expect(parent.err).toBeUndefined();
    const [now, cancelNow] = withTimeout(parent, 0, "child's");
    expect([now.err, cause(now)]).toEqual([DeadlineExceeded, "parent's"]);
    expect([parent.err, cause(parent)]).toEqual([DeadlineExceeded, "parent's"]);
    expect(liveCounts().timers).toBe(0);
    cancelNow();
    cancelParent();
  });

  it("a child with a later deadline, under a deeper parent whose deadline passed unnoticed, is born expired too", () => {
    const [root, cancelRoot] = withTimeout(background(), 1);
    const [mid, cancelMid] = withCancel(withValue(root, createKey("k"), 1));
    busy(5);
    const [later, cancelLater] = withTimeout(mid, 10_000);
    expect([root.err, mid.err, later.err]).toEqual([DeadlineExceeded, DeadlineExceeded, DeadlineExceeded]);
    cancelLater();
    cancelMid();
    cancelRoot();
  });

  it("a child made the moment the wall clock shows the parent's deadline passed is born expired, whatever the sub-millisecond", () => {
    const [parent, cancelParent] = withTimeout(background(), 3);
    const deadline = parent.deadline as number;
    // Busy until the wall clock, in whole milliseconds, reaches the deadline: no timer can run.
    while (Date.now() < deadline);
    const [child, cancelChild] = withTimeout(parent, 1_000);
    expect([parent.err, child.err]).toEqual([DeadlineExceeded, DeadlineExceeded]);
    cancelChild();
    cancelParent();
  });
});

describe("withDeadline() and withTimeout() under fake timers", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });

  it("a wall clock stepped forward past a parent's deadline expires neither the parent nor a child made then", () => {
    const [parent, cancelParent] = withTimeout(background(), 10_000, "parent's");
    // An NTP step, or a test's setSystemTime: no time has elapsed, so nothing is due.
    vi.setSystemTime(NOW + 3_600_000);
    const [child, cancelChild] = withTimeout(parent, 5_000);
    const [never, cancelNever] = withTimeout(parent, Infinity);
    expect([parent.err, child.err, never.err]).toEqual([undefined, undefined, undefined]);
    vi.advanceTimersByTime(9_999);
    expect(parent.err).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect([parent.err, child.err, never.err]).toEqual([DeadlineExceeded, DeadlineExceeded, DeadlineExceeded]);
    expect([cause(parent), cause(child)]).toEqual(["parent's", "parent's"]);
    cancelNever();
    cancelChild();
    cancelParent();
  });

  it("a fractional timeout never expires before its deadline: the timer rounds up", () => {
    const [ctx, cancel] = withTimeout(background(), 1.9);
    vi.advanceTimersByTime(1);
    expect(ctx.err).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(ctx.err).toBe(DeadlineExceeded);
    cancel();
  });

  it("withTimeout() reads the clock once: a clock that ticks between reads does not shorten the timer", () => {
    let t = NOW;
    const spy = vi.spyOn(Date, "now").mockImplementation(() => t++);
    try {
      const [ctx, cancel] = withTimeout(background(), 1_000);
      vi.advanceTimersByTime(999);
      expect(ctx.err).toBeUndefined();
      vi.advanceTimersByTime(1);
      expect(ctx.err).toBe(DeadlineExceeded);
      cancel();
    } finally {
      spy.mockRestore();
    }
  });

  it("a deadline's timer measures elapsed time: setting the clock back does not postpone it", () => {
    const [ctx, cancel] = withTimeout(background(), 1_000);
    vi.setSystemTime(NOW - 60_000);
    vi.advanceTimersByTime(999);
    expect(ctx.err).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(ctx.err).toBe(DeadlineExceeded);
    cancel();
  });

  it("withDeadline() in the past gives a context already cancelled with DeadlineExceeded", () => {
    for (const at of [NOW - 1, new Date(NOW - 60_000), -Infinity, 0]) {
      const [ctx, cancel] = withDeadline(background(), at);
      expect(ctx.err, String(at)).toBe(DeadlineExceeded);
      expect(cause(ctx)).toBe(DeadlineExceeded);
      expect(ctx.signal.aborted).toBe(true);
      expect(liveCounts().timers).toBe(0);
      cancel();
      expect(ctx.err).toBe(DeadlineExceeded);
    }
  });

  it("withDeadline() at exactly Date.now() gives a context already cancelled", () => {
    const [ctx, cancel] = withDeadline(background(), new Date(NOW));
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    cancel();
  });

  it("withTimeout(…, 0) gives a context already cancelled with DeadlineExceeded", () => {
    const [parent, cancelParent] = withCancel(background());
    const [ctx, cancel] = withTimeout(parent, 0);
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(ctx.deadline).toBe(NOW);
    expect(childCount(parent)).toBe(0);
    expect(liveCounts().timers).toBe(0);
    cancel();
    cancelParent();
  });

  it.each([-50, -Infinity])("withTimeout(…, %o) gives a context already expired, as Go's WithTimeout does with a spent budget", (ms) => {
    const [ctx, cancel] = withTimeout(background(), ms, "budget spent");
    expect([ctx.err, cause(ctx)]).toEqual([DeadlineExceeded, "budget spent"]);
    expect(ctx.deadline).toBe(NOW);
    expect(liveCounts().timers).toBe(0);
    cancel();
  });

  it("withTimeout() sets deadline to Date.now() + ms and fires at that instant, not a millisecond before", () => {
    const [parent, cancelParent] = withCancel(background());
    const [ctx, cancel] = withTimeout(parent, 1_000);
    expect(ctx.deadline).toBe(NOW + 1_000);
    expect(liveCounts().timers).toBe(1);
    expect(childCount(parent)).toBe(1);
    vi.advanceTimersByTime(999);
    expect(ctx.err).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(ctx.signal.reason).toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    expect(childCount(parent)).toBe(0);
    expect(parent.err).toBeUndefined();
    cancel();
    expect(ctx.err).toBe(DeadlineExceeded);
    cancelParent();
  });

  it("withDeadline() accepts a Date and reports its time as the deadline", () => {
    const [ctx, cancel] = withDeadline(background(), new Date(NOW + 5_000));
    expect(ctx.deadline).toBe(NOW + 5_000);
    cancel();
  });

  it("withTimeout() under a parent with an earlier deadline makes no timer and takes the parent's deadline", () => {
    const [parent, cancelParent] = withTimeout(background(), 1_000);
    expect(liveCounts().timers).toBe(1);
    const [child, cancelChild] = withTimeout(withValue(parent, createKey("k"), 1), 5_000);
    const [same, cancelSame] = withDeadline(parent, NOW + 1_000);
    expect(liveCounts().timers).toBe(1);
    expect(child.deadline).toBe(NOW + 1_000);
    expect(same.deadline).toBe(NOW + 1_000);

    vi.advanceTimersByTime(1_000);

    expect(child.err).toBe(DeadlineExceeded);
    expect(same.err).toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    cancelChild();
    cancelSame();
    cancelParent();
  });

  it("withTimeout() under a parent with a later deadline arms its own timer and fires first", () => {
    const [parent, cancelParent] = withTimeout(background(), 5_000);
    const [child, cancelChild] = withTimeout(parent, 1_000);
    expect(liveCounts().timers).toBe(2);
    expect(child.deadline).toBe(NOW + 1_000);
    vi.advanceTimersByTime(1_000);
    expect(child.err).toBe(DeadlineExceeded);
    expect(parent.err).toBeUndefined();
    expect(liveCounts().timers).toBe(1);
    cancelChild();
    cancelParent();
  });

  it("withCancel() under a deadline inherits the deadline and expires with it", () => {
    const [parent, cancelParent] = withTimeout(background(), 1_000);
    const [child, cancelChild] = withCancel(parent);
    expect(child.deadline).toBe(NOW + 1_000);
    vi.advanceTimersByTime(1_000);
    expect(child.err).toBe(DeadlineExceeded);
    cancelChild();
    cancelParent();
  });

  it("cancel() clears the timer at once, and the deadline passing later changes nothing", () => {
    const [ctx, cancel] = withTimeout(background(), 1_000);
    expect(liveCounts().timers).toBe(1);
    cancel();
    expect(liveCounts().timers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2_000);
    expect(ctx.err).toBe(Canceled);
  });

  it("a parent's cancel() clears every descendant's timer", () => {
    const [root, cancelRoot] = withCancel(background());
    const [a] = withTimeout(root, 1_000);
    const [b] = withTimeout(a, 500);
    const [c] = withDeadline(withValue(b, createKey("k"), 1), NOW + 100);
    expect(liveCounts().timers).toBe(3);
    cancelRoot();
    expect(liveCounts().timers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect([a.err, b.err, c.err]).toEqual([Canceled, Canceled, Canceled]);
  });

  it("a deadline beyond 2^31-1 ms does not fire early and fires on time", () => {
    for (const ms of [MAX_DELAY + 1, 2 ** 40]) {
      const [ctx, cancel] = withTimeout(background(), ms);
      expect(ctx.deadline).toBe(Date.now() + ms);
      vi.advanceTimersByTime(1);
      expect(ctx.err, `${ms} ms after 1 ms`).toBeUndefined();
      vi.advanceTimersByTime(ms - 2);
      expect(ctx.err, `${ms} ms, 1 ms before`).toBeUndefined();
      expect(liveCounts().timers).toBe(1);
      vi.advanceTimersByTime(1);
      expect(ctx.err, `${ms} ms, on time`).toBe(DeadlineExceeded);
      expect(liveCounts().timers).toBe(0);
      cancel();
    }
  });

  it("Infinity as a timeout or deadline means no deadline and no timer", () => {
    const [a, cancelA] = withTimeout(background(), Infinity);
    const [b, cancelB] = withDeadline(background(), Infinity);
    expect(a.deadline).toBeUndefined();
    expect(b.deadline).toBeUndefined();
    expect(liveCounts().timers).toBe(0);
    vi.advanceTimersByTime(2 ** 50);
    expect([a.err, b.err]).toEqual([undefined, undefined]);
    cancelA();
    cancelB();
    expect([a.err, b.err]).toEqual([Canceled, Canceled]);
  });

  it("Infinity under a parent with a deadline keeps the parent's deadline", () => {
    const [parent, cancelParent] = withTimeout(background(), 1_000);
    const [child, cancelChild] = withTimeout(parent, Infinity);
    expect(child.deadline).toBe(NOW + 1_000);
    expect(liveCounts().timers).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(child.err).toBe(DeadlineExceeded);
    cancelChild();
    cancelParent();
  });

  it("withoutCancel() drops the parent's deadline, and a timeout under it arms its own timer", () => {
    const [parent, cancelParent] = withTimeout(background(), 1_000);
    const detached = withoutCancel(parent);
    expect(detached.deadline).toBeUndefined();
    const [child, cancelChild] = withTimeout(detached, 3_000);
    expect(child.deadline).toBe(NOW + 3_000);
    expect(liveCounts().timers).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(parent.err).toBe(DeadlineExceeded);
    expect(child.err).toBeUndefined();
    vi.advanceTimersByTime(2_000);
    expect(child.err).toBe(DeadlineExceeded);
    cancelChild();
    cancelParent();
  });

  it("a foreign parent's deadline is inherited, and an earlier one spares the child a timer", () => {
    const foreign = new ForeignContext(NOW + 1_000);
    const [a, cancelA] = withCancel(foreign);
    const [b, cancelB] = withTimeout(foreign, 5_000);
    const [c, cancelC] = withTimeout(foreign, 500);
    expect([a.deadline, b.deadline, c.deadline]).toEqual([NOW + 1_000, NOW + 1_000, NOW + 500]);
    expect(liveCounts().timers).toBe(1);
    foreign.cancel(new DOMException("foreign deadline", "TimeoutError"));
    expect([a.err, b.err, c.err]).toEqual([DeadlineExceeded, DeadlineExceeded, DeadlineExceeded]);
    expect(liveCounts().timers).toBe(0);
    for (const f of [cancelA, cancelB, cancelC]) f();
  });

  it("1,000 timeouts that expire under one parent leave it no children and no timers", () => {
    const [parent, cancelParent] = withCancel(background());
    const cancels = Array.from({ length: 1_000 }, (_, i) => withTimeout(parent, 1 + (i % 50))[1]);
    expect(childCount(parent)).toBe(1_000);
    expect(liveCounts().timers).toBe(1_000);
    vi.advanceTimersByTime(50);
    expect(childCount(parent)).toBe(0);
    expect(liveCounts().timers).toBe(0);
    for (const cancel of cancels) cancel();
    cancelParent();
  });
});

describe("deadline timers under fake timers that leave Date alone", () => {
  it("withTimeout() expires once its delay has elapsed on the fake clock", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const [ctx, cancel] = withTimeout(background(), 1_000);
    vi.advanceTimersByTime(999);
    expect(ctx.err).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(liveCounts().timers).toBe(0);
    cancel();
  });
});

describe("deadline timers on the real event loop", () => {
  it("a deadline beyond 2^31-1 ms arms without a TimeoutOverflowWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    try {
      const [a, cancelA] = withTimeout(background(), MAX_DELAY + 1);
      const [b, cancelB] = withDeadline(background(), Date.now() + 2 ** 40);
      expect(liveCounts().timers).toBe(2);
      await macrotask();
      expect([a.err, b.err]).toEqual([undefined, undefined]);
      cancelA();
      cancelB();
      await macrotask();
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  const fixture = fileURLToPath(new URL("./test-helpers/idle-timeout.mjs", import.meta.url));
  const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));

  it(
    "a process that arms withTimeout(background(), 3_600_000) and never cancels exits at once",
    async () => {
      expect(existsSync(built), `${built} is missing: build with \`npx tsc -b\` first`).toBe(true);
      // The bound is this test's timeout: with a timer holding the loop, the child would run an hour.
      expect(await runNodeReport(fixture)).toEqual({ alive: true, timers: 1 });
    },
    15_000,
  );
});
