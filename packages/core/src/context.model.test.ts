import { setMaxListeners } from "node:events";
import { expect, it, vi } from "vitest";
import {
  DeadlineExceeded,
  Canceled,
  afterFunc,
  background,
  cause,
  createKey,
  withCancel,
  withCancelCause,
  withDeadline,
  withSignal,
  withTimeout,
  withValue,
  withoutCancel,
  type Context,
} from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { explore, seedCount, type Rng } from "../../../test/model.js";

// The context tree against a synchronous reference model: random derivations of every kind,
// cancels, signal aborts, fake-clock advances, afterFunc registrations and stops, and cancels fired
// from inside other contexts' abort listeners. After every operation each context's err and cause,
// its signal and done, and every callback count must match the model.

type Kind = "cancel" | "cause" | "timeout" | "deadline" | "value" | "detach" | "signal";
type Op =
  | { op: "derive"; kind: Kind; parent: number; ms: number; withCause: boolean }
  | { op: "cancel"; target: number; withCause: boolean }
  | { op: "abort"; target: number }
  | { op: "advance"; ms: number }
  | { op: "afterFunc"; target: number }
  | { op: "stop"; target: number }
  | { op: "observe"; target: number }
  | { op: "chain"; from: number; to: number };

const KINDS: readonly Kind[] = ["cancel", "cause", "timeout", "deadline", "value", "detach", "signal"];

function generate(rng: Rng): Op[] {
  const ops: Op[] = [];
  const n = 20 + rng.int(40);
  for (let i = 0; i < n; i++) {
    const r = rng.int(100);
    if (r < 40) ops.push({ op: "derive", kind: rng.pick(KINDS), parent: rng.int(1_000), ms: rng.int(50), withCause: rng.chance(0.5) });
    else if (r < 55) ops.push({ op: "cancel", target: rng.int(1_000), withCause: rng.chance(0.5) });
    else if (r < 60) ops.push({ op: "abort", target: rng.int(1_000) });
    else if (r < 70) ops.push({ op: "advance", ms: rng.int(30) });
    else if (r < 78) ops.push({ op: "afterFunc", target: rng.int(1_000) });
    else if (r < 83) ops.push({ op: "stop", target: rng.int(1_000) });
    else if (r < 92) ops.push({ op: "observe", target: rng.int(1_000) });
    else ops.push({ op: "chain", from: rng.int(1_000), to: rng.int(1_000) });
  }
  return ops;
}

type Err = "C" | "D" | undefined;
interface MNode {
  parent: number;
  kind: Kind | "root";
  /** The deadline this node's own timer enforces, if it has one. */
  timer: { at: number; seq: number } | undefined;
  deadline: number | undefined;
  deadlineCause: unknown;
  err: Err;
  cause: unknown;
  chains: number[];
}
interface Real {
  ctx: Context;
  cancel: ((cause?: unknown) => void) | undefined;
  ac: AbortController | undefined;
  aborts: number;
  doneSettled: boolean;
  observed: boolean;
  /** Whether the abort listener was added before the abort (a later one never runs). */
  listenedAlive: boolean;
}

/** A plain check: vitest's expect is too slow for the millions of comparisons a run makes. */
function same(actual: unknown, expected: unknown, where: string): void {
  if (!Object.is(actual, expected)) throw new Error(`${where}: expected ${String(expected)}, got ${String(actual)}`);
}

async function flush(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve();
}

