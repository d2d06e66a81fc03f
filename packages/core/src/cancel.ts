import { Ctx, type Context, asContext, background, isNeverAborts, unlimitListeners } from "./context.js";
import { hooks, live } from "./counters.js";
import { Canceled, DeadlineExceeded } from "./errors.js";

/** A member of a cancel node's list: a child node, or a subscriber waiting for the cancel. */
type Member = CancelNode | Subscriber;

/** Which constructor made a node; decides how it prints. */
export const Kind = { Cancel: 0, CancelCause: 1, Deadline: 2, Timeout: 3, Signal: 4, Hidden: 5 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Signals made by Tether nodes, so a foreign wrapper around one links to the node directly. */
const owners = new WeakMap<AbortSignal, CancelNode>();


/**
 * CancelNode is the context that can be cancelled: what withCancel, withCancelCause, withDeadline,
 * withTimeout and withSignal return. Its children and subscribers form an intrusive doubly linked
 * list, so linking and unlinking are O(1) and allocate nothing.
 */
export class CancelNode extends Ctx {
  /** Set once, by the first cancel; never changes after. */
  err: Error | undefined = undefined;
  /** The cause given to the first cancel, or `err` when none was given. Set with `err`. */
  _cause: unknown = undefined;
  /** The node whose list holds this one; null when unlinked (root of a foreign link, or cancelled). */
  _owner: CancelNode | null = null;
  _prev: Member | null = null;
  _next: Member | null = null;
  /** Children and subscribers; set to null by the first cancel. */
  _head: Member | null = null;
  _tail: Member | null = null;
  /** Made on first read of `done`. */
  _done: Promise<void> | undefined = undefined;
  _resolve: (() => void) | undefined = undefined;
  /** Made on first read of `signal`. */
  _ac: AbortController | undefined = undefined;
  /** The deadline timer, while armed. */
  _timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** For a bridge: its one `abort` listener on a signal Tether does not own. */
  _listener: [AbortSignal, () => void] | undefined = undefined;
  /** For withSignal: its subscription to the signal's bridge, withdrawn by the first cancel. */
  _follow: Sub | undefined = undefined;
  /** For deadline nodes: this node's own deadline (which may be later than `deadline`). */
  _at = 0;
  /** For deadline nodes: the cause reported when the deadline passes. */
  _atCause: unknown = undefined;

  constructor(
    readonly _parent: Context,
    readonly _kind: Kind,
    readonly deadline: number | undefined,
  ) {
    super(null, _parent);
    this._src = this;
  }

  get done(): Promise<void> {
    if (this._done === undefined) {
      if (this.err !== undefined) this._done = Promise.resolve();
      else this._done = new Promise<void>((r) => (this._resolve = r));
    }
    return this._done;
  }

  get signal(): AbortSignal {
    if (this._ac === undefined) {
      this._ac = new AbortController();
      owners.set(this._ac.signal, this);
      unlimitListeners(this._ac.signal);
      if (this.err !== undefined) this._ac.abort(this._cause);
    }
    return this._ac.signal;
  }

  toString(): string {
    const p = String(this._parent);
    switch (this._kind) {
      case Kind.Cancel:
        return `${p}.withCancel()`;
      case Kind.CancelCause:
        return `${p}.withCancelCause()`;
      case Kind.Signal:
        return `${p}.withSignal()`;
      case Kind.Hidden:
        return p;
      default: {
        const at = this._at;
        // Date covers ±8.64e15 ms; a later (but finite) deadline prints as its number.
        const when = Math.abs(at) <= 8.64e15 ? new Date(at).toISOString() : `${at}ms`;
        const left = this.err !== undefined ? this.err.message : `${Math.max(0, at - Date.now())}ms left`;
        return `${p}.${this._kind === Kind.Timeout ? "withTimeout" : "withDeadline"}(${when} [${left}])`;
      }
    }
  }
}

/**
 * Subscriber is the shape of a member of a context's cancel list that is not a context: its links,
 * its `dump()` label and the `_fire` that the cancel calls. {@link Sub} is the ready-made one; a
 * waiter of another package may instead carry these fields itself, in a class with no base, and join
 * with {@link subscribeWith}. V8 builds a base-less object faster than a derived one, and one such
 * object is made per wait.
 */
export interface Subscriber {
  _owner: CancelNode | null;
  _prev: Member | null;
  _next: Member | null;
  /** What the subscriber waits for, as `dump()` shows it: "sleep(100ms)", "Mutex.lock". */
  readonly _label: string;
  /** Called once, inside the cancel that reaches this subscriber's context. */
  _fire(err: Error): void;
}

/** Withdraws `sub` from the cancel list it is in, if any; after it `_fire` is never called. */
export function unsubscribe(sub: Subscriber): void {
  if (sub._owner !== null) unlink(sub);
}

/**
 * Sub is an internal subscriber to a context's cancellation. `_fire` runs synchronously inside the
 * cancel, after every descendant's `err` is set, so it must only settle promises or queue work.
 * Another package may extend Sub and override `_fire`, then join a context's list with
 * {@link subscribeWith}, or implement {@link Subscriber} in a class with no base.
 */
export class Sub implements Subscriber {
  _owner: CancelNode | null;
  _prev: Member | null;
  _next: Member | null;
  readonly _fn: ((err: Error) => void) | null;
  /** What the subscriber waits for, as `dump()` shows it: "sleep(100ms)", "Mutex.lock". */
  readonly _label: string;
  // Assigned here rather than as field initializers: V8 then inlines this constructor into the
  // subclasses' (every sync waiter is one), about 15 ns per wait.
  constructor(fn: ((err: Error) => void) | null, label: string) {
    this._owner = null;
    this._prev = null;
    this._next = null;
    this._fn = fn;
    this._label = label;
  }

  /** Called once, inside the cancel that reaches this subscriber's context. */
  _fire(err: Error): void {
    (this._fn as (err: Error) => void)(err);
  }

  /** Withdraws the subscription; after it `_fire` is never called. Idempotent. */
  off(): void {
    if (this._owner !== null) unlink(this);
  }
}

function append(o: CancelNode, m: Member): void {
  m._owner = o;
  m._prev = o._tail;
  if (o._tail !== null) o._tail._next = m;
  else {
    o._head = m;
    live.nodesWithChildren++;
  }
  o._tail = m;
}

function unlink(m: Member): void {
  const o = m._owner as CancelNode;
  if (m._prev !== null) m._prev._next = m._next;
  else o._head = m._next;
  if (m._next !== null) m._next._prev = m._prev;
  else o._tail = m._prev;
  m._owner = m._prev = m._next = null;
  if (o._head === null) {
    live.nodesWithChildren--;
    if (o instanceof Bridge) o._drop();
  }
}

/** The error a foreign context reports, defaulting to Canceled for one that reports none. */
function foreignErr(ctx: Context): Error {
  const e = ctx.err;
  return e instanceof Error ? e : Canceled;
}

/**
 * Bridge carries the cancellation of a signal Tether does not own into the tree. It holds the one
 * `abort` listener that every Tether context following that signal (or that foreign context)
 * shares, so a thousand live children of a server's signal add one listener, not a thousand —
 * Node warns past ten. It drops its listener when its last follower leaves, so a long-lived
 * signal gathers nothing.
 */
class Bridge extends CancelNode {
  constructor(
    parent: Context,
    private readonly _map: WeakMap<object, Bridge>,
    private readonly _key: object,
    signal: AbortSignal,
    errOf: () => Error,
  ) {
    super(parent, Kind.Hidden, undefined);
    const listener = (): void => {
      this._map.delete(this._key);
      cancelNode(this, errOf(), signal.reason);
    };
    signal.addEventListener("abort", listener);
    this._listener = [signal, listener];
    live.foreignListeners++;
    _map.set(_key, this);
  }

  /** Called when the last follower unlinked: release the listener and forget the bridge. */
  _drop(): void {
    this._map.delete(this._key);
    release(this);
  }
}

const contextBridges = new WeakMap<object, Bridge>();
const signalBridges = new WeakMap<object, Bridge>();

/** A reason that says the signal timed out (AbortSignal.timeout's) maps to DeadlineExceeded. */
export function errForReason(reason: unknown): Error {
  return reason instanceof Error && reason.name === "TimeoutError" ? DeadlineExceeded : Canceled;
}

/** The error an aborted signal stands for: its Tether context's err, else what its reason says. */
export function errForSignal(signal: AbortSignal): Error {
  return owners.get(signal)?.err ?? errForReason(signal.reason);
}

/**
 * The node whose list a follower of foreign context `ctx` joins: the Tether node owning its signal
 * (a wrapper around a Tether context), else the context's bridge. Undefined if its signal has
 * already aborted; null if it can never abort (a wrapper around background()).
 */
function ownerOf(ctx: Context): CancelNode | undefined | null {
  const signal = ctx.signal;
  if (isNeverAborts(signal)) return null;
  const owner = owners.get(signal) ?? contextBridges.get(ctx);
  if (owner !== undefined || signal.aborted) return owner;
  return new Bridge(ctx, contextBridges, ctx, signal, () => foreignErr(ctx));
}

/**
 * Makes `node` also follow `signal`: an abort cancels it with `errForReason(reason)` and the
 * reason as cause. The caller has checked that the signal has not aborted.
 */
export function followSignal(node: CancelNode, signal: AbortSignal): void {
  if (isNeverAborts(signal)) return;
  const owner = owners.get(signal) ?? signalBridges.get(signal) ?? new Bridge(background(), signalBridges, signal, signal, () => errForReason(signal.reason));
  const sub = new Sub((err) => cancelNode(node, err, signal.reason), "withSignal");
  if (owner.err !== undefined) {
    cancelNode(node, owner.err, owner._cause);
    return;
  }
  append(owner, sub);
  node._follow = sub;
}

/**
 * Links a new node under its parent so the parent's cancellation reaches it. A parent already
 * cancelled cancels the node at once with the parent's err and cause.
 */
export function attach(node: CancelNode, parent: Context): void {
  const src = parent instanceof Ctx ? parent._src : parent;
  if (src === null) return;
  const owner = src instanceof CancelNode ? src : ownerOf(src as Context);
  if (owner === null) return;
  if (owner === undefined) {
    node.err = foreignErr(src as Context);
    node._cause = (src as Context).signal.reason;
    return;
  }
  if (owner.err !== undefined) {
    node.err = owner.err;
    node._cause = owner._cause;
  } else append(owner, node);
}

/**
 * Subscribes `fn` to the cancellation of `ctx`, which the caller has checked is still alive.
 * Returns null when `ctx` can never be cancelled. `label` names the wait in `dump()`.
 */
export function subscribe(ctx: Context, fn: (err: Error) => void, label = "waiter"): Sub | null {
  const sub = new Sub(fn, label);
  return subscribeWith(ctx, sub) ? sub : null;
}

/**
 * Links `sub` (a Sub subclass that overrides `_fire`, or any {@link Subscriber}) into the
 * cancellation of `ctx`, which the caller has checked is still alive. Returns false, linking
 * nothing, when `ctx` can never be cancelled.
 */
export function subscribeWith(ctx: Context, sub: Subscriber): boolean {
  const src = ctx instanceof Ctx ? ctx._src : ctx;
  if (src === null) return false;
  if (src instanceof CancelNode) {
    append(src, sub);
    return true;
  }
  const owner = ownerOf(src as Context);
  if (owner === null) return false;
  if (owner === undefined || owner.err !== undefined) {
    // A foreign context whose signal aborted while its err still read undefined.
    const err = owner?.err ?? foreignErr(src as Context);
    queueMicrotask(() => sub._fire(err));
  } else append(owner, sub);
  return true;
}

/**
 * Cancels `node` and every live descendant. First every `err` in the subtree is set, so no callback
 * can observe a half-cancelled tree; then each node's timer and foreign listeners are released,
 * `done` resolved and `signal` aborted, and subscribers called, parents before children.
 * The first cancel wins; later calls do nothing.
 */
export function cancelNode(node: CancelNode, err: Error, cause: unknown): void {
  if (node.err !== undefined) return;
  const c = cause === undefined ? err : cause;
  if (node._owner !== null) unlink(node);
  node.err = err;
  node._cause = c;
  if (node._head === null) {
    release(node);
    return;
  }
  const fired: Member[] = [];
  const stack: CancelNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop() as CancelNode;
    fired.push(n);
    let m = n._head;
    if (m !== null) live.nodesWithChildren--;
    n._head = n._tail = null;
    while (m !== null) {
      const next = m._next;
      m._owner = m._prev = m._next = null;
      if (m instanceof CancelNode) {
        m.err = err;
        m._cause = c;
        stack.push(m);
      } else fired.push(m);
      m = next;
    }
  }
  for (const m of fired) {
    if (m instanceof CancelNode) release(m);
    else m._fire(err);
  }
}

