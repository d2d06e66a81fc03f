/**
 * Context carries a cancellation signal, a deadline and request-scoped values across API
 * boundaries, like Go's `context.Context`. Tether's contexts form a tree: cancelling one cancels
 * every descendant before the cancel function returns. Any object of this shape may serve as a
 * parent; Tether follows it through its `signal`.
 *
 * @example Derive, cancel, observe
 * ```ts
 * import { background, withCancel } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * ctx.signal.addEventListener("abort", () => console.log("aborted"));
 * cancel();
 * console.assert(ctx.err !== undefined);
 * ```
 */
export interface Context {
  /** The deadline in epoch milliseconds (the `Date.now()` scale), the earliest in the chain. */
  readonly deadline: number | undefined;
  /** `undefined` while the context is alive; then `Canceled` or `DeadlineExceeded`, never changing. */
  readonly err: Error | undefined;
  /** Resolves once the context is cancelled; never rejects. The same promise on every read. */
  readonly done: Promise<void>;
  /** Aborts once the context is cancelled, with `reason` = `cause(ctx)`. The same signal on every read. */
  readonly signal: AbortSignal;
  /** The value stored under `key` by the nearest `withValue` above, or `undefined`. */
  value<T>(key: Key<T>): T | undefined;
}

declare const keyType: unique symbol;

/**
 * Key is a typed, identity-compared key for {@link withValue}. Make one with {@link createKey}.
 *
 * @example
 * ```ts
 * import { createKey, type Key } from "@tether/core";
 * const userId: Key<string> = createKey<string>("userId");
 * console.assert(String(userId) === "userId");
 * ```
 */
export interface Key<T> {
  /** The name given to {@link createKey}: what the key prints as. Two keys may share one. */
  readonly name: string;
  /**
   * Phantom field that carries `T`; it does not exist at run time. Required, so that only
   * {@link createKey} makes a Key, not any object with a `name`.
   */
  readonly [keyType]: T;
}

class KeyImpl {
  constructor(readonly name: string) {
    Object.freeze(this);
  }
  toString(): string {
    return this.name;
  }
}

/** Whether `k` is a key made by createKey. */
export function isKey(k: unknown): k is Key<unknown> {
  return k instanceof KeyImpl;
}

/**
 * createKey makes a new key for {@link withValue}. Keys compare by identity: two keys made with the
 * same name never collide. The name is used only when printing.
 *
 * @example
 * ```ts
 * import { background, createKey, withValue } from "@tether/core";
 * const a = createKey<number>("id");
 * const b = createKey<number>("id");
 * const ctx = withValue(background(), a, 1);
 * console.assert(ctx.value(a) === 1 && ctx.value(b) === undefined);
 * ```
 */
export function createKey<T>(name: string): Key<T> {
  if (typeof name !== "string") throw new TypeError(`createKey: name must be a string, received ${describe(name)}`);
  return new KeyImpl(name) as unknown as Key<T>;
}

/**
 * The base of every Tether context. `_src` is the nearest context at or above this one whose
 * cancellation this one shares: a cancel node, a foreign Context, or null when nothing above can
 * ever be cancelled. `_values` is the nearest ValueCtx, and ValueCtx layers link only to each
 * other, so a lookup skips cancel and timer layers with one comparison per value layer.
 * `_fvalues` is a foreign Context below the chain, asked when the chain has no match.
 */
export abstract class Ctx implements Context {
  _src: Ctx | Context | null;
  _values: ValueCtx | null;
  _fvalues: Context | null;

  /** Takes the value chain of `parent`: a Tether context's, or a foreign one to ask. */
  constructor(src: Ctx | Context | null, parent: Context | null) {
    this._src = src;
    if (parent === null) {
      this._values = null;
      this._fvalues = null;
    } else if (parent instanceof Ctx) {
      this._values = parent._values;
      this._fvalues = parent._fvalues;
    } else {
      this._values = null;
      this._fvalues = parent;
    }
  }

