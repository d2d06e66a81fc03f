import { background, withCancelCause, type Context } from "@tether/core";

/**
 * A foreign context over a Tether one that says its cancellation is an error of its own (`own`):
 * an adapter a framework might write over a request's context. It lends the Tether context's
 * signal, so Tether follows it through that context. `cancel` cancels the Tether context, with
 * the cause given, if any.
 */
export function adapter(): { ctx: Context; cancel: (cause?: unknown) => void; own: Error } {
  const [inner, cancel] = withCancelCause(background());
  const own = new Error("request aborted");
  const ctx: Context = {
    deadline: undefined,
    get err() {
      return inner.err === undefined ? undefined : own;
    },
    get done() {
      return inner.done;
    },
    signal: inner.signal,
    value: (key) => inner.value(key),
  };
  return { ctx, cancel, own };
}
