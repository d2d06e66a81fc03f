import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import {
  afterFunc,
  background,
  cause,
  createKey,
  runTask,
  sleep,
  withCancel,
  withCancelCause,
  withDeadline,
  withSignal,
  withTimeout,
  withValue,
  withoutCancel,
  type Context,
} from "@tether/core";
import { childCount, liveCounts, trackLeaks } from "@tether/core/testing";
import { enableTrace } from "@tether/core/debug";

/** Calls `f` with a deliberately wrong argument (the casts are the point of these tests). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

/** What `f`'s promise rejected with; a synchronous throw fails the test, as a promise-returning call must reject. */
async function rejected(f: () => Promise<unknown>): Promise<Error> {
  let p: Promise<unknown>;
  try {
    p = f();
  } catch (err) {
    throw new Error(`expected a rejection, but the call threw synchronously: ${String(err)}`);
  }
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

// What a wrong argument looks like in the message: a value rendered so the user can find it.
const notContexts: Array<[unknown, string]> = [
  [null, "received null"],
  [undefined, "received undefined"],
  [42, "received 42"],
  ["ctx", 'received "ctx"'],
  [{}, "received <Object>"],
  [new AbortController().signal, "received <AbortSignal>"],
  [Promise.resolve(), "received <Promise>"],
  [{ err: undefined, done: Promise.resolve(), signal: new AbortController().signal }, "received <Object>"],
  // Context-shaped, but with no signal to follow: it must not pass for one that can never be cancelled.
  [{ deadline: undefined, err: undefined, done: Promise.resolve(), signal: undefined, value: () => undefined }, "received <Object>"],
  [{ deadline: undefined, err: undefined, done: Promise.resolve(), signal: {}, value: () => undefined }, "received <Object>"],
  [{ deadline: undefined, err: undefined, done: Promise.resolve(), signal: { aborted: false, addEventListener() {} }, value: () => undefined }, "received <Object>"],
];

const key = createKey<number>("k");
const parentTakers: Array<[string, (p: Context) => unknown]> = [
  ["withCancel", (p) => withCancel(p)],
  ["withCancelCause", (p) => withCancelCause(p)],
  ["withDeadline", (p) => withDeadline(p, Date.now() + 1_000)],
  ["withTimeout", (p) => withTimeout(p, 1_000)],
  ["withValue", (p) => withValue(p, key, 1)],
  ["withoutCancel", (p) => withoutCancel(p)],
  ["withSignal", (p) => withSignal(p, new AbortController().signal)],
];

describe("a parent that is not a Context", () => {
  for (const [fn, call] of parentTakers) {
    it.each(notContexts)(`${fn}() throws a TypeError naming parent and the value, for %o`, (bad, received) => {
      const err = thrown(() => call(bad as Context));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toContain(`${fn}:`);
      expect(err.message).toContain("parent");
      expect(err.message).toContain("Context");
      expect(err.message).toContain(received);
    });
  }

  it.each([
    ["afterFunc", () => afterFunc(null as unknown as Context, () => {})],
    ["cause", () => cause(null as unknown as Context)],
    ["childCount", () => childCount(null as unknown as Context)],
  ])("%s() throws a TypeError naming ctx and the value", (fn, call) => {
    const err = thrown(call);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(`${fn}: ctx must be a Context, received null`);
  });

  it("sleep() reports a bad ctx with a TypeError naming ctx and the value", async () => {
    const err = await rejected(() => sleep(7 as unknown as Context, 1));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("sleep: ctx must be a Context, received 7");
  });
});

describe("a key that is not a Key", () => {
  it.each([
    ["k", 'received "k"'],
    [Symbol("k"), "received Symbol(k)"],
    [{ name: "k" }, "received <Object>"],
    [undefined, "received undefined"],
  ])("withValue() and value() throw a TypeError naming key and the value, for %o", (bad, received) => {
    const w = thrown(() => withValue(background(), bad as never, 1));
    expect(w).toBeInstanceOf(TypeError);
    expect(w.message).toBe(`withValue: key must be a Key made by createKey(), ${received}`);
    const v = thrown(() => background().value(bad as never));
    expect(v).toBeInstanceOf(TypeError);
    expect(v.message).toBe(`value: key must be a Key made by createKey(), ${received}`);
  });

  it("createKey() throws a TypeError naming name and the value", () => {
    const err = thrown(() => createKey(5 as unknown as string));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("createKey: name must be a string, received 5");
  });
});

describe("a duration that is not a number of milliseconds", () => {
  const cases: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
    [NaN, RangeError, "received NaN"],
    ["100", TypeError, 'received "100"'],
    [undefined, TypeError, "received undefined"],
    [10n, TypeError, "received 10n"],
    [null, TypeError, "received null"],
  ];

  it.each(cases)("withTimeout() rejects %o with a %o naming ms and the value", (bad, Type, received) => {
    const err = thrown(() => withTimeout(background(), bad as number));
    expect(err).toBeInstanceOf(Type);
    expect(err.message).toMatch(/^withTimeout: ms must be a .*number of milliseconds, /);
    expect(err.message).toContain(received);
  });

  it.each(cases)("sleep() rejects %o with a %o naming ms and the value", async (bad, Type, received) => {
    const err = await rejected(() => sleep(background(), bad as number));
    expect(err).toBeInstanceOf(Type);
    expect(err.message).toMatch(/^sleep: ms must be a .*number of milliseconds, /);
    expect(err.message).toContain(received);
  });

  it("withTimeout() names a value that cannot be inspected (a revoked Proxy) instead of failing to describe it", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const err = thrown(() => withTimeout(background(), proxy as never));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("withTimeout: ms must be a number of milliseconds, received <uninspectable value>");
  });

  it("withTimeout() of a bad duration under a live parent links nothing", () => {
    const [parent, cancel] = withCancel(background());
    thrown(() => withTimeout(parent, NaN));
    expect(childCount(parent)).toBe(0);
    cancel();
  });
});

