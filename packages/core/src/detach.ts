import { hooks } from "./counters.js";
import { Ctx, type Context, asContext, never, neverAborts } from "./context.js";

class DetachedCtx extends Ctx {
  constructor(private readonly _parent: Context) {
    super(null, _parent);
  }
  get deadline(): undefined {
    return undefined;
  }
  get err(): undefined {
    return undefined;
  }
  get done(): Promise<void> {
    return never(this);
  }
  get signal(): AbortSignal {
    return neverAborts(this);
  }
  _segment(): string {
    return ".withoutCancel()";
  }
  _lineageParent(): Context {
    return this._parent;
  }
}

/**
 * withoutCancel returns a context that keeps `parent`'s values but is never cancelled by it and
 * has no deadline. Use it for work that must outlive the request that started it (an audit write
 * after the response), and give that work its own timeout: children of the detached context can
 * still be cancelled and timed out.
 *
 * @example
 * ```ts
 * import { background, withCancel, withoutCancel } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * const detached = withoutCancel(ctx);
 * cancel();
 * console.assert(ctx.err !== undefined && detached.err === undefined);
 * ```
 */
export function withoutCancel(parent: Context): Context {
  const ctx = new DetachedCtx(asContext(parent, "withoutCancel"));
  if (hooks.created !== undefined) hooks.created(ctx, undefined);
  return ctx;
}
