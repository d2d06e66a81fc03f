// The cancel tree's node and the intrusive list of children and subscribers it keeps: the part
// every other module of the tree builds on, free of imports from them.
import { Ctx, type Context, unlimitListeners } from "./context.js";
import { live } from "./counters.js";

/** A member of a cancel node's list: a child node, or a subscriber waiting for the cancel. */
export type Member = CancelNode | Subscriber;

/** Which constructor made a node; decides how it prints. */
export const Kind = { Cancel: 0, CancelCause: 1, Deadline: 2, Timeout: 3, Signal: 4, Hidden: 5 } as const;
/** One of the {@link Kind} values. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Signals made by Tether nodes, so a foreign wrapper around one links to the node directly. */
export const owners = new WeakMap<AbortSignal, CancelNode>();

/**
 * CancelNode is the context that can be cancelled: what withCancel, withCancelCause, withDeadline,
 * withTimeout and withSignal return. Its children and subscribers form an intrusive doubly linked
 * list, so linking and unlinking are O(1) and allocate nothing.
 */
/**
 * How many cancels have run, counting a cascade once: a clock that orders the start of a wait
 * against a context's cancellation. Read by `until`, advanced only by `cancelNode`.
 */
export const cancels = { epoch: 0 };

export class CancelNode extends Ctx {
  /** Set once, by the first cancel; never changes after. */
  err: Error | undefined = undefined;
  /** The cause given to the first cancel, or `err` when none was given. Set with `err`. */
  _cause: unknown = undefined;
  /**
   * The {@link cancels} count of the cancel that set `err`: even for a cancel made by Tether, odd
   * for one that came from a signal it does not own. A node born cancelled takes its parent's (0
   * under a foreign parent already cancelled); 0 while alive. Tells the task driver whether a wait
   * began before this node was cancelled, and `cancelEpoch` which cancel reached a context.
   */
  _epoch = 0;
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
  /** For a deadline node with a timer: when the timer is due, on core's `elapsed` clock. */
  _due = 0;

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

  /** Called when the last child or subscriber has left its list; a bridge then lets its signal go. */
  _emptied(): void {}

  _segment(): string {
    switch (this._kind) {
      case Kind.Cancel:
        return ".withCancel()";
      case Kind.CancelCause:
        return ".withCancelCause()";
      case Kind.Signal:
        return ".withSignal()";
      case Kind.Hidden:
        return "";
      default: {
        const fn = this._kind === Kind.Timeout ? "withTimeout" : "withDeadline";
        const at = this._at;
        if (at === Infinity) return this.err !== undefined ? `.${fn}(Infinity [${this.err.message}])` : `.${fn}(Infinity)`;
        // Date covers ±8.64e15 ms; a later (but finite) deadline prints as its number.
        const when = Math.abs(at) <= 8.64e15 ? new Date(at).toISOString() : `${at}ms`;
        const left = this.err !== undefined ? this.err.message : `${Math.max(0, at - Date.now())}ms left`;
        return `.${fn}(${when} [${left}])`;
      }
    }
  }

  _lineageParent(): Context {
    return this._parent;
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

/**
 * Withdraws `sub` from the cancel list it is in, if any; after it the cancel never calls `_fire`.
 * (A subscriber that `subscribeWith` found already cancelled is in no list: its call is queued.)
 */
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

  /** Withdraws the subscription, as {@link unsubscribe} does. Idempotent. */
  off(): void {
    if (this._owner !== null) unlink(this);
  }
}

/**
 * Follow is the subscription of a `withSignal` node to the signal it follows, when that signal is
 * a Tether context's or shares a bridge. The cancel that reaches it treats `_node` as one more
 * descendant, in the same pass and without calling it: a chain of contexts each following the
 * previous one's signal is cancelled without a call per link, however long.
 */
export class Follow extends Sub {
  constructor(readonly _node: CancelNode) {
    super(null, "withSignal");
  }
}

/** Links `m` at the tail of `o`'s list, counting `o` in `live.nodesWithChildren` if it was empty. */
export function append(o: CancelNode, m: Member): void {
  m._owner = o;
  m._prev = o._tail;
  if (o._tail !== null) o._tail._next = m;
  else {
    o._head = m;
    live.nodesWithChildren++;
  }
  o._tail = m;
}

/**
 * Takes `m` out of the list it is in (the caller has checked that it is in one); a node whose list
 * this empties is counted out and told, so that a bridge lets its signal go.
 */
export function unlink(m: Member): void {
  const o = m._owner as CancelNode;
  if (m._prev !== null) m._prev._next = m._next;
  else o._head = m._next;
  if (m._next !== null) m._next._prev = m._prev;
  else o._tail = m._prev;
  m._owner = m._prev = m._next = null;
  if (o._head === null) {
    live.nodesWithChildren--;
    o._emptied();
  }
}
