import { describe, expect, expectTypeOf, it } from "vitest";
import { Canceled, background, withCancel, type Context } from "@tether/core";
import { Channel, ChannelClosedError, select, type RecvCaseResult, type SendCaseResult } from "@tether/sync";
import { ticks, track } from "./test-helpers/settle.js";

/** Asserts that each count is within 10 standard deviations of a uniform choice's mean. */
function expectUniform(counts: readonly number[], trials: number): void {
  const p = 1 / counts.length;
  const mean = trials * p;
  const sd = Math.sqrt(trials * p * (1 - p));
  for (const [i, c] of counts.entries()) {
    expect(Math.abs(c - mean), `case ${i} chosen ${c} times of ${trials}, mean ${mean}`).toBeLessThanOrEqual(10 * sd);
  }
}

describe("select", () => {
  it("select() chooses uniformly among ready receive cases over 10,000 trials", async () => {
    const chans = [new Channel<number>(1), new Channel<number>(1), new Channel<number>(1)];
    for (const ch of chans) ch.trySend(0);
    const counts = [0, 0, 0];
    const trials = 10_000;
    for (let t = 0; t < trials; t++) {
      const i = await select(background(), chans.map((ch, k) => ch.recvCase(() => k)));
      counts[i] = (counts[i] ?? 0) + 1;
      chans[i]?.trySend(0);
    }
    expectUniform(counts, trials);
    expect(counts.reduce((a, b) => a + b)).toBe(trials);
    for (const ch of chans) expect(ch.length).toBe(1);
  });

  it("select() chooses uniformly among ready receive and send cases over 10,000 trials", async () => {
    const full = [new Channel<number>(1), new Channel<number>(1)];
    const empty = [new Channel<number>(1), new Channel<number>(1)];
    for (const ch of full) ch.trySend(0);
    const counts = [0, 0, 0, 0];
    const trials = 10_000;
    for (let t = 0; t < trials; t++) {
      const cases = [full[0]!.recvCase(), full[1]!.recvCase(), empty[0]!.sendCase(1), empty[1]!.sendCase(1)];
      const { index } = await select(background(), cases);
      counts[index] = (counts[index] ?? 0) + 1;
      if (index < 2) full[index]!.trySend(0);
      else empty[index - 2]!.tryRecv();
    }
    expectUniform(counts, trials);
  });

  it("select() never takes default while a case is ready, and takes it when none is", async () => {
    const parkedSend = new Channel<number>();
    const buffered = new Channel<number>(1);
    const full = new Channel<number>(1);
    const parkedRecv = new Channel<number>();
    full.trySend(-1);
    for (let t = 0; t < 1000; t++) {
      // One case at most is made ready: 0 a sender waits, 1 a value is buffered, 2 the full buffer
      // has room, 3 a receiver waits, 4 none.
      const ready = t % 5;
      let parked: Promise<unknown> | undefined;
      if (ready === 0) parked = parkedSend.send(background(), t);
      if (ready === 1) buffered.trySend(t);
      if (ready === 2) full.tryRecv();
      if (ready === 3) parked = parkedRecv.recv(background());
      const cases = [parkedSend.recvCase(), buffered.recvCase(), full.sendCase(t), parkedRecv.sendCase(t)];
      const r = await select(background(), cases, { default: () => "default" as const });
      if (ready === 4) expect(r).toBe("default");
      else expect(r).toMatchObject({ index: ready });
      await parked;
      expect(full.length).toBe(1);
    }
    for (const ch of [parkedSend, buffered, full, parkedRecv]) expect(ch.waiting).toBe(0);
    expect(buffered.length).toBe(0);
  });

  it("select() with default and nothing ready queues nothing anywhere", async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    b.trySend(0);
    const r = await select(background(), [a.recvCase(), a.sendCase(1), b.sendCase(2)], { default: () => 7 });
    expect(r).toBe(7);
    expect(a.waiting + b.waiting).toBe(0);
    expect(b.tryRecv()).toEqual({ value: 0, done: false });
  });

  it("select() resolves with { index, value, done } for cases without a callback", async () => {
    const ch = new Channel<string>(1);
    ch.trySend("v");
    expect(await select(background(), [new Channel<string>().recvCase(), ch.recvCase()])).toEqual({ index: 1, value: "v", done: false });
    expect(await select(background(), [ch.sendCase("w")])).toEqual({ index: 0, value: undefined, done: false });
    ch.tryRecv();
    ch.close();
    expect(await select(background(), [ch.recvCase()])).toEqual({ index: 0, value: undefined, done: true });
  });

  it("select() awaits an async callback and rejects with what a callback or default throws", async () => {
    const ch = new Channel<number>(1);
    ch.trySend(1);
    expect(await select(background(), [ch.recvCase(async (r) => (r.value ?? 0) + 1)])).toBe(2);
    const boom = new Error("boom");
    ch.trySend(1);
    await expect(
      select(background(), [
        ch.recvCase(() => {
          throw boom;
        }),
      ]),
    ).rejects.toBe(boom);
    expect(ch.length).toBe(0);
    await expect(
      select(background(), [ch.recvCase()], {
        default: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    const late = track(select(background(), [ch.recvCase(() => Promise.reject(boom))]));
    ch.trySend(5);
    await ticks(5);
    expect(late.error).toBe(boom);
  });

  it("select() commits the cases it queued, whatever the caller does to its array while it waits", async () => {
    const ch = new Channel<number>();
    const other = new Channel<number>();
    const cases = [ch.recvCase((r) => `ch got ${r.value}`)];
    const replaced = select(background(), cases);
    cases[0] = other.recvCase(() => "other");
    expect(ch.trySend(1)).toBe(true);
    await expect(replaced).resolves.toBe("ch got 1");
    const emptied = [ch.recvCase((r) => r.value)];
    const shortened = select(background(), emptied);
    emptied.length = 0;
    expect(ch.trySend(2)).toBe(true);
    await expect(shortened).resolves.toBe(2);
    expect(other.waiting).toBe(0);
  });

  it("select() may list the same channel twice and takes only one value", async () => {
    const ch = new Channel<number>();
    const sel = track(select(background(), [ch.recvCase(() => "first"), ch.recvCase(() => "second")]));
    await ticks(2);
    expect(ch.waiting).toBe(2);
    const s1 = ch.send(background(), 1);
    await ticks(3);
    expect(["first", "second"]).toContain(sel.value);
    expect(ch.waiting).toBe(0);
    await s1;
    expect(ch.trySend(2)).toBe(false);

    const buf = new Channel<number>(2);
    buf.trySend(1);
    buf.trySend(2);
    const r = await select(background(), [buf.recvCase(), buf.recvCase()]);
    expect(r.value).toBe(1);
    expect(buf.length).toBe(1);
  });

  it("select() with a receive and a send on the same unbuffered channel does not pair with itself", async () => {
    const ch = new Channel<number>();
    const sel = track(select(background(), [ch.recvCase((r) => `got ${r.value}`), ch.sendCase(1, () => "sent")]));
    await ticks(5);
    expect(sel.status).toBe("pending");
    expect(ch.waiting).toBe(2);
    expect(ch.tryRecv()).toEqual({ value: 1, done: false });
    await ticks(2);
    expect(sel.value).toBe("sent");
    expect(ch.waiting).toBe(0);
  });

  it("select() that loses leaves no waiter on any channel and takes nothing later", async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const sel = track(select(background(), [a.recvCase(), b.recvCase()]));
    const other = track(select(background(), [a.recvCase(() => "other")]));
    await ticks(2);
    expect(a.waiting).toBe(2);
    await a.send(background(), 1);
    await ticks(2);
    expect(sel.value).toEqual({ index: 0, value: 1, done: false });
    expect(other.status).toBe("pending");
    expect(a.waiting).toBe(1);
    expect(b.waiting).toBe(0);
    expect(b.trySend(2)).toBe(false);
    a.close();
    await ticks(2);
    expect(other.value).toBe("other");
    expect(a.waiting).toBe(0);
  });

  it("select() whose losing send case's channel is closed later leaves no rejection behind", async () => {
    const out = new Channel<number>();
    const inbox = new Channel<number>();
    const sel = track(select(background(), [out.sendCase(1, () => "sent"), inbox.recvCase(() => "received")]));
    await inbox.send(background(), 5);
    await ticks(2);
    expect(sel.value).toBe("received");
    out.close();
    await ticks(5);
    expect(out.waiting).toBe(0);
    expect(sel.status).toBe("fulfilled");
  });

  it("select() cancelled while waiting rejects with ctx.err and leaves no waiter on any channel", async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    b.trySend(0);
    const [ctx, cancel] = withCancel(background());
    const sel = track(select(ctx, [a.recvCase(), a.sendCase(1), b.sendCase(2)]));
    await ticks(2);
    expect(a.waiting).toBe(2);
    expect(b.waiting).toBe(1);
    cancel();
    await ticks(1);
    expect(sel.error).toBe(Canceled);
    expect(a.waiting + b.waiting).toBe(0);
    expect(a.trySend(3)).toBe(false);
    expect(b.tryRecv()).toEqual({ value: 0, done: false });
    expect(b.tryRecv()).toBeUndefined();
  });

  it("select() on an already-cancelled context rejects even with a case ready, and commits nothing", async () => {
    const ch = new Channel<number>(1);
    ch.trySend(1);
    const [ctx, cancel] = withCancel(background());
    cancel();
    let called = false;
    await expect(select(ctx, [ch.recvCase(() => (called = true))], { default: () => true })).rejects.toBe(Canceled);
    expect(called).toBe(false);
    expect(ch.length).toBe(1);
    ch.tryRecv();
  });

  it("select() that picks a send on a closed channel rejects with a ChannelClosedError carrying the value", async () => {
    const ch = new Channel<number>(1);
    ch.close();
    const err = await select(background(), [ch.sendCase(4)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect(err).toMatchObject({ value: 4, message: "select: cases[0] sends on a closed channel" });
  });

  it("select() blocked on a send whose channel closes rejects and withdraws its other cases", async () => {
    const out = new Channel<number>();
    const other = new Channel<number>();
    const sel = track(select(background(), [out.sendCase(8), other.recvCase()]));
    await ticks(2);
    out.close();
    await ticks(1);
    expect(sel.error).toBeInstanceOf(ChannelClosedError);
    expect((sel.error as ChannelClosedError).value).toBe(8);
    expect((sel.error as Error).message).toBe("select: cases[0] sends on a channel closed while the select waited");
    expect(other.waiting).toBe(0);
  });

  it("select() with no cases takes default, or waits until ctx is cancelled", async () => {
    expect(await select(background(), [], { default: () => "idle" })).toBe("idle");
    const [ctx, cancel] = withCancel(background());
    const sel = track(select(ctx, []));
    await ticks(5);
    expect(sel.status).toBe("pending");
    cancel();
    await ticks(1);
    expect(sel.error).toBe(Canceled);
  });

  it("select() rejects with a TypeError naming what is wrong with its arguments", async () => {
    const ch = new Channel<number>();
    await expect(select(null as unknown as Context, [])).rejects.toThrow(/select: ctx must be a Context, received null/);
    await expect(select(background(), 3 as unknown as [])).rejects.toThrow(/select: cases must be an array/);
    await expect(select(background(), [ch.recvCase(), {} as never])).rejects.toThrow(/select: cases\[1\] must be a case made by recvCase\(\) or sendCase\(\), received <Object>/);
    await expect(select(background(), [], { default: 1 as unknown as () => void })).rejects.toThrow(/select: options.default must be a function, received 1/);
    await expect(select(background(), [], null as never)).rejects.toThrow(/select: options must be an object, received null/);
    expect(ch.waiting).toBe(0);
  });

  it("select() tags each callback-less case's result with its position, so checking index narrows the value", async () => {
    const nums = new Channel<number>(1);
    const strs = new Channel<string>(1);
    strs.trySend("s");
    const r = await select(background(), [nums.recvCase(), strs.recvCase(), nums.sendCase(1)]);
    let got: string | number | undefined;
    if (r.index === 1 && !r.done) {
      expectTypeOf(r.value).toEqualTypeOf<string>();
      got = r.value.toUpperCase();
    } else if (r.index === 0 && !r.done) {
      expectTypeOf(r.value).toEqualTypeOf<number>();
      got = r.value;
    }
    expect([r.index, got]).toEqual(r.index === 1 ? [1, "S"] : [2, undefined]);
    if (r.index === 2) expect(nums.tryRecv()).toEqual({ done: false, value: 1 });
  });

  it("select() infers its result type from the cases and the default", () => {
    const nums = new Channel<number>();
    const strs = new Channel<string>();
    // Checked by the type checker only: never called, so no select is left waiting.
    const typesOnly = (): void => {
      expectTypeOf(select(background(), [nums.recvCase((r) => r.value), strs.sendCase("x", () => "sent")])).resolves.toEqualTypeOf<number | undefined | string>();
      expectTypeOf(select(background(), [nums.recvCase()])).resolves.toEqualTypeOf<
        { index: 0; value: number; done: false } | { index: 0; value: undefined; done: true }
      >();
      expectTypeOf(select(background(), [strs.sendCase("x")], { default: () => null })).resolves.toEqualTypeOf<{
        index: 0;
        value: undefined;
        done: false;
      } | null>();
      expectTypeOf(select(background(), [nums.recvCase()])).resolves.toMatchTypeOf<RecvCaseResult<number>>();
      expectTypeOf(select(background(), [strs.sendCase("x")])).resolves.toMatchTypeOf<SendCaseResult>();
      expectTypeOf(select(background(), [nums.recvCase(async () => "s")])).resolves.toEqualTypeOf<string>();
      // @ts-expect-error: a Channel<number> takes numbers only
      nums.sendCase("no");
      const fallback: { default?: () => string } = {};
      expectTypeOf(select(background(), [nums.recvCase(() => "got")], { default: fallback.default })).resolves.toEqualTypeOf<string>();
      // @ts-expect-error: a case is made by recvCase() or sendCase(), not written by hand
      void select(background(), [{}]);
    };
    expect(typeof typesOnly).toBe("function");
  });
});
