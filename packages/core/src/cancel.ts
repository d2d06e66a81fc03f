import { foreignErr, ownerOf } from "./bridge.js";
import { Ctx, type Context, asContext, parentDeadline } from "./context.js";
import { hooks, live } from "./counters.js";
import { Canceled } from "./errors.js";
import { CancelNode, Follow, Kind, type Member, type Subscriber, Sub, append, cancels, owners, unlink } from "./node.js";

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
    // A signal without a `reason` (a polyfill older than it): the cause is then the err. A reason
    // of null is a reason.
    const reason: unknown = (src as Context).signal.reason;
    node._cause = reason === undefined ? node.err : reason;
    return;
  }
  if (owner.err !== undefined) {
    node.err = owner.err;
    node._cause = owner._cause;
    // Born cancelled by the same cancel as its parent: see `cancelEpoch`.
    node._epoch = owner._epoch;
  } else append(owner, node);
}

/**
 * Subscribes `fn` to the cancellation of `ctx`, as {@link subscribeWith} does, and returns the
 * subscription; null when `ctx` can never be cancelled. `label` names the wait in `dump()`.
 */
export function subscribe(ctx: Context, fn: (err: Error) => void, label = "waiter"): Sub | null {
  const sub = new Sub(fn, label);
  return subscribeWith(ctx, sub) ? sub : null;
}

/**
 * Whether `ctx` is a Tether context that nothing can ever cancel (`background()`, a value layer or
 * a `withoutCancel` over one): a wait under it needs no cancel subscription, so need not make one.
 */
export function neverCancelled(ctx: Context): boolean {
  return ctx instanceof Ctx && ctx._src === null;
}

/**
 * What a wait under `ctx` rejects with when its cancel subscription fires with `err`: `ctx.err`.
 * They differ only under a foreign context that lends a Tether context's signal and says what its
 * cancellation is itself (an adapter whose `err` is an error of its own), or a value layer over
 * one: the subscription follows the Tether node, which fires with the node's err, but the wait was
 * asked under the adapter. `err` when the context does not say (yet), or cannot: so it also
 * reads any context's err safely, with a fallback (group reads a foreign parent's with it).
 */
export function waitErr<F>(ctx: Context, err: F): Error | F {
  try {
    const e: unknown = ctx.err;
    return e !== null && typeof e === "object" ? (e as Error) : err;
  } catch {
    return err;
  }
}

/**
 * Links `sub` (a Sub subclass that overrides `_fire`, or any {@link Subscriber}) into the
 * cancellation of `ctx`. Returns false, linking nothing, when `ctx` can never be cancelled. The
 * caller checks first that `ctx` is alive; if it has been cancelled since (code of the caller's
 * ran in between, or a foreign context's signal aborted while its err still read undefined),
 * nothing is linked and `sub._fire` is called in a microtask, which `unsubscribe` cannot stop: a
 * subscriber must then ignore a call that comes after it was withdrawn or served.
 */
export function subscribeWith(ctx: Context, sub: Subscriber): boolean {
  const src = ctx instanceof Ctx ? ctx._src : ctx;
  if (src === null) return false;
  const owner = src instanceof CancelNode ? src : ownerOf(src as Context);
  if (owner === null) return false;
  if (owner === undefined || owner.err !== undefined) {
    // Cancelled since the caller checked: a foreign context whose signal aborted while its err
    // still read undefined, or any context that the caller's code cancelled in between (a foreign
    // context's `err` getter that cancels, asked while a primitive looked for a waiter to serve).
    // A cancelled node calls no subscriber ever again: this one is called here, in a microtask.
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
export function cancelNode(node: CancelNode, err: Error, cause: unknown, foreign = false): void {
  if (node.err !== undefined) return;
  const c = cause === undefined ? err : cause;
  if (node._owner !== null) unlink(node);
  node.err = err;
  node._cause = c;
  // Even for a cancel made here, odd for one that came from a signal Tether does not own (see
  // `cancelEpoch`): the clock still only goes up, which is all the driver asks of it.
  cancels.epoch += 2;
  const epoch = foreign ? cancels.epoch - 1 : cancels.epoch;
  node._epoch = epoch;
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
        m._epoch = epoch;
        stack.push(m);
      } else if (m instanceof Follow) {
        // A context that follows this one's signal: cancelled as a descendant, with the cause
        // its signal aborts with, and unlinked from its own parent, as cancelling it would.
        const f = m._node;
        if (f.err === undefined) {
          if (f._owner !== null) unlink(f);
          f.err = err;
          f._cause = c;
          f._epoch = epoch;
          stack.push(f);
        }
      } else fired.push(m);
      m = next;
    }
  }
  for (const m of fired) {
    if (m instanceof CancelNode) release(m);
    else m._fire(err);
  }
}

/**
 * Lets go of what a cancelled node holds, once: its deadline timer, its foreign `abort` listener,
 * its subscription to a followed signal; then resolves `done`, aborts `signal` and tells the debug
 * hooks.
 */
export function release(n: CancelNode): void {
  if (n._timer !== undefined) {
    clearTimeout(n._timer);
    n._timer = undefined;
    live.timers--;
  }
  const l = n._listener;
  if (l !== undefined) {
    n._listener = undefined;
    live.foreignListeners--;
    try {
      l[0].removeEventListener("abort", l[1]);
    } catch (error) {
      // A foreign signal that refuses (a revoked Proxy, a polyfill that throws). Letting go goes
      // on: the throw would escape whatever let go of the node, a cancel half done or a wait list
      // halfway through serving a waiter, and lose that work. The error is not swallowed: it is
      // thrown again in a microtask, an uncaught exception, as the platform reports a throwing
      // event listener's.
      queueMicrotask(() => {
        throw error;
      });
    }
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
  const node = new CancelNode(p, Kind.Cancel, parentDeadline(p, "withCancel"));
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
  const node = new CancelNode(p, Kind.CancelCause, parentDeadline(p, "withCancelCause"));
  attach(node, p);
  const cancel = (c?: unknown): void => cancelNode(node, Canceled, c);
  if (hooks.created !== undefined) hooks.created(node, cancel);
  return [node, cancel];
}

/**
 * @internal Which cancel reached `ctx`: the {@link cancels} count of the cancel call whose cascade
 * cancelled its node — the same number for every context that one call reached, through children,
 * value layers, `withSignal` contexts following a Tether signal and foreign wrappers lending one,
 * and for contexts derived from them afterwards. Undefined while `ctx` is alive, and when the
 * cancel came from somewhere Tether cannot see: a signal it does not own, a foreign context over
 * one. It never throws.
 */
export function cancelEpoch(ctx: Context): number | undefined {
  try {
    const src = ctx instanceof Ctx ? ctx._src : ctx;
    if (src === null) return undefined;
    let node: CancelNode | undefined;
    if (src instanceof CancelNode) node = src;
    else {
      const foreign = src as Context;
      if (foreign.err === undefined) return undefined;
      node = owners.get(foreign.signal);
    }
    if (node === undefined || node.err === undefined) return undefined;
    const e = node._epoch;
    return e === 0 || e % 2 === 1 ? undefined : e;
  } catch {
    return undefined;
  }
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
  // A signal without a `reason` (a polyfill older than it) gives the err, as one not aborted yet does.
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  return reason === undefined ? err : reason;
}
