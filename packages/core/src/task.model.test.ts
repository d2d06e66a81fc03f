import { expect, it } from "vitest";
import { Canceled, background, runTask, until, withCancel, type Context } from "@tether/core";
import { liveCounts } from "@tether/core/testing";
import { explore, seedCount, type Rng } from "../../../test/model.js";

// The generator driver against its invariants, over random programs: nested try/finally,
// try/catch, delegation with yield*, checkpoints, interruptible and uninterruptible waits, throws,
// and finally blocks that wait, yield or throw — run as sibling tasks under a context cancelled at
// a random moment. Whatever the schedule: every entered finally runs exactly once, the scope
// settles only after every task's last line, and no statement completes after a yield inside it
// was interrupted (unless a catch between them took the cancellation).

type Stmt =
  | { s: "yield"; id: number }
  | { s: "until"; id: number; ticks: number }
  | { s: "await"; id: number; ticks: number }
  | { s: "throw"; id: number }
  | { s: "try"; id: number; body: Stmt[]; fin: Stmt[] }
  | { s: "catch"; id: number; body: Stmt[] }
  | { s: "call"; id: number; body: Stmt[] };

type Op = { tasks: Stmt[][]; cancelAfter: number | undefined };

function block(rng: Rng, depth: number, ids: { n: number }, inFinally: boolean): Stmt[] {
  const out: Stmt[] = [];
  const len = 1 + rng.int(depth > 2 ? 2 : 4);
  for (let i = 0; i < len; i++) {
    const id = ids.n++;
    const r = rng.int(100);
    if (r < 20) out.push({ s: "yield", id });
    else if (r < 38 && !inFinally) out.push({ s: "until", id, ticks: rng.int(6) });
    else if (r < 52) out.push({ s: "await", id, ticks: rng.int(4) });
    else if (r < 56) out.push({ s: "throw", id });
    else if (depth >= 4) out.push({ s: "yield", id });
    else if (r < 76) out.push({ s: "try", id, body: block(rng, depth + 1, ids, inFinally), fin: block(rng, depth + 2, ids, true) });
    else if (r < 86) out.push({ s: "catch", id, body: block(rng, depth + 1, ids, inFinally) });
    else out.push({ s: "call", id, body: block(rng, depth + 1, ids, inFinally) });
  }
  return out;
}

