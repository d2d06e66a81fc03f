import { describe, expect, it, vi } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  background,
  cause,
  todo,
  withCancel,
  withCancelCause,
  withDeadline,
  withTimeout,
  withoutCancel,
  type Context,
} from "@tether/core";
import { ForeignContext } from "./test-helpers/foreign.js";

// The cases of Go's context_test.go TestCause, in its order. Each builds a context, returns it with
// a cleanup that cancels whatever it made, and states the err and cause the context must report.
const parentCause = new Error("parentCause");
const childCause = new Error("childCause");
const tooSlow = new Error("tooSlow");
const finishedEarly = new Error("finishedEarly");

type Case = [name: string, build: () => [Context, () => void], err: Error | undefined, cause: unknown];

const cases: Case[] = [
  ["background()", () => [background(), () => {}], undefined, undefined],
  ["todo()", () => [todo(), () => {}], undefined, undefined],
  ["withCancel() cancelled", () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    return [ctx, cancel];
  }, Canceled, Canceled],
  ["withCancelCause() cancelled with a cause", () => {
    const [ctx, cancel] = withCancelCause(background());
    cancel(childCause);
    return [ctx, cancel];
  }, Canceled, childCause],
  ["withCancelCause() cancelled with no cause", () => {
    const [ctx, cancel] = withCancelCause(background());
    cancel();
    return [ctx, cancel];
  }, Canceled, Canceled],
  ["withCancelCause(): parent cancelled before the child", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const [ctx, cancel] = withCancelCause(parent);
    cancelParent(parentCause);
    cancel(childCause);
    return [ctx, cancel];
  }, Canceled, parentCause],
  ["withCancelCause(): parent cancelled after the child", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const [ctx, cancel] = withCancelCause(parent);
    cancel(childCause);
    cancelParent(parentCause);
    return [ctx, cancel];
  }, Canceled, childCause],
  ["withCancelCause(): parent cancelled before the child's cancel with no cause", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const [ctx, cancel] = withCancelCause(parent);
    cancelParent(parentCause);
    cancel();
    return [ctx, cancel];
  }, Canceled, parentCause],
  ["withCancelCause(): parent cancelled after the child's cancel with no cause", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const [ctx, cancel] = withCancelCause(parent);
    cancel();
    cancelParent(parentCause);
    return [ctx, cancel];
  }, Canceled, Canceled],
  ["withCancelCause(): a cause given after a cancel with no cause", () => {
    const [ctx, cancel] = withCancelCause(background());
    cancel();
    cancel(childCause);
    return [ctx, cancel];
  }, Canceled, Canceled],
  ["withCancelCause(): a cancel with no cause after a cause", () => {
    const [ctx, cancel] = withCancelCause(background());
    cancel(childCause);
    cancel();
    return [ctx, cancel];
  }, Canceled, childCause],
  ["withTimeout() expired", () => withTimeout(background(), 0), DeadlineExceeded, DeadlineExceeded],
  ["withTimeout() expired, then cancelled", () => {
    const [ctx, cancel] = withTimeout(background(), 0);
    cancel();
    return [ctx, cancel];
  }, DeadlineExceeded, DeadlineExceeded],
  ["withTimeout(…, cause) expired", () => withTimeout(background(), 0, tooSlow), DeadlineExceeded, tooSlow],
  ["withTimeout(…, cause) expired, then cancelled", () => {
    const [ctx, cancel] = withTimeout(background(), 0, tooSlow);
    cancel();
    return [ctx, cancel];
  }, DeadlineExceeded, tooSlow],
  ["withTimeout(…, cause) expired under a parent cancelled afterwards", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const [ctx, cancel] = withTimeout(parent, 0, tooSlow);
    cancelParent(finishedEarly);
    return [ctx, () => (cancel(), cancelParent())];
  }, DeadlineExceeded, tooSlow],
  ["withTimeout(…, cause) under an already-cancelled parent", () => {
    const [parent, cancelParent] = withCancelCause(background());
    cancelParent(finishedEarly);
    return withTimeout(parent, 0, tooSlow);
  }, Canceled, finishedEarly],
  ["withoutCancel(background())", () => [withoutCancel(background()), () => {}], undefined, undefined],
  ["withoutCancel() of a parent cancelled with a cause", () => {
    const [parent, cancelParent] = withCancelCause(background());
    const ctx = withoutCancel(parent);
    cancelParent(finishedEarly);
    return [ctx, () => {}];
  }, undefined, undefined],
  ["withoutCancel() of an expired parent", () => {
    const [parent, cancelParent] = withTimeout(background(), 0, tooSlow);
    return [withoutCancel(parent), cancelParent];
  }, undefined, undefined],
];

