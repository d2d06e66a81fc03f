import { cause } from "./cancel.js";
import { CancelNode } from "./node.js";
import { type Context, Ctx, ValueCtx, asContext, describe } from "./context.js";
import { addHooks, tracking } from "./counters.js";
import { captureStack, userFrames } from "./stack.js";
import { queuedOn } from "./queued.js";
import { runningTasks, type TaskRecord } from "./task.js";

type Birth = { at: number; stack: Error | string };

/**
 * Creation time and stack of each context derived while tracing was on. Kept when tracing stops,
 * so the traces already recorded still print; weak, so it holds no context alive.
 */
let births: WeakMap<object, Birth> | undefined;
/** Names given with `nameContext`, shown by `dump()`. */
const names = new WeakMap<object, string>();

/** How many queued tasks `dump()` names under a context before it only counts the rest. */
const MAX_QUEUED = 8;

/** The lines of the tasks queued on `node`, if any: the first few by name, then a count. */
function queuedLines(node: Context): string[] {
  const of = queuedOn(node);
  if (of === undefined) return [];
  let queued: readonly string[];
  try {
    queued = of();
  } catch {
    return [];
  }
  const lines = queued.slice(0, MAX_QUEUED).map((name) => `task ${JSON.stringify(name)}: queued`);
  if (queued.length > MAX_QUEUED) lines.push(`… ${queued.length - MAX_QUEUED} more queued`);
  return lines;
}

const clock = (): number => (typeof performance === "object" ? performance.now() : Date.now());

/**
 * enableTrace starts (or, with `false`, stops) recording the time and the call stack at which each
 * context is derived, for {@link derivationTrace} and the ages in {@link dump}. Debug only: it
 * captures a stack per derivation, formatted only when printed — measured at about 5.6 µs per
 * withCancel+cancel against about 70 ns without (Node 20, this repo's CI machine). It chains with
 * leak tracking (`trackLeaks`) if that is on.
 *
 * @example
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * import { enableTrace, derivationTrace } from "@tether/core/debug";
 * enableTrace();
 * const [ctx, cancel] = withCancel(background());
 * console.assert(derivationTrace(ctx).includes("withCancel()"));
 * cancel();
 * enableTrace(false);
 * ```
 */
export function enableTrace(on = true): void {
  if (typeof on !== "boolean") throw new TypeError(`enableTrace: on must be a boolean, received ${describe(on)}`);
  if (on === (removeHook !== undefined)) return;
  if (!on) {
    removeHook?.();
    removeHook = undefined;
    return;
  }
  births ??= new WeakMap();
  removeHook = addHooks(recordBirth, undefined);
}

let removeHook: (() => void) | undefined;

function recordBirth(ctx: object): void {
  const at = captureStack();
  births?.set(ctx, { at: clock(), stack: tracking.leaks > 0 ? (at.stack ?? "") : at });
}

/**
 * derivationTrace renders the chain from `ctx` up to its root, newest first: each layer's lineage
 * and, for layers derived while {@link enableTrace} was on, where it was derived. The first line is
 * `ctx`'s whole lineage; an ancestor's line shows the last eight parts of its own,
 * after "…" when there are more, since each would repeat the line below it.
 *
 * @example
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * import { derivationTrace } from "@tether/core/debug";
 * const [ctx, cancel] = withCancel(background());
 * console.assert(derivationTrace(ctx).split("\n")[0] === "background().withCancel()");
 * cancel();
 * ```
 */
export function derivationTrace(ctx: Context): string {
  const out: string[] = [];
  let c: Context | undefined = asContext(ctx, "derivationTrace", "ctx");
  let first = true;
  while (c !== undefined) {
    out.push(first ? print(c) : shortLineage(c));
    first = false;
    const b = births?.get(c);
    if (b !== undefined) out.push(...userFrames(b.stack).split("\n").map((l) => `    ${l}`));
    c = parentOf(c);
  }
  return out.join("\n");
}

/**
 * The lineage parts an ancestor's line of {@link derivationTrace} shows at most: enough to tell the
 * layer, and a bound, so a chain thousands deep prints in time and space linear in its depth.
 */
const TRACE_SEGMENTS = 8;

/** The end of `c`'s lineage: its last {@link TRACE_SEGMENTS} parts, after "…" if there are more. */
function shortLineage(c: Context): string {
  if (!(c instanceof Ctx)) return print(c);
  const parts: string[] = [];
  let x: Context | null = c;
  while (x instanceof Ctx && parts.length < TRACE_SEGMENTS) {
    parts.push(x._segment());
    x = x._lineageParent();
  }
  let s = x === null ? "" : x instanceof Ctx ? "…" : print(x);
  for (let i = parts.length - 1; i >= 0; i--) s += parts[i];
  return s;
}

