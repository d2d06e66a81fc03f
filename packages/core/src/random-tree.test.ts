import { describe, expect, it, vi } from "vitest";
import {
  Canceled,
  DeadlineExceeded,
  afterFunc,
  background,
  cause,
  createKey,
  withCancel,
  withCancelCause,
  withSignal,
  withTimeout,
  withValue,
  withoutCancel,
  type Context,
} from "@tether/core";
import { childCount, liveCounts } from "@tether/core/testing";
import { microtasks } from "./test-helpers/flush.js";
import { ForeignContext, WrappedContext } from "./test-helpers/foreign.js";
import { Rng } from "./test-helpers/prng.js";

// A random tree of contexts is driven by random steps (cancel, abort a signal, let the next deadline
// pass, derive, stop an afterFunc), some cancels fired from inside abort listeners. Beside it runs a
// model that knows nothing of the implementation: a node is done iff it, or an ancestor up to the
// nearest withoutCancel, was cancelled or expired, and the first such event fixes err and cause.

type Kind = "value" | "cancel" | "cancelCause" | "timeout" | "detach" | "signal" | "wrap" | "foreign";

interface Node {
  id: number;
  kind: Kind;
  parent: Node | undefined;
  ctx: Context;
  children: Node[];
  /** The model: what err, cause and deadline the context must report. */
  err: Error | undefined;
  cause: unknown;
  deadline: number | undefined;
  /** How this node is ended directly, if it can be. */
  cancel: (() => void) | undefined;
  cancelCalled: boolean;
  ac: AbortController | undefined;
  /** For withSignal: the reason its signal aborts with. */
  reason: unknown;
  /** For withTimeout: the model's side of the expiry, run just before the fake clock reaches `at`. */
  expire: (() => void) | undefined;
  timerPending: boolean;
  at: number;
  listener: { armed: boolean; runs: number } | undefined;
  /** Set when the test read `done`: whether it has resolved. */
  done: { resolved: boolean } | undefined;
}

interface Probe {
  node: Node;
  runs: number;
  stop: () => boolean;
  stopped: boolean;
  prevented: boolean;
}

const KINDS: Array<[Kind, number]> = [
  ["value", 20], ["cancel", 20], ["cancelCause", 15], ["timeout", 20],
  ["detach", 7], ["signal", 10], ["wrap", 5], ["foreign", 3],
];
const TETHER_CANCELLABLE = new Set<Kind>(["cancel", "cancelCause", "timeout", "signal"]);
const key = createKey<number>("id");

function errFor(reason: unknown): Error {
  return reason instanceof Error && reason.name === "TimeoutError" ? DeadlineExceeded : Canceled;
}

/** The node whose cancellation `n` shares: itself, or the nearest one above through value and wrap layers. */
function srcOf(n: Node | undefined): Node | undefined {
  while (n !== undefined && (n.kind === "value" || n.kind === "wrap")) n = n.parent;
  return n;
}

/** The id stored by the nearest value layer at or above `n`: what `n.ctx.value(key)` must return. */
function nearestValue(n: Node | undefined): number | undefined {
  for (; n !== undefined; n = n.parent) if (n.kind === "value") return n.id;
  return undefined;
}

class World {
  readonly nodes: Node[] = [];
  readonly probes: Probe[] = [];
  readonly usedAts = new Set<number>();
  /** Mismatches seen from inside abort listeners, where the tree must already be consistent. */
  readonly inListener: string[] = [];

  constructor(readonly rng: Rng) {}

  /** The model's event: `n` and its subtree, up to detached layers, become done unless already. */
  mark(n: Node, err: Error, why: unknown): void {
    if (n.err !== undefined) return;
    n.err = err;
    n.cause = why;
    n.timerPending = false;
    for (const c of n.children) if (c.kind !== "detach") this.mark(c, err, why);
  }

  pickKind(parent: Node | undefined): Kind {
    const total = KINDS.reduce((s, [, w]) => s + w, 0);
    let r = this.rng.int(total);
    let kind: Kind = "value";
    for (const [k, w] of KINDS) {
      if (r < w) {
        kind = k;
        break;
      }
      r -= w;
    }
    // Wrappers only over Tether nodes that can be cancelled. Around a never-cancelled context a
    // wrapper costs a listener (leaks.test.ts covers that); around a foreign root it gets a bridge of
    // its own beside the root's, so the root's abort reaches the two sets of descendants in two
    // passes (one per listener on the root's signal), and a listener run by the first pass may see
    // the second set still alive: a limit of following a foreign signal, not checked here.
    const src = srcOf(parent);
    if (kind === "wrap" && (src === undefined || !TETHER_CANCELLABLE.has(src.kind))) return "value";
    return kind;
  }

