// The bridges that carry a foreign signal's abort into the tree. This module and cancel.ts import
// each other, but each calls the other's functions only at run time, and Bridge extends CancelNode
// from node.ts, so either may be loaded first.
import { cancelNode, release } from "./cancel.js";
import { type Context, background, isNeverAborts } from "./context.js";
import { live } from "./counters.js";
import { Canceled, DeadlineExceeded, DeadlineExceededError, errorIs } from "./errors.js";
import { CancelNode, Follow, Kind, Sub, append, owners } from "./node.js";

/** The error a foreign context reports, defaulting to Canceled for one that reports none. */
/**
 * A foreign signal's `reason`, read once, inside an abort listener or a cancel where a throw would
 * leave followers alive: undefined if its getter throws (the cause is then the err), and what it
 * threw is thrown again in a microtask, an uncaught exception, not swallowed.
 */
function reasonOf(signal: AbortSignal): unknown {
  try {
    return signal.reason;
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
    return undefined;
  }
}

export function foreignErr(ctx: Context): Error {
  try {
    const e = ctx.err;
    return e instanceof Error ? e : Canceled;
  } catch (thrown) {
    // Its `err` getter throws, inside an abort listener where a throw would leave the children
    // alive: they are cancelled, with what the getter threw as their err when it is an Error.
    return thrown instanceof Error ? thrown : Canceled;
  }
}

/**
 * Bridge carries the cancellation of a signal Tether does not own into the tree. It holds the one
 * `abort` listener that every Tether context following that signal (or a foreign context with that
 * signal) shares, so a thousand live children of a server's signal add one listener, not a
 * thousand — Node warns past ten. It drops its listener when its last follower leaves, so a
 * long-lived signal gathers nothing.
 */
class Bridge extends CancelNode {
  constructor(private readonly _signal: AbortSignal) {
    super(background(), Kind.Hidden, undefined);
    const listener = (): void => {
      signalBridges.delete(_signal);
      const reason = reasonOf(_signal);
      cancelNode(this, errForReason(reason), reason, true);
    };
    _signal.addEventListener("abort", listener);
    this._listener = [_signal, listener];
    live.foreignListeners++;
    signalBridges.set(_signal, this);
  }

  /** The last follower unlinked: release the listener and forget the bridge. */
  override _emptied(): void {
    signalBridges.delete(this._signal);
    release(this);
  }
}

/**
 * The node that the Tether children of one foreign context join. It follows its signal's shared
 * {@link Bridge}, and is cancelled with the context's own `err`: two foreign contexts may share a
 * signal and still report different errors.
 */
class ContextBridge extends CancelNode {
  constructor(
    private readonly _ctx: Context,
    signal: AbortSignal,
  ) {
    super(_ctx, Kind.Hidden, undefined);
    const sub = new Sub(() => {
      contextBridges.delete(_ctx);
      cancelNode(this, foreignErr(_ctx), reasonOf(signal), true);
    }, "foreign context");
    // Recorded only once it follows the signal: a Bridge whose `addEventListener` throws leaves no
    // record, so the next child of this context tries again.
    append(signalBridges.get(signal) ?? new Bridge(signal), sub);
    this._follow = sub;
    contextBridges.set(_ctx, this);
  }

  /** The last follower unlinked: stop following the signal (the bridge may then let it go). */
  override _emptied(): void {
    contextBridges.delete(this._ctx);
    release(this);
  }
}

const contextBridges = new WeakMap<object, ContextBridge>();
const signalBridges = new WeakMap<object, Bridge>();

/**
 * A reason that says the signal timed out maps to DeadlineExceeded: AbortSignal.timeout's
 * `TimeoutError`, or a Tether deadline error (or one wrapping it) that a Tether context's signal
 * carried through `AbortSignal.any` or a framework's own controller.
 */
export function errForReason(reason: unknown): Error {
  try {
    if (reason instanceof Error && reason.name === "TimeoutError") return DeadlineExceeded;
    return errorIs(reason, DeadlineExceededError) ? DeadlineExceeded : Canceled;
  } catch {
    // A reason whose `name` or `cause` getter throws (or a Proxy that does) says nothing about a
    // deadline. This runs inside an abort listener, where a throw would leave the node alive.
    return Canceled;
  }
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
export function ownerOf(ctx: Context): CancelNode | undefined | null {
  const signal = ctx.signal;
  if (isNeverAborts(signal)) return null;
  const owner = owners.get(signal) ?? contextBridges.get(ctx);
  if (owner !== undefined || signal.aborted) return owner;
  return new ContextBridge(ctx, signal);
}

/**
 * The node a follower of foreign context `ctx` would join if one is linked now, without making a
 * bridge: for counting. Undefined when there is none, or when the context cannot be read.
 */
export function linkedOwnerOf(ctx: Context): CancelNode | undefined {
  try {
    return owners.get(ctx.signal) ?? contextBridges.get(ctx);
  } catch {
    return undefined;
  }
}

/**
 * Makes `node` also follow `signal`: an abort cancels it with `errForReason(reason)` and the
 * reason as cause. The caller has checked that the signal has not aborted.
 */
export function followSignal(node: CancelNode, signal: AbortSignal): void {
  if (isNeverAborts(signal)) return;
  const owner = owners.get(signal) ?? signalBridges.get(signal) ?? new Bridge(signal);
  const sub = new Follow(node);
  if (owner.err !== undefined) {
    cancelNode(node, owner.err, owner._cause);
    // Born cancelled by the cancel that reached the signal's node: see `cancelEpoch`.
    node._epoch = owner._epoch;
    return;
  }
  append(owner, sub);
  node._follow = sub;
}
