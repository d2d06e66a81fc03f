import { describe, expect, expectTypeOf, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { Channel, ChannelClosedError, select } from "@tether/sync";
import { ticks, track } from "./test-helpers/settle.js";

/** The channel operations, done directly or through a one-case select. */
interface Ops {
  recv<T>(ctx: Context, ch: Channel<T>): Promise<IteratorResult<T, undefined>>;
  send<T>(ctx: Context, ch: Channel<T>, v: T): Promise<void>;
  tryRecv<T>(ch: Channel<T>): Promise<IteratorResult<T, undefined> | undefined>;
  trySend<T>(ch: Channel<T>, v: T): Promise<boolean>;
}

const direct: Ops = {
  recv: (ctx, ch) => ch.recv(ctx),
  send: (ctx, ch, v) => ch.send(ctx, v),
  tryRecv: async (ch) => ch.tryRecv(),
  trySend: async (ch, v) => ch.trySend(v),
};

const viaSelect: Ops = {
  recv: (ctx, ch) => select(ctx, [ch.recvCase((r) => r)]),
  send: (ctx, ch, v) => select(ctx, [ch.sendCase(v, () => undefined)]),
  tryRecv: (ch) => select(background(), [ch.recvCase((r) => r)], { default: () => undefined }),
  trySend: (ch, v) => select(background(), [ch.sendCase(v, () => true)], { default: () => false }),
};

const capacities = [0, 1, 2, 3, 4, 5, 6, 7, 8];

describe.each([
  ["directly", direct],
  ["through select", viaSelect],
] as const)("Channel operations %s", (how, ops) => {
  describe.each(capacities)("with capacity %i", (cap) => {
    it(`Channel(${cap}): a receive ${how} from an empty channel waits until a value is sent`, async () => {
      const ch = new Channel<number>(cap);
      const r = track(ops.recv(background(), ch));
      await ticks(5);
      expect(r.status).toBe("pending");
      expect(ch.waiting).toBe(1);
      expect(await ops.trySend(ch, 1)).toBe(true);
      await ticks(2);
      expect(r.value).toEqual({ value: 1, done: false });
      expect(ch.waiting).toBe(0);
      expect(ch.length).toBe(0);
    });

    it(`Channel(${cap}): a send ${how} to a full channel waits until a receive makes room`, async () => {
      const ch = new Channel<number>(cap);
      for (let i = 0; i < cap; i++) expect(await ops.trySend(ch, i)).toBe(true);
      expect(await ops.trySend(ch, -1)).toBe(false);
      expect(ch.length).toBe(cap);
      const s = track(ops.send(background(), ch, cap));
      await ticks(5);
      expect(s.status).toBe("pending");
      expect(ch.waiting).toBe(1);
      expect(await ops.tryRecv(ch)).toEqual({ value: 0, done: false });
      await ticks(2);
      expect(s.status).toBe("fulfilled");
      expect(ch.length).toBe(cap);
      for (let i = 1; i <= cap; i++) expect(await ops.tryRecv(ch)).toEqual({ value: i, done: false });
      expect(await ops.tryRecv(ch)).toBeUndefined();
    });

    it(`Channel(${cap}): values ${how} arrive in the order sent, from the buffer and then the queued senders`, async () => {
      const ch = new Channel<number>(cap);
      const sends = Array.from({ length: cap + 5 }, (_, i) => ops.send(background(), ch, i));
      expect(ch.waiting).toBe(5);
      const got: unknown[] = [];
      for (let i = 0; i < cap + 5; i++) got.push((await ops.recv(background(), ch)).value);
      await Promise.all(sends);
      expect(got).toEqual(Array.from({ length: cap + 5 }, (_, i) => i));
      expect(ch.waiting).toBe(0);
    });

    it(`Channel(${cap}): 4 senders × 1,000 values ${how} are each received exactly once, in each sender's order`, async () => {
      const ch = new Channel<number>(cap);
      const sender = async (id: number): Promise<void> => {
        for (let i = 0; i < 1000; i++) await ops.send(background(), ch, id * 1000 + i);
      };
      const got: number[] = [];
      const receiver = async (): Promise<void> => {
        for (;;) {
          const r = await ops.recv(background(), ch);
          if (r.done) return;
          got.push(r.value);
        }
      };
      const receivers = [receiver(), receiver()];
      await Promise.all([sender(0), sender(1), sender(2), sender(3)]);
      ch.close();
      await Promise.all(receivers);
      expect(got).toHaveLength(4000);
      expect(new Set(got).size).toBe(4000);
      for (let id = 0; id < 4; id++) {
        const mine = got.filter((v) => Math.floor(v / 1000) === id);
        expect(mine).toEqual(Array.from({ length: 1000 }, (_, i) => id * 1000 + i));
      }
      expect(ch.waiting).toBe(0);
    });

    it(`Channel(${cap}): close() wakes receivers blocked ${how} with { done: true }`, async () => {
      const ch = new Channel<number>(cap);
      const a = track(ops.recv(background(), ch));
      const b = track(ops.recv(background(), ch));
      await ticks(3);
      expect(ch.waiting).toBe(2);
      ch.close();
      await ticks(2);
      expect(a.value).toEqual({ value: undefined, done: true });
      expect(b.value).toEqual({ value: undefined, done: true });
      expect(ch.waiting).toBe(0);
    });

    it(`Channel(${cap}): close() rejects senders blocked ${how} with their value and keeps the buffer for receivers`, async () => {
      const ch = new Channel<string>(cap);
      for (let i = 0; i < cap; i++) ch.trySend(`buffered ${i}`);
      const s1 = track(ops.send(background(), ch, "x"));
      const s2 = track(ops.send(background(), ch, "y"));
      await ticks(3);
      ch.close();
      await ticks(2);
      expect(s1.error).toBeInstanceOf(ChannelClosedError);
      expect((s1.error as ChannelClosedError).value).toBe("x");
      expect((s2.error as ChannelClosedError).value).toBe("y");
      for (let i = 0; i < cap; i++) expect(await ops.recv(background(), ch)).toEqual({ value: `buffered ${i}`, done: false });
      expect(await ops.recv(background(), ch)).toEqual({ value: undefined, done: true });
      expect(await ops.tryRecv(ch)).toEqual({ value: undefined, done: true });
      expect(ch.waiting).toBe(0);
    });

    it(`Channel(${cap}): a send ${how} on a closed channel rejects with a ChannelClosedError carrying the value`, async () => {
      const ch = new Channel<number>(cap);
      ch.close();
      const err = await ops.send(background(), ch, 7).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelClosedError);
      expect((err as ChannelClosedError).value).toBe(7);
      await expect(ops.trySend(ch, 8)).rejects.toMatchObject({ name: "ChannelClosedError", value: 8 });
    });

    it(`Channel(${cap}): a receive ${how} cancelled while waiting rejects with ctx.err and swallows no later value`, async () => {
      const ch = new Channel<number>(cap);
      const [ctx, cancel] = withCancel(background());
      const r = track(ops.recv(ctx, ch));
      await ticks(2);
      cancel();
      await ticks(2);
      expect(r.error).toBe(Canceled);
      expect(ch.waiting).toBe(0);
      expect(ch.trySend(1)).toBe(cap > 0);
      if (cap > 0) expect(ch.tryRecv()).toEqual({ value: 1, done: false });
    });

    it(`Channel(${cap}): a send ${how} cancelled while waiting rejects with ctx.err and its value is never received`, async () => {
      const ch = new Channel<number>(cap);
      for (let i = 0; i < cap; i++) ch.trySend(i);
      const [ctx, cancel] = withCancel(background());
      const s = track(ops.send(ctx, ch, 99));
      await ticks(2);
      cancel();
      await ticks(2);
      expect(s.error).toBe(Canceled);
      expect(ch.waiting).toBe(0);
      for (let i = 0; i < cap; i++) expect(ch.tryRecv()).toEqual({ value: i, done: false });
      expect(ch.tryRecv()).toBeUndefined();
    });

    it(`Channel(${cap}): operations ${how} on an already-cancelled context reject even when they could complete`, async () => {
      const ch = new Channel<number>(cap);
      const [ctx, cancel] = withCancel(background());
      cancel();
      const waitingRecv = track(ch.recv(background()));
      await expect(ops.send(ctx, ch, 1)).rejects.toBe(Canceled);
      expect(waitingRecv.status).toBe("pending");
      ch.trySend(2);
      await ticks(1);
      expect(waitingRecv.value).toEqual({ value: 2, done: false });
      if (cap > 0) ch.trySend(3);
      else void ch.send(background(), 3);
      await expect(ops.recv(ctx, ch)).rejects.toBe(Canceled);
      expect(ch.tryRecv()).toEqual({ value: 3, done: false });
    });
  });
});