function parentOf(c: Context): Context | undefined {
  try {
    if (c instanceof CancelNode || c instanceof ValueCtx) return c._parent;
    const p = (c as { _parent?: unknown })._parent;
    return p instanceof Ctx ? p : undefined;
  } catch {
    // A foreign context that cannot be inspected (a revoked Proxy) ends the chain.
    return undefined;
  }
}

/** A context's lineage, or a short description when a foreign one cannot even be printed. */
function print(c: Context): string {
  try {
    return String(c);
  } catch {
    return describe(c);
  }
}

/**
 * nameContext gives `ctx` a name that {@link dump} shows beside it (a group, a request).
 *
 * @example
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * import { dump, nameContext } from "@tether/core/debug";
 * const [ctx, cancel] = withCancel(background());
 * nameContext(ctx, "request 7");
 * console.assert(dump(ctx).includes('"request 7"'));
 * cancel();
 * ```
 */
export function nameContext(ctx: Context, name: string): void {
  asContext(ctx, "nameContext", "ctx");
  if (typeof name !== "string") throw new TypeError(`nameContext: name must be a string, received ${describe(name)}`);
  names.set(ctx, name);
}

function state(c: Context): string {
  try {
    return stateOf(c);
  } catch {
    // A foreign context whose getters throw: the rest of the dump still prints.
    return "[state unreadable]";
  }
}

function stateOf(c: Context): string {
  const parts: string[] = [];
  const err: unknown = c.err;
  // A foreign context may say "no error" with null.
  if (err === undefined || err === null) parts.push("alive");
  else {
    const why = cause(c);
    const message = err instanceof Error ? err.message : describe(err);
    parts.push(why === err ? message : `${message}, cause ${describe(why)}`);
  }
  const d = c.deadline;
  if (d !== undefined && (err === undefined || err === null)) {
    // A foreign context's deadline may be anything; a line about it must not compute NaN.
    const ok = typeof d === "number" && !Number.isNaN(d);
    parts.push(ok ? `deadline in ${Math.max(0, Math.round(d - Date.now()))}ms` : `deadline ${describe(d)}, not a number`);
  }
  const b = births?.get(c);
  if (b !== undefined) parts.push(`age ${Math.round(clock() - b.at)}ms`);
  const n = names.get(c);
  return `${n !== undefined ? `${JSON.stringify(n)} ` : ""}[${parts.join(", ")}]`;
}

/** Whether `c`'s chain of parents passes through `root` (or is `root`). */
function below(c: Context, root: Context): boolean {
  for (let x: Context | undefined = c; x !== undefined; x = parentOf(x)) if (x === root) return true;
  return false;
}

/**
 * `c`'s lineage relative to `root`, when `root` is on it: the segments below `root` alone
 * (".withCancel().withValue(k, 1)"), else the whole lineage. Built from the segments, not by
 * comparing two printed lineages, which a deadline's "ms left" can make differ between prints.
 */
function rel(c: Context, root: Context): string {
  const parts: string[] = [];
  let x: Context | null = c;
  while (x instanceof Ctx && x !== root) {
    // A name given to a layer that is not a node (a value layer, a withoutCancel) shows on its
    // segment: no line of the dump is its own. A node's name is in its state.
    const n = x instanceof CancelNode ? undefined : names.get(x);
    parts.push(n === undefined ? x._segment() : `${x._segment()} ${JSON.stringify(n)}`);
    x = x._lineageParent();
  }
  if (x === root && parts.length > 0) return parts.reverse().join("");
  // A foreign layer in between prints only as a whole: cut `root`'s lineage off the front.
  const s = print(c);
  const r = print(root);
  return s.startsWith(r) && s !== r ? s.slice(r.length) : s;
}

/**
 * A task's line. One on a context the walk did not reach (below a withoutCancel layer, or already
 * cancelled and unlinked: a task stuck in its cleanup) also says that context's name and state.
 */
function taskLine(t: TaskRecord, at: Context, reached: boolean): string {
  const where = t.ctx === at ? "" : ` on ${rel(t.ctx, at)}${reached ? "" : ` ${state(t.ctx)}`}`;
  return `task ${JSON.stringify(t.name)}${t.generator ? " (generator)" : ""}${where}: ${t.state}`;
}

/** How deep the tree is indented; deeper levels print at that indent, their depth written out. */
const MAX_INDENT = 32;