function generate(rng: Rng): Op[] {
  const ids = { n: 0 };
  const tasks = Array.from({ length: 1 + rng.int(3) }, () => block(rng, 0, ids, false));
  return [{ tasks, cancelAfter: rng.chance(0.8) ? rng.int(40) : undefined }];
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

type Event = { e: "enter" | "exit" | "finally" | "interrupted" | "cancel"; task: number; id: number; stack?: number[] };

function program(task: number, body: Stmt[], log: Event[]): (ctx: Context) => AsyncGenerator<unknown, void, unknown> {
  const active: number[] = [];
  async function* exec(stmts: Stmt[]): AsyncGenerator<unknown, void, unknown> {
    for (const st of stmts) {
      log.push({ e: "enter", task, id: st.id });
      active.push(st.id);
      const interruptible = async function* (wait: () => AsyncGenerator<unknown, void, unknown>): AsyncGenerator<unknown, void, unknown> {
        try {
          yield* wait();
        } catch (e) {
          if (e === Canceled) log.push({ e: "interrupted", task, id: st.id, stack: [...active] });
          throw e;
        }
      };
      switch (st.s) {
        case "yield":
          yield* interruptible(async function* () {
            yield;
          });
          break;
        case "until":
          yield* interruptible(async function* () {
            yield* until(ticks(st.ticks));
          });
          break;
        case "await":
          await ticks(st.ticks);
          break;
        case "throw":
          throw new Error(`thrown at ${st.id}`);
        case "try":
          try {
            yield* exec(st.body);
          } finally {
            log.push({ e: "finally", task, id: st.id });
            yield* exec(st.fin);
          }
          break;
        case "catch":
          try {
            yield* exec(st.body);
          } catch {
            // The program chose to carry on: what follows may run again.
            active.length = active.lastIndexOf(st.id) + 1;
          }
          break;
        case "call":
          yield* exec(st.body);
          break;
      }
      active.pop();
      log.push({ e: "exit", task, id: st.id });
    }
  }
  return () => exec(body);
}

function same(actual: unknown, expected: unknown, where: string): void {
  if (!Object.is(actual, expected)) throw new Error(`${where}: expected ${String(expected)}, got ${String(actual)}`);
}

function kinds(stmts: Stmt[], out: Map<number, Stmt["s"]>): Map<number, Stmt["s"]> {
  for (const st of stmts) {
    out.set(st.id, st.s);
    if (st.s === "try") kinds(st.fin, out);
    if (st.s === "try" || st.s === "catch" || st.s === "call") kinds(st.body, out);
  }
  return out;
}

async function check(ops: Op[], seed: number): Promise<void> {
  const op = ops[0];
  if (op === undefined) return;
  const log: Event[] = [];
  const [ctx, cancel] = withCancel(background());
  const ends: number[] = [];
  const tasks = op.tasks.map((body, i) => {
    const run = program(i, body, log);
    return async function* (c: Context): AsyncGenerator<unknown, void, unknown> {
      try {
        yield* run(c);
      } finally {
        ends.push(log.length);
      }
    };
  });
  if (op.cancelAfter !== undefined) {
    void ticks(op.cancelAfter).then(() => {
      log.push({ e: "cancel", task: -1, id: -1 });
      cancel();
    });
  }
  // Every task under one scope, settling only when all have: the same contract as @tether/group's run.
  const settled = Promise.allSettled(tasks.map((t) => runTask(ctx, t)));
  await settled;
  const settledAt = log.length;
  await ticks(50);
  cancel();
  const where = `seed ${seed}`;
  same(log.slice(settledAt).filter((ev) => ev.e !== "cancel").length, 0, `${where}: something ran after the scope settled`);
  same(ends.length, tasks.length, `${where}: tasks that reached their last line`);
  for (const end of ends) if (end > settledAt) throw new Error(`${where}: a task ended after the scope settled`);
  same(liveCounts().tasks, 0, `${where}: tasks still counted as running`);

  const kind = new Map<number, Stmt["s"]>();
  for (const t of op.tasks) kinds(t, kind);
  const entered = new Map<number, number>();
  const finallies = new Map<number, number>();
  for (const ev of log) {
    if (ev.e === "enter" && kind.get(ev.id) === "try") entered.set(ev.id, (entered.get(ev.id) ?? 0) + 1);
    if (ev.e === "finally") finallies.set(ev.id, (finallies.get(ev.id) ?? 0) + 1);
  }
  for (const [id, n] of entered) same(finallies.get(id) ?? 0, n, `${where}: finally of try ${id}`);
  for (const [id, n] of finallies) same(entered.get(id) ?? 0, n, `${where}: finally of try ${id} without its try`);

  // Level-triggered: once the context is cancelled, no wait begun afterwards ever completes.
  const cancelledAt = log.findIndex((ev) => ev.e === "cancel");
  if (cancelledAt >= 0) {
    const late = new Set<string>();
    for (const ev of log.slice(cancelledAt)) {
      const waits = kind.get(ev.id) === "yield" || kind.get(ev.id) === "until";
      if (ev.e === "enter" && waits) late.add(`${ev.task}:${ev.id}`);
      if (ev.e === "exit" && late.has(`${ev.task}:${ev.id}`)) throw new Error(`${where}: wait ${ev.id} of task ${ev.task} began after the cancel and completed`);
    }
  }

  // After an interruption, the statements that were in progress never complete normally.
  const dead = new Set<string>();
  for (const ev of log) {
    if (ev.e === "interrupted") {
      // Everything above the innermost catch is unwound; the catch itself carries on.
      const stack = ev.stack ?? [];
      let from = 0;
      stack.forEach((id, i) => {
        if (kind.get(id) === "catch") from = i + 1;
      });
      for (const id of stack.slice(from)) dead.add(`${ev.task}:${id}`);
    }
    if (ev.e === "enter") dead.delete(`${ev.task}:${ev.id}`);
    if (ev.e === "exit" && dead.has(`${ev.task}:${ev.id}`)) throw new Error(`${where}: statement ${ev.id} of task ${ev.task} completed after it was interrupted`);
  }
}

it(`the generator driver keeps its invariants over ${seedCount().toLocaleString("en-US")} seeded random programs and cancel times`, async () => {
  const ran = await explore<Op>({ name: "generator driver", generate, check });
  expect(ran).toBeGreaterThanOrEqual(2_000);
}, 60_000 + seedCount() * 10);