  abstract get deadline(): number | undefined;
  abstract get err(): Error | undefined;
  abstract get done(): Promise<void>;
  abstract get signal(): AbortSignal;

  value<T>(key: Key<T>): T | undefined {
    for (let v = this._values; v !== null; v = v._up) if (v._key === key) return v._val as T;
    // Only keys made by createKey are ever stored, so checking the argument can wait for a miss.
    // A foreign parent is asked for any object: it may be another copy of Tether, whose keys this
    // copy does not recognise, and it checks the keys it is given itself.
    const f = this._fvalues;
    if (f !== null && typeof key === "object" && key !== null) return f.value(key);
    if (!isKey(key)) throw new TypeError(`value: key must be a Key made by createKey(), received ${describe(key)}`);
    return undefined;
  }

  /** This layer's part of the lineage: ".withCancel()", ".withValue(k, 1)", or a root's name. */
  abstract _segment(): string;
  /** The context this layer was derived from, as the lineage prints it; null for a root. */
  abstract _lineageParent(): Context | null;

  /**
   * The lineage, root first: "background().withCancel().withValue(user, 7)". Built by walking up,
   * not by each layer printing its parent, so a chain thousands of layers deep prints too.
   */
  toString(): string {
    const parts: string[] = [];
    let x: Context | null = this;
    while (x instanceof Ctx) {
      parts.push(x._segment());
      x = x._lineageParent();
    }
    let s = x === null ? "" : String(x);
    for (let i = parts.length - 1; i >= 0; i--) s += parts[i];
    return s;
  }
}

type SetMaxListeners = (n: number, ...targets: EventTarget[]) => void;
/**
 * Node's `events.setMaxListeners`, where the runtime offers it without an import
 * (`process.getBuiltinModule`, Node ≥ 20.16); elsewhere nothing warns, so nothing is needed.
 */
const setMaxListeners: SetMaxListeners | undefined = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const events = proc?.getBuiltinModule?.("node:events") as { setMaxListeners?: SetMaxListeners } | undefined;
  return events?.setMaxListeners;
})();

/**
 * One Tether signal serves every task and value layer on its context (and one never-aborting
 * signal serves every context that cannot be cancelled), so eleven tasks passing `ctx.signal` to
 * `fetch` is normal use, not a leak: exempt it from Node's warning at ten.
 */
export function unlimitListeners(signal: AbortSignal): void {
  setMaxListeners?.(0, signal);
}

// Each context that can never be cancelled gets its own never-settling `done` and never-aborting
// `signal`, made on first read: reactions and listeners that code attaches to them (a
// Promise.race against ctx.done per operation) then die with the context, rather than pile up on
// one object shared by every such context for the life of the process.
const neverDones = new WeakMap<object, Promise<void>>();
const neverSignals = new WeakMap<object, AbortSignal>();
const neverAbortingSignals = new WeakSet<AbortSignal>();

/** The promise that never settles of `ctx`, a context that can never be cancelled. */
export function never(ctx: object): Promise<void> {
  let p = neverDones.get(ctx);
  if (p === undefined) {
    p = new Promise<void>(() => {});
    neverDones.set(ctx, p);
  }
  return p;
}

/** The signal that never aborts of `ctx`, a context that can never be cancelled. */
export function neverAborts(ctx: object): AbortSignal {
  let s = neverSignals.get(ctx);
  if (s === undefined) {
    s = new AbortController().signal;
    unlimitListeners(s);
    neverAbortingSignals.add(s);
    neverSignals.set(ctx, s);
  }
  return s;
}

/** Whether `signal` is one that never aborts: following it would only gather listeners. */
export function isNeverAborts(signal: AbortSignal): boolean {
  return neverAbortingSignals.has(signal);
}

class RootCtx extends Ctx {
  constructor(private readonly _name: string) {
    super(null, null);
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
    return this._name;
  }
  _lineageParent(): null {
    return null;
  }
}

