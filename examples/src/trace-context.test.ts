import { background, createKey, withValue } from "@tether/core";
import { derivationTrace } from "@tether/core/debug";
import { describe, expect, it } from "vitest";
import { handleWithTrace } from "./trace-context.js";

describe("handleWithTrace", () => {
  it("handleWithTrace() lists the chain newest first, each layer under the line that derived it", () => {
    const lines = handleWithTrace().split("\n");
    const contexts = lines.filter((l) => !l.startsWith("    "));
    expect(contexts[0]).toMatch(/^background\(\)\.withValue\(user, "alice"\)\.withTimeout\(.*\)\.withValue\(tenant, "acme"\)$/);
    expect(contexts.at(-1)).toBe("background()");
    // The first frame under each context is the layer that made it.
    const firstFrameAfter = (i: number): string => lines[lines.indexOf(contexts[i] as string) + 1] ?? "";
    expect(firstFrameAfter(0)).toMatch(/at tenantLayer/);
    expect(firstFrameAfter(1)).toMatch(/at deadlineLayer/);
    expect(firstFrameAfter(2)).toMatch(/at authLayer/);
  });

  it("handleWithTrace() turns tracing off again, so later contexts carry no stack", () => {
    handleWithTrace();
    const trace = derivationTrace(withValue(background(), createKey<number>("n"), 1));
    expect(trace.split("\n")).toEqual(["background().withValue(n, 1)", "background()"]);
  });
});
