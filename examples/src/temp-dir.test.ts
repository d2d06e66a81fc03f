import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { background, withCancel, withTimeout } from "@tether/core";
import { childCount } from "@tether/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { openTempDir } from "./temp-dir.js";

describe("openTempDir", () => {
  const kept: string[] = [];
  afterEach(() => {
    for (const p of kept.splice(0)) rmSync(p, { recursive: true, force: true });
  });

  it("openTempDir() removes the directory and its files when the context is cancelled", async () => {
    const [ctx, cancel] = withCancel(background());
    const dir = openTempDir(ctx);
    writeFileSync(join(dir.path, "scratch.txt"), "data");
    expect(existsSync(dir.path)).toBe(true);
    cancel();
    await dir.removed;
    expect(existsSync(dir.path)).toBe(false);
  });

  it("openTempDir() removes the directory when the context's deadline passes", async () => {
    const [ctx, cancel] = withTimeout(background(), 5);
    const dir = openTempDir(ctx);
    await dir.removed;
    expect(existsSync(dir.path)).toBe(false);
    cancel();
  });

  it("openTempDir() removes the directory when an ancestor is cancelled", async () => {
    const [parent, cancelParent] = withCancel(background());
    const [ctx, cancel] = withCancel(parent);
    const dir = openTempDir(ctx);
    cancelParent();
    await dir.removed;
    expect(existsSync(dir.path)).toBe(false);
    cancel();
  });

  it("stop() keeps the directory after cancel and unhooks it from the context", async () => {
    const [ctx, cancel] = withCancel(background());
    const dir = openTempDir(ctx);
    kept.push(dir.path);
    expect(childCount(ctx)).toBe(1);
    expect(dir.stop()).toBe(true);
    expect(childCount(ctx)).toBe(0);
    cancel();
    await new Promise<void>((r) => setImmediate(r));
    expect(existsSync(dir.path)).toBe(true);
  });

  it("stop() returns false once the removal has already run", async () => {
    const [ctx, cancel] = withCancel(background());
    const dir = openTempDir(ctx);
    cancel();
    await dir.removed;
    expect(dir.stop()).toBe(false);
  });
});