const bg = new RootCtx("background()");
const td = new RootCtx("todo()");

/**
 * background returns the root context: never cancelled, no deadline, no values. Use it at the top
 * of `main`, in tests and for long-lived servers. Every call returns the same object.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * console.assert(background().err === undefined && background() === background());
 * ```
 */
export function background(): Context {
  return bg;
}

/**
 * todo returns a root context like {@link background}, marking a place where the right context is
 * not yet plumbed through. It prints as `todo()` so it stands out in logs.
 *
 * @example
 * ```ts
 * import { todo } from "@tether/core";
 * console.assert(String(todo()) === "todo()");
 * ```
 */
export function todo(): Context {
  return td;
}

/** ValueCtx holds one key/value pair; everything but lookup delegates to its parent. */
export class ValueCtx extends Ctx {
  /** The next value layer up; the chain holds nothing else. */
  readonly _up: ValueCtx | null;
  readonly deadline: number | undefined;
  constructor(
    readonly _parent: Context,
    readonly _key: Key<unknown>,
    readonly _val: unknown,
    deadline: number | undefined,
  ) {
    super(_parent instanceof Ctx ? _parent._src : _parent, _parent);
    this._up = this._values;
    this._values = this;
    this.deadline = deadline;
  }
  get err(): Error | undefined {
    const s = this._src;
    return s === null ? undefined : s.err;
  }
  get done(): Promise<void> {
    const s = this._src;
    return s === null ? never(this) : s.done;
  }
  get signal(): AbortSignal {
    const s = this._src;
    return s === null ? neverAborts(this) : s.signal;
  }
  _segment(): string {
    return `.withValue(${this._key.name}, ${describe(this._val)})`;
  }
  _lineageParent(): Context {
    return this._parent;
  }
}

/**
 * Checks that `parent` is a Context (a Tether one, or any object of the interface's shape) and
 * returns it typed; otherwise throws a TypeError that names the function and the value received.
 */
export function asContext(parent: unknown, fn: string, arg = "parent"): Context {
  const c = toContext(parent);
  if (c === null) throw contextError(parent, fn, arg);
  return c;
}

/**
 * `x` as a Context, or null when it is not one that can be used: for a function that returns a
 * promise, which reports a bad argument by rejecting with {@link contextError}, not by throwing.
 */
export function toContext(x: unknown): Context | null {
  try {
    return x instanceof Ctx ? x : foreignContext(x);
  } catch {
    // `instanceof` runs a Proxy's getPrototypeOf trap, which may throw (or be revoked).
    return null;
  }
}

/** Whether `x` has the shape of a Context, reading what that takes; false if reading throws. */
function shapedLikeContext(x: unknown): x is Context {
  try {
    return (
      x !== null &&
      typeof x === "object" &&
      typeof (x as Context).value === "function" &&
      "err" in x &&
      "done" in x &&
      isSignal((x as Context).signal)
    );
  } catch {
    // A Proxy whose traps throw, or a getter that does: not a Context that can be followed.
    return false;
  }
}

/**
 * Every wait reads a defined err as "cancelled": an err of null (a Go-style nil) would make each
 * reject with null, while deriving from it worked. So an err must be undefined or an object.
 */
function badErr(err: unknown): boolean {
  return err !== undefined && (err === null || typeof err !== "object");
}

/**
 * A context Tether did not make, if usable: shaped like one, with an err that is undefined or an
 * object.
 */
function foreignContext(x: unknown): Context | null {
  if (!shapedLikeContext(x)) return null;
  try {
    return badErr(x.err) ? null : x;
  } catch {
    return null;
  }
}

/**
 * The deadline of `parent`, read to derive a child from it. A foreign parent's must be undefined or
 * a number that is not NaN, else a TypeError naming `fn`: one of null (a Go-style nil, meant as
 * "none") compares as 0, a deadline long past, so the child left its expiry to the parent, armed no
 * timer of its own and never expired; a Date or a bigint would pass through to the child's
 * `deadline`, typed a number. Only deriving reads a deadline, so only deriving checks it; a
 * function that derives for its caller (`Group`, `run`) checks first, under its own name.
 */
