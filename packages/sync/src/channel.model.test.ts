import { expect, it } from "vitest";
import { Canceled, type Context } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { Channel, ChannelClosedError, select, type SelectCase } from "@tether/sync";
import { explore, prng, seedCount, type Rng } from "../../../test/model.js";
import { Contexts, SHARED, assertNothingLive, flush, same, show } from "./test-helpers/model-kit.js";
import { track, type Tracked } from "./test-helpers/settle.js";

// Channels and select against a synchronous reference model: per channel a buffer, a FIFO of
// waiting receivers and one of waiting senders (a waiting select has an entry in the queue of each
// of its cases), and a closed flag. Each seed picks 1–3 channels of capacity 0–4 and runs random
// sends, receives, trySends, tryRecvs, closes (some twice), cancels of contexts in a small tree,
// and selects over 0–3 cases mixing receives and sends, with and without default, with and
// without callbacks. Every value sent is unique, so a value lost or delivered twice shows.
//
// After each operation and a microtask flush, every channel's `length`, `closed` and `waiting`, and
// how every operation so far has settled (the value received, `done`, the case a select committed,
// or the very error: `ctx.err`, or a ChannelClosedError carrying the unsent value) must match the
// model. At the end every context is cancelled, every channel drained; the values received must be
// exactly those whose send succeeded, each once, no waiter may be left, and Tether's live counters
// must be zero.
//
// Select's choice among several cases ready at the call is random (uniform, Math.random). The
// model does not predict it: it computes the set of ready cases, checks that the case the real
// select committed (read from its result, or from the value a ChannelClosedError carries) is one
// of them, and then follows that choice. A select that has to wait has no such freedom: the
// operation that wakes it is served strictly in queue order, which the model predicts exactly.
// Math.random is replaced, for the duration of a check, by a PRNG seeded from the seed and the
// select's own id, so that a failing list replays exactly and each select chooses the same way
// whichever other operations the shrinker removes; the model still never predicts the choice.
//
// Operations name what they act on by stable ids, never by position, for the same reason: a wait
// has an id, its context is shared context `ctx` or (own) a child of it of its own, and a cancel
// names a shared context or the wait whose own context it cancels.

type CaseSpec = { ch: number; send: boolean; v: number; fn: boolean };
type Op =
  | { op: "send"; id: number; ch: number; v: number; ctx: number; own: boolean }
  | { op: "recv"; id: number; ch: number; ctx: number; own: boolean }
  | { op: "trySend"; ch: number; v: number }
  | { op: "tryRecv"; ch: number }
  | { op: "close"; ch: number }
  | { op: "select"; id: number; cases: CaseSpec[]; dflt: boolean; ctx: number; own: boolean }
  | { op: "cancel"; ctx: number }
  | { op: "cancel"; of: number };

/** The channels' capacities for a seed: the first draws of its PRNG, so check() can recompute them. */
function capacitiesOf(rng: Rng): number[] {
  return Array.from({ length: 1 + rng.int(3) }, () => rng.int(5));
}

function generate(rng: Rng): Op[] {
  const chans = capacitiesOf(rng).length;
  // Values start at 100 so that they do not look like ids or channel numbers in a report.
  let next = 100;
  const ops: Op[] = [];
  const owns: number[] = [];
  const count = 20 + rng.int(50);
  for (let id = 0; id < count; id++) {
    const r = rng.int(100);
    const ch = rng.int(chans);
    const own = rng.chance(0.6);
    const ctx = rng.int(SHARED);
    if (r < 20) ops.push({ op: "send", id, ch, v: next++, ctx, own });
    else if (r < 38) ops.push({ op: "recv", id, ch, ctx, own });
    else if (r < 45) ops.push({ op: "trySend", ch, v: next++ });
    else if (r < 52) ops.push({ op: "tryRecv", ch });
    else if (r < 54) ops.push({ op: "close", ch });
    else if (r < 80) {
      const n = rng.chance(0.05) ? 0 : 1 + rng.int(3);
      const cases = Array.from({ length: n }, () => ({ ch: rng.int(chans), send: rng.chance(0.5), v: next++, fn: rng.chance(0.3) }));
      ops.push({ op: "select", id, cases, dflt: rng.chance(0.3), ctx, own });
    } else if (owns.length > 0 && rng.chance(0.85)) {
      // A recent wait, where the pending ones usually are.
      ops.push({ op: "cancel", of: owns[owns.length - 1 - rng.int(Math.min(owns.length, 6))] as number });
    } else ops.push({ op: "cancel", ctx });
    const last = ops[ops.length - 1] as Op;
    if ("own" in last && last.own) owns.push(id);
  }
  return ops;
}

