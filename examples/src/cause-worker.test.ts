import { Canceled, DeadlineExceeded, background, withCancelCause } from "@tether/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BudgetExceededError, UserQuitError, runWorker } from "./cause-worker.js";

describe("runWorker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runWorker() logs and returns UserQuitError when quit is pressed", async () => {
    const quit = new AbortController();
    const lines: string[] = [];
    const stopped = runWorker(background(), { quit: quit.signal, budgetMs: 500, tickMs: 10, log: (l) => lines.push(l) });
    await vi.advanceTimersByTimeAsync(35);
    quit.abort();
    expect(await stopped).toBeInstanceOf(UserQuitError);
    expect(lines).toEqual([`worker stopped after 3 ticks: err=${Canceled.message}, cause=user pressed quit`]);
  });

  it("runWorker() logs and returns BudgetExceededError when its deadline passes", async () => {
    const quit = new AbortController();
    const lines: string[] = [];
    const stopped = runWorker(background(), { quit: quit.signal, budgetMs: 100, tickMs: 30, log: (l) => lines.push(l) });
    await vi.advanceTimersByTimeAsync(100);
    expect(await stopped).toBeInstanceOf(BudgetExceededError);
    expect(lines).toEqual([`worker stopped after 3 ticks: err=${DeadlineExceeded.message}, cause=worker budget of 100ms exhausted`]);
  });

  it("runWorker() logs and returns the parent's cause when the parent is cancelled", async () => {
    const quit = new AbortController();
    const lines: string[] = [];
    const [parent, cancelParent] = withCancelCause(background());
    const shutdown = new Error("server shutting down");
    const stopped = runWorker(parent, { quit: quit.signal, budgetMs: 500, tickMs: 10, log: (l) => lines.push(l) });
    await vi.advanceTimersByTimeAsync(15);
    cancelParent(shutdown);
    expect(await stopped).toBe(shutdown);
    expect(lines).toEqual([`worker stopped after 1 ticks: err=${Canceled.message}, cause=server shutting down`]);
  });

  it("runWorker() stops at once with UserQuitError when quit was pressed before it started", async () => {
    const quit = new AbortController();
    quit.abort();
    const lines: string[] = [];
    expect(await runWorker(background(), { quit: quit.signal, log: (l) => lines.push(l) })).toBeInstanceOf(UserQuitError);
    expect(lines).toHaveLength(1);
  });

  it("runWorker() removes its quit listener once it stops, whatever stopped it", async () => {
    const quit = new AbortController();
    const remove = vi.spyOn(quit.signal, "removeEventListener");
    const stopped = runWorker(background(), { quit: quit.signal, budgetMs: 20, log: () => {} });
    await vi.advanceTimersByTimeAsync(20);
    await stopped;
    expect(remove).toHaveBeenCalledWith("abort", expect.any(Function));
  });
});
