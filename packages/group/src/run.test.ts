import { describe, expect, expectTypeOf, it } from "vitest";
import { Canceled, background, cause, sleep, until, withCancel, type Context } from "@tether/core";
import { Group, map, run } from "@tether/group";

describe("run()", () => {
  it("run() on a cancelled context rejects with ctx.err and calls no task", async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    let calls = 0;
    await expect(run(ctx, () => calls++, () => calls++)).rejects.toBe(Canceled);
    expect(calls).toBe(0);
  });

  it("run() calls every task even when an earlier one throws synchronously, then cancels them with that error", async () => {
    const invalid = new Error("validation failed");
    const seen: Array<[string, boolean]> = [];
    const later = async (ctx: Context): Promise<string> => {
      seen.push(["called", ctx.err === undefined]);
      await sleep(ctx, 60_000).catch(() => undefined);
      seen.push(["cancelled by", cause(ctx) === invalid]);
      return "later";
    };
    await expect(
      run(
        background(),
        () => {
          throw invalid;
        },
        later,
      ),
    ).rejects.toBe(invalid);
    expect(seen).toEqual([
      ["called", true],
      ["cancelled by", true],
    ]);
  });

  it("run() attaches to a promise a task hands back after an earlier task's synchronous failure, so its rejection is handled", async () => {
    const running = Promise.reject(new Error("already running, failed too"));
    let handed = false;
    const ran = run(
      background(),
      () => {
        throw new Error("first");
      },
      () => {
        handed = true;
        return running;
      },
    );
    await expect(ran).rejects.toThrow("first");
    expect(handed).toBe(true);
  });

  it("run() with no tasks resolves with an empty tuple", async () => {
    const out = await run(background());
    expect(out).toEqual([]);
    expectTypeOf(out).toEqualTypeOf<[]>();
  });

  it("run() resolves with each task's result in order, as an inferred tuple", async () => {
    const out = await run(
      background(),
      () => 1,
      async () => "two",
      async function* () {
        yield;
        return { three: true } as const;
      },
    );
    expectTypeOf(out).toEqualTypeOf<[number, string, { readonly three: true }]>();
    expect(out).toEqual([1, "two", { three: true }]);
  });

  it("run() rejects with the first error, cancels the siblings with it as cause, and settles after their finally", async () => {
    const log: string[] = [];
    const first = new Error("first");
    const contexts: Context[] = [];
    const sibling = (name: string) =>
      async function* (ctx: Context) {
        contexts.push(ctx);
        try {
          yield* until(new Promise(() => {}));
        } finally {
          await sleep(background(), 2);
          log.push(`${name} finally`);
        }
      };
    const p = run(
      background(),
      sibling("a"),
      async () => {
        await Promise.resolve();
        throw first;
      },
      sibling("b"),
      async () => {
        await sleep(background(), 1);
        throw new Error("second");
      },
    ).catch((e: unknown) => {
      log.push("run settled");
      throw e;
    });
    await expect(p).rejects.toBe(first);
    expect(log).toHaveLength(3);
    expect(log.slice(0, 2).sort()).toEqual(["a finally", "b finally"]);
    expect(log[2]).toBe("run settled");
    for (const ctx of contexts) {
      expect(ctx.err).toBe(Canceled);
      expect(cause(ctx)).toBe(first);
    }
  });

  it("run() counts a synchronous throw as an error", async () => {
    const boom = new Error("sync");
    let siblingCtx: Context | undefined;
    await expect(
      run(
        background(),
        (ctx) => {
          siblingCtx = ctx;
          return sleep(ctx, 1_000);
        },
        () => {
          throw boom;
        },
      ),
    ).rejects.toBe(boom);
    expect(cause(siblingCtx as Context)).toBe(boom);
  });

  it("run() cancels its child context once it has settled, even on success", async () => {
    let seen: Context | undefined;
    await run(background(), (ctx) => {
      seen = ctx;
    });
    expect(seen?.err).toBe(Canceled);
  });

  it("run() rejects a task that is not a function, naming it", async () => {
    await expect(run(background(), () => 1, "nope" as never)).rejects.toThrow(/run: tasks\[1\] must be a function, received "nope"/);
  });
});

describe("a generator task that yields a value, started by group functions", () => {
  it("run(), Group and map() reject with a TypeError that names no function the caller did not call", async () => {
    const task = async function* (): AsyncGenerator<unknown, void, unknown> {
      yield 5;
    };
    const fromRun = await run(background(), task).catch((e: unknown) => e);
    const g = new Group(background());
    g.go(task);
    const fromGroup = await g.wait().catch((e: unknown) => e);
    const fromMap = await map(background(), [1], task).catch((e: unknown) => e);
    for (const err of [fromRun, fromGroup, fromMap]) {
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(/^a generator task may only yield nothing \(a checkpoint\) or delegate with yield\* until\(promise\), received 5/);
    }
  });
});
