import { Canceled, DeadlineExceeded, background, errorIs, withCancel } from "@tether/core";
import { Mutex } from "@tether/sync";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Printer, printAll } from "./ctx-mutex.js";

describe("ctx-mutex", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("printAll() lets an impatient job give up while the others print in order", async () => {
    const lines: string[] = [];
    const done = printAll(
      background(),
      [
        { name: "A", printMs: 300, patienceMs: 1_000 },
        { name: "B", printMs: 10, patienceMs: 100 },
        { name: "C", printMs: 50, patienceMs: 1_000 },
      ],
      (l) => lines.push(l),
    );
    await vi.advanceTimersByTimeAsync(350);
    expect(await done).toEqual([
      { name: "B", outcome: "context deadline exceeded" },
      { name: "A", outcome: "printed" },
      { name: "C", outcome: "printed" },
    ]);
    // B left the queue without ever holding the printer; C, behind it, still got its turn.
    expect(lines).toEqual([
      "A: printing",
      "B: gave up: context deadline exceeded (printer Mutex(locked, 1 waiting))",
      "A: done",
      "C: printing",
      "C: done",
    ]);
  });

  it("a job that gets the printer finishes, though its patience runs out while it prints", async () => {
    const lines: string[] = [];
    const done = printAll(background(), [{ name: "A", printMs: 200, patienceMs: 50 }], (l) => lines.push(l));
    await vi.advanceTimersByTimeAsync(200);
    expect(await done).toEqual([{ name: "A", outcome: "printed" }]);
    expect(lines).toEqual(["A: printing", "A: done"]);
  });

  it("Printer.print() releases the printer when the printing is cancelled", async () => {
    const printer = new Printer();
    const [ctx, cancel] = withCancel(background());
    const printing = printer.print(ctx, { name: "A", printMs: 10_000, patienceMs: 100 }, () => {});
    await vi.advanceTimersByTimeAsync(10);
    expect(printer.state).toBe("Mutex(locked, 0 waiting)");
    cancel();
    await expect(printing).rejects.toBe(Canceled);
    expect(printer.state).toBe("Mutex(unlocked, 0 waiting)");
  });

  it("Mutex.lock() on a cancelled context rejects even when the mutex is free, and takes nothing", async () => {
    const mu = new Mutex();
    const [ctx, cancel] = withCancel(background());
    cancel();
    const err = await mu.lock(ctx).catch((e: unknown) => e);
    expect(errorIs(err, Canceled)).toBe(true);
    expect(errorIs(err, DeadlineExceeded)).toBe(false);
    expect(mu.locked).toBe(false);
  });
});