export function parentDeadline(parent: Context, fn: string, arg = "parent"): number | undefined {
  if (parent instanceof Ctx) return parent.deadline;
  let d: unknown;
  try {
    d = parent.deadline;
  } catch {
    // As for a Proxy or getter that throws when the context is first checked (see contextError).
    throw new TypeError(`${fn}: ${arg}.deadline cannot be read`);
  }
  if (d !== undefined && (typeof d !== "number" || Number.isNaN(d))) {
    throw new TypeError(`${fn}: ${arg}.deadline must be undefined or a number of epoch milliseconds, received ${describe(d)}`);
  }
  return d as number | undefined;
}

/** The TypeError for a `parent` that is not a usable Context, naming the function and the argument. */
export function contextError(parent: unknown, fn: string, arg: string): TypeError {
  if (shapedLikeContext(parent)) {
    let err: unknown;
    try {
      err = parent.err;
    } catch {
      return new TypeError(`${fn}: ${arg}.err cannot be read`);
    }
    if (badErr(err)) return new TypeError(`${fn}: ${arg}.err must be undefined or an Error, received ${describe(err)}`);
  }
  return new TypeError(`${fn}: ${arg} must be a Context, received ${describe(parent)}`);
}

/** Whether `s` can be followed as an AbortSignal: it says whether it aborted, and takes and gives back listeners. */
function isSignal(s: unknown): boolean {
  if (s === null || typeof s !== "object") return false;
  const t = s as AbortSignal;
  return typeof t.aborted === "boolean" && typeof t.addEventListener === "function" && typeof t.removeEventListener === "function";
}

/**
 * The name of `fn` for labels and `dump()`, or `fallback`: a name that is not a non-empty string (a
 * Symbol, a getter that returns anything) or cannot be read (a getter that throws, a revoked
 * Proxy) must not break the call that only wanted a label.
 */
export function functionName(fn: unknown, fallback: string): string {
  try {
    const n: unknown = (fn as { name?: unknown }).name;
    return typeof n === "string" && n !== "" ? n : fallback;
  } catch {
    return fallback;
  }
}

/** Checks that `fn` is a function, naming the caller and the argument otherwise. */
export function asFunction<F>(fn: F, caller: string, arg: string): F {
  if (typeof fn !== "function") throw new TypeError(`${caller}: ${arg} must be a function, received ${describe(fn)}`);
  return fn;
}

/** A short, safe rendering of any value for error messages and lineage. */
export function describe(v: unknown): string {
  try {
    return describeUnsafe(v);
  } catch {
    // A revoked Proxy, or a getter that throws: the message being built must still be made.
    return "<uninspectable value>";
  }
}

function describeUnsafe(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    case "number":
      // String(-0) is "0": a message about a bad -0 would show a value that looks valid.
      return Object.is(v, -0) ? "-0" : String(v);
    case "boolean":
    case "undefined":
      return String(v);
    case "bigint":
      return `${v}n`;
    case "symbol":
      return v.toString();
    case "function":
      return `function ${v.name || "(anonymous)"}`;
    default: {
      if (v === null) return "null";
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
      if (v instanceof Error) return `${v.name}(${JSON.stringify(v.message)})`;
      if (v instanceof KeyImpl) return `Key(${v.name})`;
      if (Array.isArray(v)) return `array(${v.length})`;
      const ctor = (v as { constructor?: { name?: unknown } }).constructor;
      if (typeof ctor === "function" && typeof ctor.name === "string" && ctor.name !== "") return `<${ctor.name}>`;
      // Objects with no named constructor, such as an async generator's, often carry a tag.
      const tag = (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
      return `<${typeof tag === "string" && tag !== "" ? tag : "Object"}>`;
    }
  }
}