/** What a select resolves with when it takes default. */
const DEFAULT = Symbol("default");

type Res = { value: number | undefined; done: boolean };
/** A case's result as select reports it, with or without a callback (ours return the same shape). */
type CaseRes = { index: number; value: number | undefined; done: boolean };
type Outcome =
  | { s: "pending" }
  | { s: "ok"; value: Res | CaseRes | typeof DEFAULT | undefined }
  | { s: "canceled" }
  | { s: "closed"; value: number };

/** One send, recv or select that returned a promise: the real one, and the model's verdict. */
interface Wait {
  step: number;
  kind: "send" | "recv" | "select";
  op: Op;
  ctx: number;
  real: Tracked<unknown>;
  expect: Outcome;
  /** Settled, and seen to agree with the model: a settled promise cannot change again. */
  verified: boolean;
}

/** A wait's place in one channel queue: a plain send or recv (index -1), or one select case. */
interface Entry {
  w: Wait;
  index: number;
  /** The value a send offers. */
  value: number | undefined;
}

interface MChan {
  cap: number;
  buf: number[];
  recvq: Entry[];
  sendq: Entry[];
  closed: boolean;
}

const DRAINED: Res = { value: undefined, done: true };

async function check(ops: Op[], seed: number): Promise<void> {
  const before = liveCounts();
  const caps = capacitiesOf(prng(seed));
  const chans = caps.map((cap) => new Channel<number>(cap));
  const model: MChan[] = caps.map((cap) => ({ cap, buf: [], recvq: [], sendq: [], closed: false }));
  const ctxs = new Contexts();
  // Select's source of randomness, reseeded before each select (a vi.spyOn costs twice the run).
  const random = Math.random;
  let choose = random;
  Math.random = () => choose();
  const waits: Wait[] = [];
  // Independent of the model: what the real code says was sent and received.
  const sentOk: number[] = [];
  const received: number[] = [];
  const label = `seed ${seed} (capacities ${caps.join(",")})`;
  let where = (): string => `${label}, before any step`;

  // ---- the reference model ----

  /** Takes a settled select's other entries out of every queue. */
  const withdraw = (w: Wait): void => {
    for (const m of model) {
      m.recvq = m.recvq.filter((e) => e.w !== w);
      m.sendq = m.sendq.filter((e) => e.w !== w);
    }
  };
  /** Completes a queued wait (already shifted out of its queue) with a receive's result or a send's. */
  const complete = (e: Entry, res: Res | undefined): void => {
    if (e.w.kind === "select") {
      withdraw(e.w);
      e.w.expect = { s: "ok", value: { index: e.index, value: res?.value, done: res?.done ?? false } };
    } else e.w.expect = { s: "ok", value: res };
  };
  /** Fails a queued send (or select send case) because its channel closed. */
  const failClosed = (e: Entry): void => {
    if (e.w.kind === "select") withdraw(e.w);
    e.w.expect = { s: "closed", value: e.value as number };
  };
  /** Delivers or buffers `v` if possible without waiting. */
  const offer = (m: MChan, v: number): "done" | "blocked" | "closed" => {
    if (m.closed) return "closed";
    const r = m.recvq.shift();
    if (r !== undefined) {
      complete(r, { value: v, done: false });
      return "done";
    }
    if (m.buf.length < m.cap) {
      m.buf.push(v);
      return "done";
    }
    return "blocked";
  };
  /** Takes the next value if one is ready: from the buffer (refilled by the head sender), else the head sender. */
  const take = (m: MChan): Res | undefined => {
    if (m.buf.length > 0) {
      const value = m.buf.shift() as number;
      const s = m.sendq.shift();
      if (s !== undefined) {
        m.buf.push(s.value as number);
        complete(s, undefined);
      }
      return { value, done: false };
    }
    const s = m.sendq.shift();
    if (s !== undefined) {
      complete(s, undefined);
      return { value: s.value, done: false };
    }
    return m.closed ? DRAINED : undefined;
  };
  const canSend = (m: MChan): boolean => m.closed || m.recvq.length > 0 || m.buf.length < m.cap;
  const canRecv = (m: MChan): boolean => m.buf.length > 0 || m.sendq.length > 0 || m.closed;
  const cancel = (target: number | undefined): void => {
    if (target === undefined) return;
    ctxs.cancel(target);
    for (const w of waits) {
      if (w.expect.s !== "pending" || ctxs.cancelled[w.ctx] !== true) continue;
      withdraw(w);
      w.expect = { s: "canceled" };
    }
  };

  // ---- comparing the real code with the model ----

  const sameRes = (actual: unknown, expected: Res | CaseRes | undefined, what: () => string): void => {
    if (expected === undefined) return same(actual, undefined, what);
    const a = actual as Partial<CaseRes> | undefined;
    same(typeof a, "object", what);
    if ("index" in expected) same(a?.index, expected.index, () => `${what()} (index)`);
    same(a?.value, expected.value, () => `${what()} (value)`);
    same(a?.done, expected.done, () => `${what()} (done)`);
  };
  const compare = (): void => {
    chans.forEach((ch, i) => {
      const m = model[i] as MChan;
      same(ch.length, m.buf.length, () => `${where()}: channel ${i} length`);
      same(ch.closed, m.closed, () => `${where()}: channel ${i} closed`);
      same(ch.waiting, m.recvq.length + m.sendq.length, () => `${where()}: channel ${i} waiting`);
    });
    for (const w of waits) {
      if (w.verified) continue;
      const what = (): string => `${where()}: ${w.kind} of step ${w.step} ${JSON.stringify(w.op)} (expected ${show(w.expect)})`;
      const e = w.expect;
      if (e.s === "pending") {
        same(w.real.status, "pending", what);
        continue;
      }
      if (e.s === "ok") {
        same(w.real.status, "fulfilled", what);
        if (e.value === DEFAULT) same(w.real.value, DEFAULT, what);
        else sameRes(w.real.value, e.value, what);
      } else {
        same(w.real.status, "rejected", what);
        if (e.s === "canceled") same(w.real.error, Canceled, what);
        else {
          same(w.real.error instanceof ChannelClosedError, true, what);
          same((w.real.error as ChannelClosedError).value, e.value, () => `${what()} (the error's value)`);
        }
      }
      w.verified = true;
    }
  };
  /** Runs `fn`, which must throw a ChannelClosedError carrying `value`. */
  const expectClosedError = (fn: () => unknown, value: number | undefined, what: string): void => {
    let thrown: unknown;
    try {
      fn();
    } catch (e) {
      thrown = e;
    }
    same(thrown instanceof ChannelClosedError, true, () => `${where()}: ${what} threw ChannelClosedError (got ${show(thrown)})`);
    same((thrown as ChannelClosedError).value, value, () => `${where()}: ${what}'s ChannelClosedError value`);
  };
  /** A real select case for a spec; with a callback, it reports the same shape as without one. */
  const realCase = (c: CaseSpec, i: number): SelectCase<unknown> => {
    const ch = chans[c.ch] as Channel<number>;
    if (c.send) return c.fn ? ch.sendCase(c.v, () => ({ index: i, value: undefined, done: false })) : ch.sendCase(c.v);
    return c.fn ? ch.recvCase((r) => ({ index: i, value: r.value, done: r.done })) : ch.recvCase();
  };
  const start = (step: number, op: Op & { id: number; ctx: number; own: boolean }, kind: Wait["kind"], call: (ctx: Context) => Promise<unknown>): Wait => {
    const c = ctxs.forWait(op.id, op.ctx, op.own);
    const w: Wait = { step, kind, op, ctx: c, real: track(call(ctxs.ctx[c] as Context)), expect: { s: "pending" }, verified: false };
    waits.push(w);
    // A cancelled context rejects at once, even when the operation could complete.
    if (ctxs.cancelled[c] === true) w.expect = { s: "canceled" };
    return w;
  };

  try {
    for (const [step, op] of ops.entries()) {
      where = () => `${label}, after step ${step} ${JSON.stringify(op)}`;
      switch (op.op) {
        case "send": {
          const m = model[op.ch] as MChan;
          const w = start(step, op, "send", (ctx) => (chans[op.ch] as Channel<number>).send(ctx, op.v));
          if (w.expect.s !== "pending") break;
          const r = offer(m, op.v);
          if (r === "done") w.expect = { s: "ok", value: undefined };
          else if (r === "closed") w.expect = { s: "closed", value: op.v };
          else m.sendq.push({ w, index: -1, value: op.v });
          break;
        }
        case "recv": {
          const m = model[op.ch] as MChan;
          const w = start(step, op, "recv", (ctx) => (chans[op.ch] as Channel<number>).recv(ctx));
          if (w.expect.s !== "pending") break;
          const r = take(m);
          if (r !== undefined) w.expect = { s: "ok", value: r };
          else m.recvq.push({ w, index: -1, value: undefined });
          break;
        }
        case "trySend": {
          const ch = chans[op.ch] as Channel<number>;
          const m = model[op.ch] as MChan;
          if (m.closed) {
            expectClosedError(() => ch.trySend(op.v), op.v, `trySend(${op.v})`);
            break;
          }
          const ok = ch.trySend(op.v);
          if (ok) sentOk.push(op.v);
          same(ok, offer(m, op.v) === "done", () => `${where()}: trySend(${op.v})`);
          break;
        }
        case "tryRecv": {
          const got = (chans[op.ch] as Channel<number>).tryRecv();
          if (got !== undefined && got.done === false) received.push(got.value);
          sameRes(got, take(model[op.ch] as MChan), () => `${where()}: tryRecv()`);
          break;
        }
        case "close": {
          const ch = chans[op.ch] as Channel<number>;
          const m = model[op.ch] as MChan;
          if (m.closed) {
            expectClosedError(() => ch.close(), undefined, "a second close()");
            break;
          }
          ch.close();
          // Waiting receivers see done (the buffer is empty whenever one waits); then waiting
          // senders fail, each with its own value. A select woken here withdraws its other cases.
          m.closed = true;
          for (let e = m.recvq.shift(); e !== undefined; e = m.recvq.shift()) complete(e, DRAINED);
          for (let e = m.sendq.shift(); e !== undefined; e = m.sendq.shift()) failClosed(e);
          break;
        }
        case "select": {
          choose = prng(Math.imul(seed, 0x9e3779b1) ^ op.id).next;
          const w = start(step, op, "select", (ctx) =>
            select(ctx, op.cases.map(realCase), op.dflt ? { default: () => DEFAULT } : undefined),
          );
          if (w.expect.s !== "pending") break;
          const ms = op.cases.map((c) => model[c.ch] as MChan);
          const ready = op.cases.flatMap((c, i) => ((c.send ? canSend(ms[i] as MChan) : canRecv(ms[i] as MChan)) ? [i] : []));
          if (ready.length === 0) {
            if (op.dflt) w.expect = { s: "ok", value: DEFAULT };
            else op.cases.forEach((c, i) => ((c.send ? ms[i]?.sendq : ms[i]?.recvq) as Entry[]).push({ w, index: i, value: c.send ? c.v : undefined }));
            break;
          }
          // Several cases may be ready: read which one the real select committed, check that it
          // was ready, then follow it. It settles within the flush.
          await flush();
          const what = (): string => `${where()}: select with cases ${JSON.stringify(ready)} ready`;
          let chosen: number;
          if (w.real.status === "fulfilled") {
            same(w.real.value === DEFAULT, false, () => `${what()} took default`);
            chosen = (w.real.value as CaseRes).index;
          } else if (w.real.status === "rejected" && w.real.error instanceof ChannelClosedError) {
            const v = w.real.error.value;
            chosen = op.cases.findIndex((c) => c.send && c.v === v);
          } else throw new Error(`${what()}: expected it to commit a ready case, got ${w.real.status} ${show(w.real.error)}`);
          same(ready.includes(chosen), true, () => `${what()}: committed case ${chosen}, which was not ready`);
          const c = op.cases[chosen] as CaseSpec;
          const m = ms[chosen] as MChan;
          if (!c.send) {
            const r = take(m) as Res;
            w.expect = { s: "ok", value: { index: chosen, value: r.value, done: r.done } };
          } else if (m.closed) w.expect = { s: "closed", value: c.v };
          else {
            offer(m, c.v);
            w.expect = { s: "ok", value: { index: chosen, value: undefined, done: false } };
          }
          break;
        }
        case "cancel":
          cancel("of" in op ? ctxs.ownOf(op.of) : ctxs.shared(op.ctx));
          break;
      }
      await flush();
      compare();
    }

    where = () => `${label}, after cancelling every context`;
    for (let i = 0; i < ctxs.length; i++) cancel(i);
    await flush();
    compare();
    chans.forEach((ch, i) => same(ch.waiting, 0, () => `${where()}: channel ${i} waiters left`));
    // Drain what is buffered: it must be what the model holds, in order.
    chans.forEach((ch, i) => {
      const m = model[i] as MChan;
      for (let got = ch.tryRecv(); got !== undefined && !got.done; got = ch.tryRecv()) {
        same(got.value, m.buf.shift(), () => `${where()}: draining channel ${i}`);
        received.push(got.value);
      }
      same(m.buf.length, 0, () => `${where()}: values left in the model's buffer of channel ${i}`);
    });
  } finally {
    // On a failure too, so that nothing is left queued for the shared after-test check.
    ctxs.cancelAll();
    Math.random = random;
  }

  // No value lost or doubled, judged from the real results alone: every value whose send
  // succeeded was received exactly once, and no other value was.
  for (const w of waits) {
    if (w.real.status !== "fulfilled") continue;
    const op = w.op;
    if (op.op === "send") sentOk.push(op.v);
    else if (op.op === "recv") {
      const r = w.real.value as Res;
      if (!r.done) received.push(r.value as number);
    } else if (op.op === "select" && w.real.value !== DEFAULT) {
      const r = w.real.value as CaseRes;
      const c = op.cases[r.index] as CaseSpec;
      if (c.send) sentOk.push(c.v);
      else if (!r.done) received.push(r.value as number);
    }
  }
  const got = new Set(received);
  same(got.size, received.length, () => `${label}: a value was received twice: ${JSON.stringify(received)}`);
  const sent = new Set(sentOk);
  for (const v of received) same(sent.has(v), true, () => `${label}: value ${v} received but its send did not succeed`);
  for (const v of sentOk) same(got.has(v), true, () => `${label}: value ${v} was sent but never received`);
  assertNothingLive(before, () => `${label}, at the end`);
}

it(`channels and select agree with their reference model over ${seedCount().toLocaleString("en-US")} seeded random schedules`, async () => {
  const ran = await explore<Op>({ name: "channel", generate, check });
  expect(ran).toBeGreaterThanOrEqual(2_000);
}, 60_000 + seedCount() * 10);
