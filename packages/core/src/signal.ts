import { errForSignal, followSignal } from "./bridge.js";
import { attach, cancelNode } from "./cancel.js";
import { CancelNode, Kind, owners } from "./node.js";
import { type Context, asContext, describe, parentDeadline } from "./context.js";
import { hooks } from "./counters.js";
import { Canceled } from "./errors.js";

function isSignal(s: unknown): s is AbortSignal {
  return (
    s !== null &&
    typeof s === "object" &&
    typeof (s as AbortSignal).addEventListener === "function" &&
    typeof (s as AbortSignal).removeEventListener === "function" &&
    typeof (s as AbortSignal).aborted === "boolean"
  );
}

/**
 * withSignal returns a child of `parent` that is also cancelled when `signal` aborts, with
 * {@link cause} = `signal.reason`. `ctx.err` is `DeadlineExceeded` when the reason is a
 * `TimeoutError` (as from `AbortSignal.timeout`) or a `DeadlineExceededError` (a Tether deadline's
 * signal passed through `AbortSignal.any`, say), else `Canceled`. However many contexts follow
 * one signal, Tether adds a single listener to it, and removes it when the last of them is
 * cancelled, so a long-lived signal gathers nothing and Node never warns about listeners.
 *
 * @example Bridge a framework's request signal
 * ```ts
 * import { background, withSignal, cause } from "@tether/core";
 * const ac = new AbortController();
 * const [ctx, cancel] = withSignal(background(), ac.signal);
 * ac.abort("client went away");
 * console.assert(cause(ctx) === "client went away");
 * cancel();
 * ```
 */
export function withSignal(parent: Context, signal: AbortSignal): [ctx: Context, cancel: () => void] {
  const p = asContext(parent, "withSignal");
  if (!isSignal(signal)) throw new TypeError(`withSignal: signal must be an AbortSignal, received ${describe(signal)}`);
  const node = new CancelNode(p, Kind.Signal, parentDeadline(p, "withSignal"));
  attach(node, p);
  if (node.err === undefined) {
    try {
      if (signal.aborted) {
        const owner = owners.get(signal);
        cancelNode(node, errForSignal(signal), signal.reason, owner === undefined);
        // Born cancelled by the cancel that reached the signal's node: see `cancelEpoch`.
        if (owner !== undefined) node._epoch = owner._epoch;
      }
      else followSignal(node, signal);
    } catch (e) {
      // A signal-like object whose `addEventListener` or `reason` throws: the call fails, and
      // cancelling the node unlinks it, so the parent is left as it was.
      cancelNode(node, Canceled, e);
      throw e;
    }
  }
  const cancel = (): void => cancelNode(node, Canceled, undefined);
  if (hooks.created !== undefined) hooks.created(node, cancel);
  return [node, cancel];
}
