import { hooks } from "./counters.js";
import { type Context, type Key, ValueCtx, asContext, describe, isKey, parentDeadline } from "./context.js";

/**
 * withValue returns a child of `parent` that carries `value` under `key`; lookups of other keys go
 * on to the parent. Keys are made by {@link createKey} and compare by identity, and `T` ties the
 * value's type to the key. Store request-scoped data that crosses API boundaries (a request id,
 * auth claims), not optional parameters, and prefer immutable values: every task that shares the
 * context sees the same object.
 *
 * @example
 * ```ts
 * import { background, createKey, withValue } from "@tether/core";
 * const requestId = createKey<string>("requestId");
 * const ctx = withValue(background(), requestId, "req-42");
 * const id: string | undefined = ctx.value(requestId);
 * console.assert(id === "req-42");
 * ```
 */
export function withValue<T>(parent: Context, key: Key<T>, value: NoInfer<T>): Context {
  const p = asContext(parent, "withValue");
  if (!isKey(key)) {
    throw new TypeError(`withValue: key must be a Key made by createKey(), received ${describe(key)}`);
  }
  const ctx = new ValueCtx(p, key, value, parentDeadline(p, "withValue"));
  if (hooks.created !== undefined) hooks.created(ctx, undefined);
  return ctx;
}