function release(n: CancelNode): void {
  if (n._timer !== undefined) {
    clearTimeout(n._timer);
    n._timer = undefined;
    live.timers--;
  }
  const l = n._listener;
  if (l !== undefined) {
    n._listener = undefined;
    l[0].removeEventListener("abort", l[1]);
    live.foreignListeners--;
  }
  const f = n._follow;
  if (f !== undefined) {
    n._follow = undefined;
    f.off();
  }
  if (n._resolve !== undefined) {
    n._resolve();
    n._resolve = undefined;
  }
  if (n._ac !== undefined) n._ac.abort(n._cause);
  if (hooks.released !== undefined) hooks.released(n);
}

/**
 * withCancel returns a child of `parent` and a function that cancels it. The child is cancelled
 * when `cancel` is called or when the parent is, whichever happens first; cancelling it releases
 * what it holds and unlinks it from the parent, so call `cancel` as soon as the work is done.
 * After the first call, later calls to `cancel` do nothing.
 *
 * @example Stop work you started
 * ```ts
 * import { background, withCancel, Canceled } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * cancel();
 * console.assert(ctx.err === Canceled);
 * ```
 */
export function withCancel(parent: Context): [ctx: Context, cancel: () => void] {
  const p = asContext(parent, "withCancel");
  const node = new CancelNode(p, Kind.Cancel, p.deadline);
  attach(node, p);
  const cancel = (): void => cancelNode(node, Canceled, undefined);
  if (hooks.created !== undefined) hooks.created(node, cancel);
  return [node, cancel];
}