describe("withDeadline() with a bad time", () => {
  it("throws a RangeError for an invalid Date, naming at and showing the date is invalid", () => {
    const err = thrown(() => withDeadline(background(), new Date("not a date")));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe("withDeadline: at must be a valid time, received Invalid Date");
  });

  it("throws a RangeError for NaN, naming at and NaN", () => {
    const err = thrown(() => withDeadline(background(), NaN));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe("withDeadline: at must be a valid time, received NaN");
  });

  it("throws a TypeError for a date string, naming at and the string", () => {
    const err = thrown(() => withDeadline(background(), "2030-01-01" as unknown as Date));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('withDeadline: at must be epoch milliseconds or a Date, received "2030-01-01"');
  });
});

describe("a foreign context that is not a usable Context", () => {
  const shaped = (err: unknown): Context =>
    ({ deadline: undefined, err, done: new Promise<void>(() => {}), signal: new AbortController().signal, value: () => undefined }) as Context;

  it.each([
    [null, "null"],
    ["nope", '"nope"'],
    [0, "0"],
  ])("withCancel(), sleep() and runTask() refuse a foreign context whose err is %o, naming its err", async (err, shown) => {
    const ctx = shaped(err);
    expect(thrown(() => withCancel(ctx)).message).toBe(`withCancel: parent.err must be undefined or an Error, received ${shown}`);
    const slept = await rejected(() => sleep(ctx, 1));
    expect(slept).toBeInstanceOf(TypeError);
    expect(slept.message).toBe(`sleep: ctx.err must be undefined or an Error, received ${shown}`);
    let called = false;
    const ran = await rejected(() => runTask(ctx, () => void (called = true)));
    expect(ran).toBeInstanceOf(TypeError);
    expect(called).toBe(false);
  });

  it.each([
    [null, "null"],
    [NaN, "NaN"],
    ["2030-01-01", '"2030-01-01"'],
    [new Date(0), "1970-01-01T00:00:00.000Z"],
  ])("deriving from a foreign context whose deadline is %o throws a TypeError naming its deadline; waiting on it does not", async (deadline, shown) => {
    const ctx = { ...shaped(undefined), deadline } as unknown as Context;
    const expected = `parent.deadline must be undefined or a number of epoch milliseconds, received ${shown}`;
    const timeout = thrown(() => withTimeout(ctx, 10));
    expect(timeout).toBeInstanceOf(TypeError);
    expect(timeout.message).toBe(`withTimeout: ${expected}`);
    expect(thrown(() => withDeadline(ctx, Date.now() + 10)).message).toBe(`withDeadline: ${expected}`);
    expect(thrown(() => withValue(ctx, createKey<number>("n"), 1)).message).toBe(`withValue: ${expected}`);
    expect(thrown(() => withCancel(ctx)).message).toBe(`withCancel: ${expected}`);
    expect(thrown(() => withCancelCause(ctx)).message).toBe(`withCancelCause: ${expected}`);
    expect(thrown(() => withSignal(ctx, new AbortController().signal)).message).toBe(`withSignal: ${expected}`);
    expect(liveCounts()).toMatchObject({ nodesWithChildren: 0, foreignListeners: 0, timers: 0 });
    // A wait reads no deadline, so it works under such a context as it did.
    await expect(sleep(ctx, 0)).resolves.toBeUndefined();
  });

  it("withCancel() refuses a foreign context whose deadline getter throws with a TypeError saying it cannot be read", () => {
    const ctx = Object.defineProperty({ ...shaped(undefined) }, "deadline", {
      get(): never {
        throw new RangeError("getter");
      },
    }) as unknown as Context;
    const err = thrown(() => withCancel(ctx));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("withCancel: parent.deadline cannot be read");
  });

  it("withTimeout() under a foreign context with a numeric deadline later than its own arms its own timer", () => {
    const ctx = { ...shaped(undefined), deadline: Date.now() + 60_000 } as unknown as Context;
    const timers = liveCounts().timers;
    const [child, cancel] = withTimeout(ctx, 10);
    try {
      expect(child.deadline).toBeLessThan(Date.now() + 1_000);
      expect(liveCounts().timers).toBe(timers + 1);
    } finally {
      cancel();
    }
  });

  it("withCancel() refuses a Proxy whose traps throw with a TypeError naming parent", () => {
    const hostile = new Proxy(
      {},
      {
        get(): never {
          throw new Error("trap");
        },
        has(): never {
          throw new Error("trap");
        },
      },
    );
    const err = thrown(() => withCancel(hostile as Context));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("withCancel: parent must be a Context, received <uninspectable value>");
  });
});

