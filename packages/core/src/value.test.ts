import { describe, expect, expectTypeOf, it } from "vitest";
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
  type Context,
  type Key,
} from "@tether/core";
import { ForeignContext, WrappedContext } from "./test-helpers/foreign.js";

describe("createKey()", () => {
  it("makes keys that compare by identity: two keys with the same name never collide", () => {
    const a = createKey<number>("id");
    const b = createKey<number>("id");
    const ctx = withValue(withValue(background(), a, 1), b, 2);
    expect(ctx.value(a)).toBe(1);
    expect(ctx.value(b)).toBe(2);
    expect(withValue(background(), a, 1).value(b)).toBeUndefined();
  });

  it("makes a key that prints as its name and cannot be changed", () => {
    const k = createKey<string>("requestId");
    expect(String(k)).toBe("requestId");
    expect(k.name).toBe("requestId");
    expect(Object.isFrozen(k)).toBe(true);
  });

  it("ties the value type to the key", () => {
    const k: Key<number> = createKey<number>("n");
    const ctx = withValue(background(), k, 42);
    expectTypeOf(ctx.value(k)).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: a string is not a number
    withValue(background(), k, "42");
    expect(ctx.value(k)).toBe(42);
  });

  it("withValue() takes the value's type from the key alone, so a value outside it does not widen it", () => {
    const mode = createKey<"fast" | "safe">("mode");
    // @ts-expect-error: "slow" is not a mode; inferring T from the value too would accept it
    expect(() => withValue(background(), mode, "slow")).not.toThrow();
    const port = createKey<number>("port");
    const raw = "8080" as string | number;
    // @ts-expect-error: a string | number is not a number
    withValue(background(), port, raw);
    const ctx = withValue(background(), mode, "safe");
    expectTypeOf(ctx.value(mode)).toEqualTypeOf<"fast" | "safe" | undefined>();
    expect(ctx.value(mode)).toBe("safe");
  });

  it("Context.value() refuses, at compile time, an object that only looks like a Key", () => {
    // @ts-expect-error: a Key is made by createKey(), not written by hand
    expect(() => background().value({ name: "userId" })).toThrow(TypeError);
  });
});

describe("Context.value()", () => {
  it("returns undefined for a key that was never set, at any depth", () => {
    const k = createKey<string>("missing");
    const other = createKey<string>("other");
    expect(background().value(k)).toBeUndefined();
    expect(todo().value(k)).toBeUndefined();
    expect(withValue(withValue(background(), other, "x"), other, "y").value(k)).toBeUndefined();
  });

  it("returns the nearest value: a closer withValue() shadows a farther one for that branch only", () => {
    const k = createKey<string>("k");
    const outer = withValue(background(), k, "outer");
    const inner = withValue(outer, k, "inner");
    const sibling = withValue(outer, createKey<string>("k"), "sibling");
    expect(inner.value(k)).toBe("inner");
    expect(outer.value(k)).toBe("outer");
    expect(sibling.value(k)).toBe("outer");
  });

  it("treats an undefined value as set: it shadows the value above", () => {
    const k = createKey<string | undefined>("k");
    const ctx = withValue(withValue(background(), k, "outer"), k, undefined);
    expect(ctx.value(k)).toBeUndefined();
  });

  it("returns the very object stored, not a copy", () => {
    const k = createKey<{ user: string }>("claims");
    const claims = { user: "ada" };
    expect(withValue(background(), k, claims).value(k)).toBe(claims);
  });

  it("looks through cancel, cancel-cause, timeout, deadline, signal and detached layers", () => {
    const a = createKey<string>("a");
    const b = createKey<string>("b");
    const cancels: Array<() => void> = [];
    const push = ([ctx, cancel]: [Context, () => void]): Context => {
      cancels.push(cancel);
      return ctx;
    };
    let ctx: Context = withValue(background(), a, "a");
    ctx = push(withCancel(ctx));
    ctx = push(withCancelCause(ctx));
    ctx = withValue(ctx, b, "b");
    ctx = push(withTimeout(ctx, 60_000));
    ctx = push(withDeadline(ctx, Date.now() + 60_000));
    ctx = withoutCancel(ctx);
    ctx = push(withSignal(ctx, new AbortController().signal));
    ctx = push(withCancel(ctx));
    expect(ctx.value(a)).toBe("a");
    expect(ctx.value(b)).toBe("b");
    for (const cancel of cancels) cancel();
    expect(ctx.value(a)).toBe("a");
  });

  it("keeps answering after the context is cancelled", () => {
    const k = createKey<number>("k");
    const [ctx, cancel] = withCancel(withValue(background(), k, 7));
    cancel();
    expect(ctx.value(k)).toBe(7);
  });

  it("asks a foreign parent's value() for keys no Tether layer holds", () => {
    const fromForeign = createKey<string>("fromForeign");
    const local = createKey<string>("local");
    const foreign = new ForeignContext().set(fromForeign, "framework");
    const [child, cancel] = withCancel(foreign);
    const leaf = withValue(withoutCancel(withValue(child, local, "mine")), fromForeign, "shadowed");
    expect(child.value(fromForeign)).toBe("framework");
    expect(child.value(local)).toBeUndefined();
    expect(withValue(child, local, "mine").value(fromForeign)).toBe("framework");
    expect(leaf.value(fromForeign)).toBe("shadowed");
    expect(leaf.value(local)).toBe("mine");
    cancel();
  });

  it("passes a key it does not recognise to a foreign parent, which may be another copy of Tether whose keys it is", () => {
    // Another copy's key is an object this copy did not make: only that copy can look it up.
    const theirs = { name: "user" } as unknown as Key<string>;
    const foreign = new ForeignContext().set(theirs, "ada");
    const [child, cancel] = withCancel(foreign);
    expect(withValue(child, createKey<number>("n"), 1).value(theirs)).toBe("ada");
    expect(() => background().value(theirs)).toThrow(/^value: key must be a Key made by createKey\(\), received /);
    // What is not even an object is no copy's key: refused here, whoever the parent.
    expect(() => child.value("user" as unknown as Key<string>)).toThrow(/^value: key must be a Key made by createKey\(\), received "user"$/);
    cancel();
  });

  it("reaches values above a wrapper around a Tether context", () => {
    const k = createKey<string>("k");
    const [inner, cancelInner] = withCancel(withValue(background(), k, "inner"));
    const [child, cancel] = withTimeout(new WrappedContext(inner), 60_000);
    expect(child.value(k)).toBe("inner");
    cancel();
    cancelInner();
  });
});