describe("Channel", () => {
  it("Channel: an unbuffered send completes only once a receiver has the value", async () => {
    const ch = new Channel<string>();
    const s = track(ch.send(background(), "hi"));
    await ticks(10);
    expect(s.status).toBe("pending");
    expect(ch.length).toBe(0);
    expect(await ch.recv(background())).toEqual({ value: "hi", done: false });
    await ticks(1);
    expect(s.status).toBe("fulfilled");
  });

  it("Channel: a value sent while a receiver's context is being cancelled is not handed to that receiver", async () => {
    const ch = new Channel<number>();
    const [ctx, cancel] = withCancel(background());
    let sent: boolean | undefined;
    // An abort listener runs inside cancel(), after ctx.err is set and before the receiver hears of it.
    ctx.signal.addEventListener("abort", () => (sent = ch.trySend(1)));
    const plain = track(ch.recv(ctx));
    const viaSelect = track(select(ctx, [ch.recvCase()]));
    cancel();
    await ticks(2);
    expect(sent).toBe(false);
    expect([plain.error, viaSelect.error]).toEqual([Canceled, Canceled]);
    expect(ch.waiting).toBe(0);
  });

  it("Channel.close() twice throws a ChannelClosedError and leaves the channel closed", () => {
    const ch = new Channel<number>(1);
    ch.trySend(1);
    ch.close();
    expect(() => ch.close()).toThrow(new ChannelClosedError("Channel.close: the channel is already closed"));
    expect(ch.closed).toBe(true);
    expect(ch.tryRecv()).toEqual({ value: 1, done: false });
  });

  it("Channel.trySend() on a closed channel throws a ChannelClosedError carrying the value", () => {
    const ch = new Channel<number>(1);
    ch.close();
    let err: unknown;
    try {
      ch.trySend(4);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect((err as ChannelClosedError).message).toBe("Channel.trySend: the channel is closed");
    expect((err as ChannelClosedError).value).toBe(4);
  });

  it("Channel reports capacity, length and closed", () => {
    const ch = new Channel<number>(3);
    expect([ch.capacity, ch.length, ch.closed]).toEqual([3, 0, false]);
    ch.trySend(1);
    ch.trySend(2);
    expect(ch.length).toBe(2);
    ch.close();
    expect([ch.length, ch.closed]).toEqual([2, true]);
    expect(new Channel().capacity).toBe(0);
  });

  it("new Channel() rejects a capacity that is not a whole number ≥ 0, naming it and the value", () => {
    expect(() => new Channel(-1)).toThrow(new RangeError("Channel: capacity must be a whole number ≥ 0, received -1"));
    expect(() => new Channel(1.5)).toThrow(RangeError);
    expect(() => new Channel(Number.NaN)).toThrow(RangeError);
    expect(() => new Channel("2" as unknown as number)).toThrow(TypeError);
  });

  it("Channel: a buffer that grew past its first size keeps the order", () => {
    const ch = new Channel<number>(100);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 37; i++) expect(ch.trySend(round * 100 + i)).toBe(true);
      for (let i = 0; i < 37; i++) expect(ch.tryRecv()).toEqual({ value: round * 100 + i, done: false });
    }
    for (let i = 0; i < 100; i++) ch.trySend(i);
    expect(ch.trySend(100)).toBe(false);
    for (let i = 0; i < 100; i++) expect(ch.tryRecv()?.value).toBe(i);
  });

  it("Channel: `for await` receives every value and ends at close", async () => {
    const ch = new Channel<number>(2);
    const producer = (async () => {
      for (let i = 0; i < 10; i++) await ch.send(background(), i);
      ch.close();
    })();
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("Channel.values() throws ctx.err when cancelled while waiting and leaves no waiter", async () => {
    const ch = new Channel<number>();
    const [ctx, cancel] = withCancel(background());
    const got: number[] = [];
    const loop = (async () => {
      for await (const v of ch.values(ctx)) got.push(v);
    })();
    await ch.send(background(), 1);
    await ticks(2);
    cancel();
    await expect(loop).rejects.toBe(Canceled);
    expect(got).toEqual([1]);
    expect(ch.waiting).toBe(0);
  });

  it("Channel.values(): leaving the loop early leaves nothing queued and takes no more values", async () => {
    const ch = new Channel<number>(3);
    ch.trySend(1);
    ch.trySend(2);
    for await (const v of ch.values(background())) {
      expect(v).toBe(1);
      break;
    }
    expect(ch.waiting).toBe(0);
    expect(ch.tryRecv()).toEqual({ value: 2, done: false });
  });

  it("Channel.values(): return() withdraws a receive still waiting, which resolves done, and ends the iterator", async () => {
    const ch = new Channel<number>();
    const it = ch.values(background());
    const pending = it.next();
    expect(ch.waiting).toBe(1);
    await expect(it.return?.()).resolves.toEqual({ value: undefined, done: true });
    expect(ch.waiting).toBe(0);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    // Nothing is taken for an iterator that ended: the value stays for another receiver.
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
    expect(ch.trySend(7)).toBe(false);
  });

  it("Channel.values(): return() withdraws every receive still waiting, however many next() calls made them", async () => {
    const ch = new Channel<number>();
    const it = ch.values(background());
    const first = it.next();
    const second = it.next();
    expect(ch.waiting).toBe(2);
    await it.return?.();
    expect(ch.waiting).toBe(0);
    expect(await Promise.all([first, second])).toEqual([
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
    expect(ch.trySend(1)).toBe(false);
  });

  it("Channel.values(): return() after its receive was served leaves that value to the pending next()", async () => {
    const ch = new Channel<number>();
    const it = ch.values(background());
    const pending = it.next();
    expect(ch.trySend(7)).toBe(true);
    await it.return?.();
    await expect(pending).resolves.toEqual({ value: 7, done: false });
  });

  it("Channel.values(): return(value) resolves with that value, as an async generator's does, and withdraws the receive", async () => {
    const ch = new Channel<number>();
    const it = ch.values(background());
    const pending = it.next();
    await expect(it.return?.(42)).resolves.toEqual({ value: 42, done: true });
    await expect(it.return?.(Promise.resolve("awaited"))).resolves.toEqual({ value: "awaited", done: true });
    expect(ch.waiting).toBe(0);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });

  it("Channel.values(): throw(err) withdraws the receive still waiting, ends the iterator and rejects with err", async () => {
    const ch = new Channel<number>();
    const it = ch.values(background());
    const pending = it.next();
    const mine = new Error("mine");
    await expect(it.throw?.(mine)).rejects.toBe(mine);
    expect(ch.waiting).toBe(0);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
    expect(ch.trySend(1)).toBe(false);
  });

  it("Channel.values(): an error thrown into a generator that delegates to it with yield* reaches the caller", async () => {
    const ch = new Channel<number>(2);
    ch.trySend(1);
    ch.trySend(2);
    async function* outer(): AsyncGenerator<number, void, undefined> {
      yield* ch.values(background());
    }
    const gen = outer();
    await expect(gen.next()).resolves.toEqual({ value: 1, done: false });
    const mine = new Error("mine");
    await expect(gen.throw(mine)).rejects.toBe(mine);
    // The delegated iterator ended without taking the value still buffered.
    expect(ch.tryRecv()).toEqual({ value: 2, done: false });
    expect(ch.waiting).toBe(0);
  });

  it("Channel.values(): await using ends the iterator when the block is left, withdrawing its receive", async () => {
    const ch = new Channel<number>();
    let pending: Promise<IteratorResult<number, undefined>> | undefined;
    {
      await using it = ch.values(background());
      pending = it.next();
      expect(ch.waiting).toBe(1);
    }
    expect(ch.waiting).toBe(0);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(ch.trySend(1)).toBe(false);
  });

  it("Channel.recvCase() and sendCase() throw a TypeError for a callback that is not a function", () => {
    const ch = new Channel<number>();
    expect(() => ch.recvCase(1 as unknown as () => void)).toThrow(/Channel.recvCase: fn must be a function, received 1/);
    expect(() => ch.sendCase(1, "x" as unknown as () => void)).toThrow(TypeError);
  });

  it("Channel.send() and recv() reject with a TypeError naming ctx, and the channel is untouched", async () => {
    const ch = new Channel<number>(1);
    await expect(ch.send(null as unknown as Context, 1)).rejects.toThrow(/Channel.send: ctx must be a Context, received null/);
    await expect(ch.recv(undefined as unknown as Context)).rejects.toThrow(/Channel.recv: ctx must be a Context/);
    expect([ch.length, ch.waiting]).toEqual([0, 0]);
  });

  it("Channel.toString() shows buffer use, waiters and closure", () => {
    const ch = new Channel<number>(8);
    ch.trySend(1);
    expect(String(ch)).toBe("Channel(1/8 buffered, 0 waiting)");
    ch.close();
    expect(String(ch)).toBe("Channel(closed, 1/8 buffered, 0 waiting)");
  });

  it("Channel has the public types of the design", () => {
    const ch = new Channel<number>();
    expectTypeOf(ch.recv).returns.toEqualTypeOf<Promise<IteratorResult<number, undefined>>>();
    expectTypeOf(ch.tryRecv).returns.toEqualTypeOf<IteratorResult<number, undefined> | undefined>();
    expectTypeOf(ch.send).parameters.toEqualTypeOf<[Context, number]>();
    expectTypeOf(ch).toMatchTypeOf<AsyncIterable<number>>();
    expectTypeOf<ConstructorParameters<typeof Channel>>().toEqualTypeOf<[capacity?: number]>();
    // The types are checked by tsc; at run time the same shape holds.
    expect(typeof ch[Symbol.asyncIterator]).toBe("function");
    expect(ch.capacity).toBe(0);
    expect(ch.tryRecv()).toBeUndefined();
  });

  it("a Channel<number> is not a Channel<number | string>, so no helper can send it a string", () => {
    const feed = (c: Channel<number | string>): boolean => c.trySend("oops");
    const nums = new Channel<number>(1);
    // @ts-expect-error: a channel is read and written, so its type may neither widen nor narrow
    expect(feed(nums)).toBe(true);
    // What the type check prevents: a string in a channel of numbers.
    expect(nums.tryRecv()).toEqual({ done: false, value: "oops" });
  });
});

describe("Channel.capacity", () => {
  it("Channel.capacity cannot be assigned at run time", () => {
    const ch = new Channel<number>(1);
    expect(() => {
      (ch as { capacity: number }).capacity = 2;
    }).toThrow(TypeError);
    expect(ch.capacity).toBe(1);
    expect([ch.trySend(1), ch.trySend(2)]).toEqual([true, false]);
  });
});