describe("a revoked Proxy as a context", () => {
  it("withCancel() and sleep() name it as a value that cannot be inspected, for a function Proxy too", async () => {
    const { proxy, revoke } = Proxy.revocable(() => undefined, {});
    revoke();
    expect(thrown(() => withCancel(proxy as unknown as Context)).message).toBe("withCancel: parent must be a Context, received <uninspectable value>");
    expect((await rejected(() => sleep(proxy as unknown as Context, 1))).message).toBe("sleep: ctx must be a Context, received <uninspectable value>");
  });
});

describe("runTask() options", () => {
  it("runTask() reads options.name once, so a getter that throws on a second read cannot make it throw", async () => {
    let reads = 0;
    const options = {
      get name(): string {
        if (++reads > 1) throw new Error("read twice");
        return "once";
      },
    };
    let p: Promise<number> | undefined;
    expect(() => (p = runTask(background(), () => 1, options))).not.toThrow();
    expect(await p).toBe(1);
    expect(reads).toBe(1);
  });
});

describe("withDeadline() and a Date", () => {
  it("withDeadline() accepts a Date made in another realm, as its own", () => {
    const at = Date.now() + 60_000;
    const foreign = runInNewContext(`new Date(${at})`) as Date;
    expect(foreign instanceof Date).toBe(false);
    const [ctx, cancel] = withDeadline(background(), foreign);
    expect([ctx.err, ctx.deadline]).toEqual([undefined, at]);
    cancel();
  });

  it("withDeadline() refuses an object that only claims to be a Date, with a TypeError naming at", () => {
    const fake = { [Symbol.toStringTag]: "Date", getTime: () => 0 };
    const err = thrown(() => withDeadline(background(), fake as unknown as Date));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/^withDeadline: at must be epoch milliseconds or a Date, received /);
  });
});

describe("a callback that is not a function", () => {
  it.each([
    ["nope", 'received "nope"'],
    [undefined, "received undefined"],
    [{}, "received <Object>"],
  ])("afterFunc() throws a TypeError naming fn and the value, for %o", (bad, received) => {
    const [ctx, cancel] = withCancel(background());
    const err = thrown(() => afterFunc(ctx, bad as () => void));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(`afterFunc: fn must be a function, ${received}`);
    expect(childCount(ctx)).toBe(0);
    cancel();
  });
});

describe("withSignal() with something that is not an AbortSignal", () => {
  it.each([
    [{}, "received <Object>"],
    [null, "received null"],
    [new AbortController(), "received <AbortController>"],
    [{ aborted: false }, "received <Object>"],
  ])("throws a TypeError naming signal and the value, for %o", (bad, received) => {
    const [parent, cancel] = withCancel(background());
    const err = thrown(() => withSignal(parent, bad as AbortSignal));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(`withSignal: signal must be an AbortSignal, ${received}`);
    expect(childCount(parent)).toBe(0);
    cancel();
  });
});

describe("the debug and testing tools with bad options", () => {
  it("trackLeaks() rejects options that are not an object, or an onLeak that is not a function, naming the value", () => {
    expect(() => trackLeaks(null as never)).toThrow(new TypeError("trackLeaks: options must be an object, received null"));
    expect(() => trackLeaks(5 as never)).toThrow(new TypeError("trackLeaks: options must be an object, received 5"));
    expect(() => trackLeaks({ onLeak: 5 as never })).toThrow(new TypeError("trackLeaks: options.onLeak must be a function, received 5"));
  });

  it("enableTrace() rejects a value that is not a boolean instead of reading it as on", () => {
    expect(() => enableTrace("off" as never)).toThrow(new TypeError('enableTrace: on must be a boolean, received "off"'));
  });
});
