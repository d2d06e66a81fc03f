import { describe, expect, it } from "vitest";
import { Canceled, CanceledError, DeadlineExceeded, DeadlineExceededError, errorIs } from "@tether/core";

describe("Canceled and DeadlineExceeded", () => {
  it("are instances of their exported classes, with Go's messages", () => {
    expect(Canceled).toBeInstanceOf(CanceledError);
    expect(Canceled).toBeInstanceOf(Error);
    expect(Canceled.name).toBe("CanceledError");
    expect(Canceled.message).toBe("context canceled");
    expect(DeadlineExceeded).toBeInstanceOf(DeadlineExceededError);
    expect(DeadlineExceeded.name).toBe("DeadlineExceededError");
    expect(DeadlineExceeded.message).toBe("context deadline exceeded");
    expect(Canceled).not.toBeInstanceOf(DeadlineExceededError);
  });

  it("print as name and message, with no stack pointing at module load", () => {
    expect(Canceled.stack).toBe("CanceledError: context canceled");
    expect(DeadlineExceeded.stack).toBe("DeadlineExceededError: context deadline exceeded");
  });

  it("are matched by errorIs() through their classes, and a fresh instance is not the sentinel", () => {
    const mine = new CanceledError("my own");
    expect(errorIs(mine, CanceledError)).toBe(true);
    expect(errorIs(mine, Canceled)).toBe(false);
    expect(errorIs(DeadlineExceeded, CanceledError)).toBe(false);
  });
});

describe("errorIs()", () => {
  it("matches the error itself, by identity", () => {
    expect(errorIs(Canceled, Canceled)).toBe(true);
    expect(errorIs(new Error("context canceled"), Canceled)).toBe(false);
    expect(errorIs("boom", "boom")).toBe(true);
    expect(errorIs(undefined, Canceled)).toBe(false);
    expect(errorIs(null, Canceled)).toBe(false);
  });

  it("follows a chain of .cause to any depth", () => {
    const deep = new Error("a", { cause: new Error("b", { cause: new Error("c", { cause: DeadlineExceeded }) }) });
    expect(errorIs(deep, DeadlineExceeded)).toBe(true);
    expect(errorIs(deep, Canceled)).toBe(false);
    expect(errorIs({ cause: Canceled }, Canceled)).toBe(true);
  });

  it("follows the errors of an AggregateError, nested in causes and aggregates", () => {
    const agg = new AggregateError([new Error("x"), new AggregateError([new Error("y", { cause: Canceled })])]);
    expect(errorIs(agg, Canceled)).toBe(true);
    expect(errorIs(new Error("wrap", { cause: agg }), Canceled)).toBe(true);
    expect(errorIs(agg, DeadlineExceeded)).toBe(false);
  });

  it("follows both sides of a SuppressedError-like { error, suppressed }", () => {
    const make = (error: unknown, suppressed: unknown): Error =>
      Object.assign(new Error("An error was suppressed"), { name: "SuppressedError", error, suppressed });
    expect(errorIs(make(Canceled, new Error("cleanup")), Canceled)).toBe(true);
    expect(errorIs(make(new Error("body"), DeadlineExceeded), DeadlineExceeded)).toBe(true);
    expect(errorIs({ error: new Error("x", { cause: Canceled }), suppressed: null }, Canceled)).toBe(true);
    expect(errorIs(make(new Error("a"), new Error("b")), Canceled)).toBe(false);
  });

  it("matches an instance of a class target, anywhere in the tree", () => {
    class NotFound extends Error {}
    const err = new AggregateError([new Error("wrap", { cause: new NotFound("user 7") })]);
    expect(errorIs(err, NotFound)).toBe(true);
    expect(errorIs(err, TypeError)).toBe(false);
    expect(errorIs(new Error("x", { cause: Canceled }), CanceledError)).toBe(true);
  });

  it("terminates on cycles through causes, aggregates and suppressed pairs", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    Object.assign(a, { cause: b });
    expect(errorIs(a, Canceled)).toBe(false);
    const agg = new AggregateError([]);
    agg.errors.push(agg, a);
    expect(errorIs(agg, Canceled)).toBe(false);
    const pair: { error: unknown; suppressed: unknown } = { error: undefined, suppressed: undefined };
    pair.error = pair;
    pair.suppressed = { cause: pair };
    expect(errorIs(pair, Canceled)).toBe(false);
    agg.errors.push(DeadlineExceeded);
    expect(errorIs(a, DeadlineExceeded)).toBe(false);
    expect(errorIs(agg, DeadlineExceeded)).toBe(true);
  });

  it("never throws: a revoked Proxy, a throwing getter or a target without a prototype matches nothing", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwingCause = new Error("real failure");
    Object.defineProperty(throwingCause, "cause", {
      get(): never {
        throw new Error("cause getter threw");
      },
    });
    expect(errorIs(proxy, Canceled)).toBe(false);
    expect(errorIs(new AggregateError([proxy, Canceled]), Canceled)).toBe(true);
    expect(errorIs(throwingCause, Canceled)).toBe(false);
    expect(errorIs(throwingCause, throwingCause)).toBe(true);
    const arrow = (): string => "retry later";
    expect(errorIs(new Error("x", { cause: arrow }), arrow)).toBe(true);
    expect(errorIs(new Error("x"), arrow)).toBe(false);
  });

  it("still searches the other parts of an error when one part cannot be read", () => {
    const aggregate = Object.defineProperty(new AggregateError([Canceled], "agg"), "cause", {
      get(): never {
        throw new Error("cause getter threw");
      },
    });
    expect(errorIs(aggregate, Canceled)).toBe(true);
    const pair = Object.assign(new Error("m"), { error: new Error("cleanup"), suppressed: Canceled });
    Object.defineProperty(pair, "cause", {
      get(): never {
        throw new Error("cause getter threw");
      },
    });
    expect(errorIs(pair, Canceled)).toBe(true);
    const errors = new Proxy([Canceled, "unreadable"], {
      get(t, k) {
        if (k === "1") throw new Error("element getter threw");
        return Reflect.get(t, k);
      },
    });
    expect(errorIs(Object.defineProperty(new AggregateError([], "a"), "errors", { value: errors }), Canceled)).toBe(true);
  });

  it("answers false instead of running forever on a cause getter that makes a new error at each read", () => {
    const endless = {
      get cause(): unknown {
        return endless2();
      },
    };
    const endless2 = (): unknown => ({
      get cause(): unknown {
        return endless2();
      },
    });
    expect(errorIs(endless, Canceled)).toBe(false);
  });

  it("matches an undefined target only with err itself undefined, never through a wrapper's undefined cause", () => {
    expect(errorIs(undefined, undefined)).toBe(true);
    expect(errorIs(new Error("m", { cause: undefined }), undefined)).toBe(false);
    expect(errorIs(new AggregateError([undefined]), undefined)).toBe(false);
  });
});