async function check(ops: Op[], seed: number): Promise<void> {
  vi.useFakeTimers({ now: 1_000_000 });
  // The root is a value layer over background(), not background() itself: a layer that can never
  // be cancelled has a signal and a done of its own, so the listeners and reactions that "observe"
  // and "chain" put on the root die with the seed. On background()'s shared pair they would pile
  // up, each holding its seed's whole tree, and a long run would slow down and grow without bound.
  const real: Real[] = [{ ctx: withValue(background(), createKey<number>("seed"), seed), cancel: undefined, ac: undefined, aborts: 0, doneSettled: false, observed: false, listenedAlive: false }];
  const model: MNode[] = [{ parent: -1, kind: "root", timer: undefined, deadline: undefined, deadlineCause: undefined, err: undefined, cause: undefined, chains: [] }];
  const afters: Array<{ target: number; stop: () => boolean; calls: number; stopped: boolean; due: boolean }> = [];
  let now = 1_000_000;
  let seq = 0;
  const key = createKey<number>("depth");
  const at = (where: string, detail: string): string => `seed ${seed}, ${where}: ${detail}`;

  const cancelModel = (i: number, err: Err, why: unknown): void => {
    const queue: number[] = [];
    const wave = (j: number): void => {
      const m = model[j] as MNode;
      if (m.err !== undefined || m.kind === "detach" || m.kind === "root") return;
      m.err = err;
      m.cause = why;
      queue.push(...m.chains);
      model.forEach((c, k) => {
        if (c.parent === j) wave(k);
      });
    };
    wave(i);
    for (const afterIndex of afters.keys()) {
      const a = afters[afterIndex];
      if (a !== undefined && !a.stopped && !a.due && model[a.target]?.err !== undefined) a.due = true;
    }
    for (const to of queue) if (real[to]?.cancel !== undefined) cancelModel(to, "C", Canceled);
  };
  const canceled = (i: number): boolean => (model[i] as MNode).err !== undefined;

  try {
    for (const [step, op] of ops.entries()) {
      const count = real.length;
      switch (op.op) {
        case "derive": {
          const p = op.parent % count;
          const pm = model[p] as MNode;
          const parent = (real[p] as Real).ctx;
          const why = op.withCause ? new Error(`deadline cause ${step}`) : undefined;
          const node: MNode = { parent: p, kind: op.kind, timer: undefined, deadline: pm.kind === "detach" ? undefined : pm.deadline, deadlineCause: undefined, err: undefined, cause: undefined, chains: [] };
          const r: Real = { ctx: parent, cancel: undefined, ac: undefined, aborts: 0, doneSettled: false, observed: false, listenedAlive: false };
          let expireNow = false;
          if (op.kind === "cancel") [r.ctx, r.cancel] = withCancel(parent);
          else if (op.kind === "cause") [r.ctx, r.cancel] = withCancelCause(parent);
          else if (op.kind === "value") r.ctx = withValue(parent, key, real.length);
          else if (op.kind === "detach") {
            r.ctx = withoutCancel(parent);
            node.deadline = undefined;
          } else if (op.kind === "signal") {
            r.ac = new AbortController();
            [r.ctx, r.cancel] = withSignal(parent, r.ac.signal);
          } else {
            const deadline = op.kind === "timeout" ? now + op.ms : now + op.ms - 5;
            [r.ctx, r.cancel] = op.kind === "timeout" ? withTimeout(parent, op.ms, why) : withDeadline(parent, deadline, why);
            const pd = node.deadline;
            if (pd === undefined || deadline < pd) {
              node.deadline = deadline;
              node.deadlineCause = why;
              if (deadline <= now) expireNow = true;
              else node.timer = { at: deadline, seq: seq++ };
            }
          }
          model.push(node);
          real.push(r);
          // Deriving from a cancelled parent gives a cancelled child with the parent's err and cause.
          if (op.kind !== "detach" && pm.err !== undefined && pm.kind !== "detach") {
            node.err = pm.err;
            node.cause = pm.cause;
          } else if (expireNow) cancelModel(real.length - 1, "D", why ?? DeadlineExceeded);
          break;
        }
        case "cancel": {
          const t = op.target % count;
          const r = real[t] as Real;
          if (r.cancel === undefined) break;
          const isCause = (model[t] as MNode).kind === "cause";
          const why = isCause && op.withCause ? new Error(`cause ${step}`) : undefined;
          r.cancel(why);
          cancelModel(t, "C", why ?? Canceled);
          break;
        }
        case "abort": {
          const signals = real.map((r, i) => [r, i] as const).filter(([r]) => r.ac !== undefined);
          if (signals.length === 0) break;
          const [r, i] = signals[op.target % signals.length] as readonly [Real, number];
          const reason = { step };
          const wasAborted = (r.ac as AbortController).signal.aborted;
          (r.ac as AbortController).abort(reason);
          if (!wasAborted) cancelModel(i, "C", reason);
          break;
        }
        case "advance": {
          const target = now + op.ms;
          for (;;) {
            let next: number | undefined;
            model.forEach((m, i) => {
              if (m.timer === undefined || m.err !== undefined || m.timer.at > target) return;
              const best = next === undefined ? undefined : (model[next] as MNode).timer;
              if (best === undefined || m.timer.at < best.at || (m.timer.at === best.at && m.timer.seq < best.seq)) next = i;
            });
            if (next === undefined) break;
            const m = model[next] as MNode;
            vi.advanceTimersByTime((m.timer as { at: number }).at - now);
            now = (m.timer as { at: number }).at;
            m.timer = undefined;
            cancelModel(next, "D", m.deadlineCause ?? DeadlineExceeded);
          }
          vi.advanceTimersByTime(target - now);
          now = target;
          break;
        }
        case "afterFunc": {
          const t = op.target % count;
          const entry = { target: t, stop: () => false, calls: 0, stopped: false, due: canceled(t) };
          entry.stop = afterFunc((real[t] as Real).ctx, () => entry.calls++);
          afters.push(entry);
          break;
        }
        case "stop": {
          if (afters.length === 0) break;
          const a = afters[op.target % afters.length] as (typeof afters)[number];
          const expected = !a.stopped && !a.due;
          same(a.stop(), expected, at(`step ${step} stop()`, JSON.stringify(op)));
          a.stopped = true;
          break;
        }
        case "observe": {
          const r = real[op.target % count] as Real;
          if (r.observed) break;
          r.observed = true;
          r.listenedAlive = !canceled(op.target % count);
          // Value layers share their node's signal; the test's own listeners may pass Node's 10.
          setMaxListeners(Infinity, r.ctx.signal);
          r.ctx.signal.addEventListener("abort", () => r.aborts++);
          void r.ctx.done.then(() => (r.doneSettled = true));
          break;
        }
        case "chain": {
          const from = op.from % count;
          const to = op.to % count;
          const target = real[to] as Real;
          if (target.cancel === undefined || canceled(from)) break;
          setMaxListeners(Infinity, (real[from] as Real).ctx.signal);
          (real[from] as Real).ctx.signal.addEventListener("abort", () => target.cancel?.());
          (model[from] as MNode).chains.push(to);
          break;
        }
      }
      await flush();
      real.forEach((r, i) => {
        const m = model[i] as MNode;
        const where = (): string => at(`after step ${step} ${JSON.stringify(op)}`, `context ${i} ${String(r.ctx)}`);
        const err = m.err === "C" ? Canceled : m.err === "D" ? DeadlineExceeded : undefined;
        if (r.ctx.err !== err) same(r.ctx.err, err, where());
        const why = m.err === undefined ? undefined : m.cause;
        if (cause(r.ctx) !== why) same(cause(r.ctx), why, where());
        if (r.observed) {
          same(r.ctx.signal.aborted, m.err !== undefined, where());
          same(r.aborts, m.err !== undefined && r.listenedAlive ? 1 : 0, where());
          same(r.doneSettled, m.err !== undefined, where());
          if (m.err !== undefined) same(r.ctx.signal.reason, m.cause, where());
        }
      });
      for (const a of afters) same(a.calls, a.due ? 1 : 0, at(`after step ${step}`, `afterFunc on ${a.target}`));
    }
  } finally {
    for (const r of real) r.cancel?.();
    for (const a of afters) a.stop();
    vi.useRealTimers();
  }
  same(liveCounts().timers, 0, `seed ${seed}: timers left`);
  same(liveCounts().nodesWithChildren, 0, `seed ${seed}: nodes left with children`);
}

it(`the context tree agrees with its reference model over ${seedCount().toLocaleString("en-US")} seeded random schedules`, async () => {
  const ran = await explore<Op>({ name: "context tree", generate, check });
  expect(ran).toBeGreaterThanOrEqual(2_000);
}, 60_000 + seedCount() * 10);
