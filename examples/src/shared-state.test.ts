import { background } from "@tether/core";
import { describe, expect, it } from "vitest";
import { countGuarded, countImmutable, countUnsafe, requestInfo, withRequestInfo } from "./shared-state.js";

describe("shared mutable state in a context value", () => {
  it("countUnsafe() loses every update but one: each task read the count before any wrote it", async () => {
    expect(await countUnsafe(20)).toBe(1);
  });

  it("countImmutable() counts every hit by returning results instead of sharing state", async () => {
    expect(await countImmutable(20)).toBe(20);
  });

  it("countGuarded() counts every hit through a mutex-guarded handle", async () => {
    expect(await countGuarded(20)).toBe(20);
  });

  it("withRequestInfo() stores a frozen copy that later changes to the original do not reach", () => {
    const info = { user: "ada", tenant: "acme" };
    const ctx = withRequestInfo(background(), info);
    info.tenant = "evil";
    const stored = requestInfo(ctx);
    expect(stored).toEqual({ user: "ada", tenant: "acme" });
    expect(() => {
      (stored as { tenant: string }).tenant = "evil";
    }).toThrow(TypeError);
  });
});