  create(parent: Node | undefined): Node {
    const rng = this.rng;
    const kind = this.pickKind(parent);
    const p = parent?.ctx ?? background();
    const id = this.nodes.length;
    const n: Node = {
      id, kind, parent, ctx: p, children: [], err: parent?.err, cause: parent?.cause, deadline: parent?.deadline,
      cancel: undefined, cancelCalled: false, ac: undefined, reason: undefined, expire: undefined, timerPending: false, at: 0, listener: undefined,
      done: undefined,
    };
    switch (kind) {
      case "value":
        n.ctx = withValue(p, key, id);
        break;
      case "wrap":
        n.ctx = new WrappedContext(p);
        break;
      case "detach":
        n.ctx = withoutCancel(p);
        n.err = n.cause = n.deadline = undefined;
        break;
      case "foreign": {
        const f = new ForeignContext();
        const reason = new Error(`foreign #${id} aborted`);
        n.ctx = f;
        n.parent = undefined;
        n.err = n.cause = n.deadline = undefined;
        n.cancel = () => {
          this.mark(n, Canceled, reason);
          f.cancel(reason);
        };
        break;
      }
      case "cancel": {
        const [ctx, cancel] = withCancel(p);
        n.ctx = ctx;
        n.cancel = () => {
          this.mark(n, Canceled, Canceled);
          cancel();
        };
        break;
      }
      case "cancelCause": {
        const [ctx, cancel] = withCancelCause(p);
        const why = rng.chance(0.5) ? new Error(`cause of #${id}`) : undefined;
        n.ctx = ctx;
        n.cancel = () => {
          this.mark(n, Canceled, why ?? Canceled);
          cancel(why);
        };
        break;
      }
      case "timeout": {
        const now = Date.now();
        let ms = 0;
        if (!rng.chance(0.05)) {
          do ms = 1 + rng.int(2_000);
          while (this.usedAts.has(now + ms));
          this.usedAts.add(now + ms);
        }
        const at = now + ms;
        const why = rng.chance(0.5) ? new Error(`deadline of #${id}`) : undefined;
        const pd = n.deadline;
        const parentFirst = pd !== undefined && pd <= at;
        n.at = at;
        n.deadline = parentFirst ? pd : at;
        if (n.err === undefined && !parentFirst) {
          if (at <= now) this.mark(n, DeadlineExceeded, why ?? DeadlineExceeded);
          else n.timerPending = true;
        }
        const [ctx, cancel] = withTimeout(p, ms, why);
        n.ctx = ctx;
        n.cancel = () => {
          this.mark(n, Canceled, Canceled);
          cancel();
        };
        n.expire = () => this.mark(n, DeadlineExceeded, why ?? DeadlineExceeded);
        break;
      }
      case "signal": {
        const ac = new AbortController();
        const reason = rng.chance(0.2) ? new DOMException(`#${id} timed out`, "TimeoutError") : new Error(`signal of #${id}`);
        if (rng.chance(0.05)) ac.abort(reason);
        if (n.err === undefined && ac.signal.aborted) this.mark(n, errFor(reason), reason);
        const [ctx, cancel] = withSignal(p, ac.signal);
        n.ctx = ctx;
        n.ac = ac;
        n.reason = reason;
        n.cancel = () => {
          this.mark(n, Canceled, Canceled);
          cancel();
        };
        break;
      }
    }
    n.parent?.children.push(n);
    this.nodes.push(n);
    if (TETHER_CANCELLABLE.has(kind) && rng.chance(0.3)) this.listen(n);
    if (rng.chance(0.2)) {
      const d = { resolved: false };
      n.done = d;
      void n.ctx.done.then(() => (d.resolved = true));
    }
    if (rng.chance(0.15)) this.addAfterFunc(n);
    return n;
  }

  /** Aborts a withSignal node's own signal: the model's event comes first, then the real one. */
  abort(n: Node): void {
    const ac = n.ac as AbortController;
    if (ac.signal.aborted) return;
    this.mark(n, errFor(n.reason), n.reason);
    ac.abort(n.reason);
  }

  /** An abort listener that counts its runs, checks the tree, and sometimes cancels another node. */
  listen(n: Node): void {
    const target = this.rng.chance(0.6) ? this.rng.pick(this.nodes) : undefined;
    const probe = { armed: n.ctx.err === undefined, runs: 0 };
    n.listener = probe;
    n.ctx.signal.addEventListener("abort", () => {
      probe.runs++;
      for (const m of this.consistency(false)) this.inListener.push(`in the abort listener of #${n.id}: ${m}`);
      if (target?.cancel !== undefined) {
        target.cancelCalled = true;
        target.cancel();
      } else if (target?.ac !== undefined) this.abort(target);
    });
  }

  addAfterFunc(n: Node): void {
    const probe: Probe = { node: n, runs: 0, stop: () => false, stopped: false, prevented: false };
    probe.stop = afterFunc(n.ctx, () => void probe.runs++);
    this.probes.push(probe);
  }