/**
 * withCancelCause is {@link withCancel} whose cancel function records why: `ctx.err` becomes
 * `Canceled` and {@link cause} returns the value given (or `Canceled` when none is). The first
 * cancel wins, from either this function or an ancestor.
 *
 * @example
 * ```ts
 * import { background, withCancelCause, cause } from "@tether/core";
 * const [ctx, cancel] = withCancelCause(background());
 * cancel(new Error("shutting down"));
 * console.assert((cause(ctx) as Error).message === "shutting down");
 * ```
 */
export function withCancelCause(parent: Context): [ctx: Context, cancel: (cause?: unknown) => void] {
  const p = asContext(parent, "withCancelCause");
  const node = new CancelNode(p, Kind.CancelCause, p.deadline);
  attach(node, p);
  const cancel = (c?: unknown): void => cancelNode(node, Canceled, c);
  if (hooks.created !== undefined) hooks.created(node, cancel);
  return [node, cancel];
}

/**
 * cause returns why `ctx` was cancelled: `undefined` while it is alive, else the cause given to the
 * cancel that reached it (its own, or an ancestor's), else `ctx.err`. For a foreign context it is
 * the reason its signal aborted with.
 *
 * @example
 * ```ts
 * import { background, withCancel, cause, Canceled } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * console.assert(cause(ctx) === undefined);
 * cancel();
 * console.assert(cause(ctx) === Canceled);
 * ```
 */
export function cause(ctx: Context): unknown {
  const c = asContext(ctx, "cause", "ctx");
  const src = c instanceof Ctx ? c._src : c;
  if (src === null) return undefined;
  if (src instanceof CancelNode) return src.err === undefined ? undefined : src._cause;
  const f = src as Context;
  const err = f.err;
  if (err === undefined) return undefined;
  const signal = f.signal;
  // A wrapper around a Tether context: its node knows the cause even before its signal aborts.
  const owner = owners.get(signal);
  if (owner !== undefined && owner.err !== undefined) return owner._cause;
  return signal.aborted ? signal.reason : err;
}