describe("cause()", () => {
  it.each(cases)("reports Go's err and cause for %s", (_, build, err, why) => {
    const [ctx, cleanup] = build();
    try {
      expect(ctx.err).toBe(err);
      expect(cause(ctx)).toBe(why);
    } finally {
      cleanup();
    }
  });

  it("is undefined while the context is alive, even when a cause is set for its deadline", () => {
    const [ctx, cancel] = withTimeout(background(), 60_000, tooSlow);
    expect(cause(ctx)).toBeUndefined();
    cancel();
  });

  it("reports Canceled, not the deadline's cause, when cancel() comes before the deadline", () => {
    const [ctx, cancel] = withDeadline(background(), Date.now() + 60_000, tooSlow);
    cancel();
    expect(ctx.err).toBe(Canceled);
    expect(cause(ctx)).toBe(Canceled);
  });

  it("reports the deadline's cause when withDeadline(…, cause) expires, with err DeadlineExceeded", () => {
    vi.useFakeTimers();
    const [ctx, cancel] = withDeadline(background(), Date.now() + 1_000, tooSlow);
    vi.advanceTimersByTime(1_000);
    expect(ctx.err).toBe(DeadlineExceeded);
    expect(cause(ctx)).toBe(tooSlow);
    expect(ctx.signal.reason).toBe(tooSlow);
    cancel();
    expect(cause(ctx)).toBe(tooSlow);
  });

  it("passes a parent's deadline cause down to a child with no timer of its own", () => {
    vi.useFakeTimers();
    const [parent, cancelParent] = withTimeout(background(), 1_000, tooSlow);
    const [child, cancelChild] = withTimeout(parent, 5_000, new Error("child's own"));
    vi.advanceTimersByTime(1_000);
    expect(child.err).toBe(DeadlineExceeded);
    expect(cause(child)).toBe(tooSlow);
    cancelChild();
    cancelParent();
  });

  it("keeps a cause that is not an Error, such as a string", () => {
    const [ctx, cancel] = withCancelCause(background());
    cancel("client went away");
    expect(cause(ctx)).toBe("client went away");
    expect(ctx.signal.reason).toBe("client went away");
  });

  it("is null for a foreign context whose signal aborted with null, and for its children, made before or after", () => {
    const foreign = new ForeignContext();
    const [before, cancelBefore] = withCancel(foreign);
    foreign.cancel(null);
    const [after, cancelAfter] = withCancel(foreign);
    expect([cause(foreign), cause(before), cause(after)]).toEqual([null, null, null]);
    cancelBefore();
    cancelAfter();
  });

  it("is the err of a foreign context whose signal has no reason (a polyfill older than it), and of its children", () => {
    // Like the abort-controller package that node-fetch 2 uses: `aborted`, an abort event, no `reason`.
    const signal = Object.assign(new EventTarget(), { aborted: false }) as unknown as AbortSignal;
    const gone = new Error("request aborted");
    const foreign: Context = {
      deadline: undefined,
      get err(): Error | undefined {
        return signal.aborted ? gone : undefined;
      },
      done: new Promise<void>(() => {}),
      signal,
      value: () => undefined,
    };
    const [before, cancelBefore] = withCancel(foreign);
    (signal as unknown as { aborted: boolean }).aborted = true;
    signal.dispatchEvent(new Event("abort"));
    const [after, cancelAfter] = withCancel(foreign);
    expect([cause(foreign), cause(before), cause(after)]).toEqual([gone, gone, gone]);
    expect(after.signal.reason).toBe(gone);
    cancelBefore();
    cancelAfter();
  });
});