  /** Every way the real tree differs from the model. Listener and signal state only when settled. */
  consistency(settled: boolean): string[] {
    const out: string[] = [];
    const name = (v: unknown): string => (v instanceof Error ? v.message : String(v));
    for (const n of this.nodes) {
      const at = `#${n.id} ${n.kind}`;
      if (n.ctx.err !== n.err) out.push(`${at}: err ${name(n.ctx.err)}, model ${name(n.err)}`);
      const c = cause(n.ctx);
      if (c !== n.cause) out.push(`${at}: cause ${name(c)}, model ${name(n.cause)}`);
      if (n.ctx.deadline !== n.deadline) out.push(`${at}: deadline ${n.ctx.deadline}, model ${n.deadline}`);
      if (n.ctx.value(key) !== nearestValue(n)) out.push(`${at}: value ${n.ctx.value(key)}, model ${nearestValue(n)}`);
      if (!settled) continue;
      if (n.done !== undefined && n.done.resolved !== (n.err !== undefined)) out.push(`${at}: done resolved ${n.done.resolved}`);
      const l = n.listener;
      if (l !== undefined) {
        const s = n.ctx.signal;
        if (s.aborted !== (n.err !== undefined)) out.push(`${at}: signal.aborted ${s.aborted}`);
        if (s.aborted && s.reason !== n.cause) out.push(`${at}: signal.reason ${name(s.reason)}`);
        const want = l.armed && n.err !== undefined ? 1 : 0;
        if (l.runs !== want) out.push(`${at}: abort listener ran ${l.runs} times, want ${want}`);
      }
    }
    if (settled) {
      for (const p of this.probes) {
        const want = !p.prevented && p.node.err !== undefined ? 1 : 0;
        if (p.runs !== want) out.push(`afterFunc on #${p.node.id}: ran ${p.runs} times, want ${want}`);
      }
    }
    return out;
  }
}

/** Runs one seeded scenario to the end, checking the model after every step. */
async function drive(w: World): Promise<void> {
  vi.useFakeTimers({ now: Date.UTC(2030, 0, 1) });
  const rng = w.rng;
  const seed = rng.seed;
  const label = (step: number, what: string): string => `seed ${seed}, step ${step} (${what})`;
  const settle = async (step: number, what: string): Promise<void> => {
    await microtasks();
    expect(w.inListener.splice(0), label(step, what)).toEqual([]);
    expect(w.consistency(true), label(step, what)).toEqual([]);
  };
  const stopOne = (): string => {
    const live = w.probes.filter((p) => !p.stopped);
    if (live.length === 0) return "";
    const p = rng.pick(live);
    const want = p.runs === 0;
    const got = p.stop();
    p.stopped = true;
    p.prevented = got;
    if (got !== want) w.inListener.push(`stop() of the afterFunc on #${p.node.id} returned ${got}, want ${want}`);
    return `, stop afterFunc on #${p.node.id}`;
  };

  const size = 120 + rng.int(60);
  for (let i = 0; i < size; i++) w.create(i === 0 || rng.chance(0.1) ? undefined : rng.pick(w.nodes));
  await settle(0, `built ${size} contexts`);

  for (let step = 1; ; step++) {
    const cancels = w.nodes.filter((n) => n.cancel !== undefined && !n.cancelCalled);
    if (cancels.length === 0) break;
    const aborts = w.nodes.filter((n) => n.ac !== undefined && !n.ac.signal.aborted);
    const timers = w.nodes.filter((n) => n.timerPending);
    const r = rng.float();
    let what: string;
    if (r < 0.08 && w.nodes.length < 260) {
      const n = w.create(rng.chance(0.1) ? undefined : rng.pick(w.nodes));
      what = `derive #${n.id} ${n.kind} under #${n.parent?.id ?? "background"}`;
    } else if (r < 0.12) {
      what = `stop${stopOne()}`;
    } else if (r < 0.32 && timers.length > 0) {
      const next = timers.reduce((a, b) => (b.at < a.at ? b : a));
      next.expire?.();
      vi.advanceTimersByTime(next.at - Date.now());
      what = `deadline of #${next.id} passes`;
    } else if (r < 0.47 && aborts.length > 0) {
      const n = rng.pick(aborts);
      w.abort(n);
      what = `abort the signal of #${n.id}`;
    } else {
      const n = rng.pick(cancels);
      n.cancelCalled = true;
      n.cancel?.();
      what = `cancel #${n.id} ${n.kind}`;
    }
    if (rng.chance(0.15)) what += stopOne();
    await settle(step, what);
  }

  const left = w.nodes.filter((n) => childCount(n.ctx) !== 0).map((n) => `#${n.id} ${n.kind}`);
  expect(left, `seed ${seed}: contexts still holding children at the end`).toEqual([]);
  expect(liveCounts(), `seed ${seed}: live counts at the end`).toMatchObject({ nodesWithChildren: 0, foreignListeners: 0, timers: 0 });
  expect(w.nodes.length, `seed ${seed}: tree size`).toBeGreaterThanOrEqual(120);
}

const fromEnv = process.env["TETHER_SEED"];
const seeds = fromEnv !== undefined ? [Number(fromEnv)] : Array.from({ length: 50 }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0);

describe("a seeded random tree of contexts", () => {
  it.each(seeds)("is done exactly where the model says after every step, each callback once (seed %i)", async (seed) => {
    const w = new World(new Rng(seed));
    try {
      await drive(w);
    } finally {
      // On failure, release what the scenario still holds so later seeds start from zero.
      for (const n of w.nodes) n.cancel?.();
    }
  });
});