/**
 * dump renders the live tree below `ctx`: each context's lineage, state (alive, or why it ended),
 * remaining deadline, name and — with {@link enableTrace} on — age; and under each, the tasks
 * running on it (with what a generator task waits for), the tasks queued on it (a Group's beyond its
 * limit) and the waits subscribed to it (a sleep, a lock, a channel, an afterFunc). Cancelled children have already unlinked and are not shown.
 * A value layer shares its parent's cancellation, so its dump lists tasks and contexts derived
 * through it alone, but the waits of every layer on that cancellation: a wait does not record
 * which layer it was made through, since that would cost every wait a field.
 * Meant for a log line or a test failure message.
 *
 * @example
 * ```ts
 * import { background, withCancel, sleep } from "@tether/core";
 * import { dump } from "@tether/core/debug";
 * const [ctx, cancel] = withCancel(background());
 * const napping = sleep(ctx, 60_000).catch(() => {});
 * console.assert(dump(ctx).includes("sleep(60000ms)"));
 * cancel();
 * await napping;
 * ```
 */
export function dump(ctx: Context): string {
  const root = asContext(ctx, "dump", "ctx");
  const lines = [`${print(root)} ${state(root)}`];
  // The cancel nodes the walk below reaches through the lists. A task on a node it does not reach
  // (one under a withoutCancel layer, whose cancel link to `root` is cut) is listed under `root`.
  const reached = new Set<Context>();
  const rootSrc = root instanceof Ctx ? root._src : null;
  // Every member of a node's own list is below it; a value layer's dump shows only what was
  // derived through it, of the members of the node it shares.
  const under = (m: CancelNode, node: Context, src: CancelNode): boolean => node === src || below(m, node);
  if (rootSrc instanceof CancelNode) {
    const stack: Array<[CancelNode, Context]> = [[rootSrc, root]];
    while (stack.length > 0) {
      const [src, node] = stack.pop() as [CancelNode, Context];
      for (let m = src._head; m !== null; m = m._next) {
        if (m instanceof CancelNode && !reached.has(m) && under(m, node, src)) {
          reached.add(m);
          stack.push([m, m]);
        }
      }
    }
  }
  const tasksBy = new Map<Context, Array<[TaskRecord, boolean]>>();
  for (const t of [...runningTasks()].reverse()) {
    const own = t.ctx instanceof Ctx ? t.ctx._src : null;
    // On a node the walk reaches; or on root's own node, through root (not a sibling value layer).
    const reachedOwn = own instanceof CancelNode && (reached.has(own) || (own === rootSrc && (root === own || below(t.ctx, root))));
    if (!reachedOwn && !below(t.ctx, root)) continue;
    const src = reachedOwn && own !== rootSrc ? own : root;
    const list = tasksBy.get(src) ?? [];
    list.push([t, reachedOwn || t.ctx === root]);
    tasksBy.set(src, list);
  }
  type Item = { text: string; node?: CancelNode };
  const itemsOf = (node: Context): Item[] => {
    const items: Item[] = [];
    for (const [t, seen] of tasksBy.get(node) ?? []) items.push({ text: taskLine(t, node, seen) });
    for (const text of queuedLines(node)) items.push({ text });
    const src = node instanceof Ctx ? node._src : null;
    if (src instanceof CancelNode && (src === node || node === root)) {
      for (let m = src._head; m !== null; m = m._next) {
        if (!(m instanceof CancelNode)) {
          if (m._label !== "") items.push({ text: m._label });
        } else if (under(m, node, src)) items.push({ text: `${rel(m, node)} ${state(m)}`, node: m });
      }
    }
    return items;
  };
  // An explicit stack, not recursion: a chain thousands of contexts deep prints too.
  const frames: Array<{ items: Item[]; i: number; indent: string; depth: number }> = [{ items: itemsOf(root), i: 0, indent: "", depth: 0 }];
  while (frames.length > 0) {
    const f = frames[frames.length - 1] as (typeof frames)[number];
    const item = f.items[f.i++];
    if (item === undefined) {
      frames.pop();
      continue;
    }
    const last = f.i === f.items.length;
    const deep = f.depth >= MAX_INDENT ? `(depth ${f.depth + 1}) ` : "";
    lines.push(`${f.indent}${last ? "└─ " : "├─ "}${deep}${item.text}`);
    if (item.node !== undefined) {
      const indent = f.depth >= MAX_INDENT ? f.indent : `${f.indent}${last ? "   " : "│  "}`;
      frames.push({ items: itemsOf(item.node), i: 0, indent, depth: f.depth + 1 });
    }
  }
  return lines.join("\n");
}
