import { describe, expect, it, vi } from "vitest";
import {
  background,
  createKey,
  todo,
  withCancel,
  withCancelCause,
  withDeadline,
  withSignal,
  withTimeout,
  withValue,
  withoutCancel,
} from "@tether/core";
import { ForeignContext } from "./test-helpers/foreign.js";

const NOW = Date.UTC(2030, 0, 1);
const requestId = createKey<string>("requestId");

describe("Context.toString()", () => {
  it("names the roots", () => {
    expect(String(background())).toBe("background()");
    expect(String(todo())).toBe("todo()");
  });

  it("prints the lineage of cancel, value, detached and signal layers", () => {
    const [c, cancel] = withCancel(background());
    const v = withValue(c, requestId, "abc");
    expect(String(v)).toBe('background().withCancel().withValue(requestId, "abc")');
    const [cc, cancelCc] = withCancelCause(withoutCancel(v));
    expect(`${cc}`).toBe('background().withCancel().withValue(requestId, "abc").withoutCancel().withCancelCause()');
    const [s, cancelS] = withSignal(todo(), new AbortController().signal);
    expect(String(s)).toBe("todo().withSignal()");
    for (const f of [cancel, cancelCc, cancelS]) f();
    expect(String(v)).toBe('background().withCancel().withValue(requestId, "abc")');
  });

  it("renders values safely and briefly", () => {
    const k = createKey<unknown>("k");
    const show = (value: unknown): string => String(withValue(background(), k, value));
    expect(show(42)).toBe("background().withValue(k, 42)");
    expect(show(undefined)).toBe("background().withValue(k, undefined)");
    expect(show(null)).toBe("background().withValue(k, null)");
    expect(show(10n)).toBe("background().withValue(k, 10n)");
    expect(show({ secret: "hunter2" })).toBe("background().withValue(k, <Object>)");
    expect(show(new Map())).toBe("background().withValue(k, <Map>)");
    expect(show([1, 2, 3])).toBe("background().withValue(k, array(3))");
    expect(show(new TypeError("bad"))).toBe('background().withValue(k, TypeError("bad"))');
    expect(show(requestId)).toBe("background().withValue(k, Key(requestId))");
    expect(show(Object.create(null))).toBe("background().withValue(k, <Object>)");
    expect(show("x".repeat(100))).toBe(`background().withValue(k, "${"x".repeat(40)}…")`);
  });

  it("prints a deadline as its instant and the time left, then why it ended", () => {
    vi.useFakeTimers({ now: NOW });
    const [t, cancelT] = withTimeout(background(), 1_000);
    expect(String(t)).toBe("background().withTimeout(2030-01-01T00:00:01.000Z [1000ms left])");
    vi.advanceTimersByTime(400);
    expect(String(t)).toBe("background().withTimeout(2030-01-01T00:00:01.000Z [600ms left])");
    vi.advanceTimersByTime(600);
    expect(String(t)).toBe("background().withTimeout(2030-01-01T00:00:01.000Z [context deadline exceeded])");
    const [d, cancelD] = withDeadline(withValue(background(), requestId, "r1"), new Date(NOW + 5_000));
    expect(String(d)).toBe('background().withValue(requestId, "r1").withDeadline(2030-01-01T00:00:05.000Z [4000ms left])');
    cancelD();
    expect(String(d)).toBe('background().withValue(requestId, "r1").withDeadline(2030-01-01T00:00:05.000Z [context canceled])');
    cancelT();
  });

  it("prints a child's own deadline even when its parent's is earlier", () => {
    vi.useFakeTimers({ now: NOW });
    const [p, cancelP] = withTimeout(background(), 1_000);
    const [c, cancelC] = withTimeout(p, 2_000);
    expect(String(c)).toBe(
      "background().withTimeout(2030-01-01T00:00:01.000Z [1000ms left]).withTimeout(2030-01-01T00:00:02.000Z [2000ms left])",
    );
    cancelC();
    cancelP();
  });

  it("prints a context with no deadline of its own without throwing", () => {
    const [t, cancel] = withTimeout(background(), Infinity);
    expect(String(t)).toMatch(/^background\(\)\.withTimeout\(Infinity/);
    cancel();
  });

  it("prints a deadline beyond the range of Date without throwing", () => {
    const [far, cancelFar] = withTimeout(background(), Number.MAX_SAFE_INTEGER);
    const [past, cancelPast] = withDeadline(background(), -1e300);
    try {
      expect(() => String(far)).not.toThrow();
      expect(String(far)).toMatch(/^background\(\)\.withTimeout\(/);
      expect(() => String(past)).not.toThrow();
      expect(String(past)).toMatch(/^background\(\)\.withDeadline\(.*context deadline exceeded/);
    } finally {
      cancelFar();
      cancelPast();
    }
  });

  it("prints a foreign parent through its own toString()", () => {
    const foreign = new ForeignContext();
    const [c, cancel] = withCancel(withValue(foreign, requestId, "f"));
    expect(String(c)).toBe('ForeignContext.withValue(requestId, "f").withCancel()');
    cancel();
  });
});
