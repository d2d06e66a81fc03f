import { type Context, Ctx, asContext, asFunction, background, describe, functionName } from "./context.js";
import { live } from "./counters.js";
import { errorIs } from "./errors.js";
import { cause, subscribe, waitErr } from "./cancel.js";
import { CancelNode, type Sub, cancels } from "./node.js";
import { keep } from "./keep.js";
import { giveTurn, turnDue } from "./slice.js";
import { suppressed } from "./suppressed.js";

/**
 * Task is the unit of work every Tether scope runs: a function of the context that returns a value,
 * a promise, or an async generator (an `async function*`) whose `yield`s are interruption points.
 *
 * @example The three shapes
 * ```ts
 * import { type Task, background, runTask, sleep, until } from "@tether/core";
 * const plain: Task<number> = () => 1;
 * const asyncFn: Task<number> = async (ctx) => (await sleep(ctx, 1), 2);
 * const generator: Task<number> = async function* () {
 *   yield; // a checkpoint
 *   return yield* until(Promise.resolve(3));
 * };
 * const results = await Promise.all([plain, asyncFn, generator].map((task) => runTask(background(), task)));
 * console.assert(results.join() === "1,2,3");
 * ```
 */
export type Task<T> = (ctx: Context) => T | PromiseLike<T> | AsyncGenerator<unknown, T, unknown>;

/**
 * TaskResult is the value a task settles with: a generator's return value, or the awaited result.
 *
 * @example
 * ```ts
 * import type { TaskResult } from "@tether/core";
 * const fetchCount = async (): Promise<number> => 3;
 * async function* pages(): AsyncGenerator<unknown, string[], unknown> {
 *   return ["a"];
 * }
 * const n: TaskResult<typeof fetchCount> = 3; // number
 * const p: TaskResult<typeof pages> = ["a"]; // string[]
 * console.assert(n === 3 && p.length === 1);
 * ```
 */
export type TaskResult<F> = F extends (ctx: Context) => infer R
  ? R extends AsyncGenerator<unknown, infer T, unknown>
    ? T
    : Awaited<R>
  : never;

/**
 * What `dump()` knows of a task that runTask started and that has not settled. Records form an
 * intrusive doubly linked list from `firstTask`, so starting and ending a task allocate nothing else.
 */
export class TaskRecord {
  /**
   * "running" or "at a checkpoint"; or, while `_on` is set, the task waits in `until` for that.
   * The wait's text is made only when printed: `describe` at every wait cost it several percent.
   */
  _state = "running";
  /** What the task waits for in `until`, or null. */
  _on: PromiseLike<unknown> | null = null;
  /** For a generator task: whether it failed in its cleanup, after the cancel reached it. */
  cleanupFailed = false;
  /** The promise watched for the task's outcome: the driver's, for a generator task. */
  promise: Promise<unknown> | null = null;
  _ended = false;
  _prev: TaskRecord | null = null;
  _next: TaskRecord | null = firstTask;
  constructor(
    private readonly _task: Task<unknown>,
    private readonly _name: string | undefined,
    readonly ctx: Context,
    readonly generator: boolean,
  ) {
    if (firstTask !== null) firstTask._prev = this;
    firstTask = this;
    live.tasks++;
  }

  /** "running", "at a checkpoint", or what it waits for: "until(<Promise>)". */
  get state(): string {
    return this._on !== null ? `until(${describe(this._on)})` : this._state;
  }

  /** The name given in the options, else the function's (read only when printing: it is slow). */
  get name(): string {
    return this._name ?? functionName(this._task, "anonymous");
  }

  /** Unlinks the record once the task has settled; true the first time, false after. */
  end(): boolean {
    if (this._ended) return false;
    this._ended = true;
    if (this._prev !== null) this._prev._next = this._next;
    else firstTask = this._next;
    if (this._next !== null) this._next._prev = this._prev;
    live.tasks--;
    return true;
  }
}

let firstTask: TaskRecord | null = null;

/** Every task runTask has started and that has not settled, newest first. */
export function* runningTasks(): Generator<TaskRecord, void, undefined> {
  for (let t = firstTask; t !== null; t = t._next) yield t;
}

/**
 * RunTaskOptions are the options of {@link runTask}.
 *
 * @example
 * ```ts
 * import { background, runTask, type RunTaskOptions } from "@tether/core";
 * const options: RunTaskOptions = { name: "warm cache" };
 * console.assert((await runTask(background(), () => 1, options)) === 1);
 * ```
 */
export interface RunTaskOptions {
  /** How `dump()` names the task. Default: the function's name. */
  name?: string | undefined;
}

/**
 * The watch on one promise given to `until`: its single reaction records the outcome and hands it
 * to the drivers waiting for it. Every `until` of the same promise shares it, so waits abandoned on
 * a long-lived promise (a server's "shutting down") leave nothing on it, however many there were.
 */
class Watch {
  /** The promise's outcome, once its reaction has run. */
  outcome: Step | undefined = undefined;
  /** The drivers waiting for the outcome, each leaving on cancel; made when the first one comes. */
  waiters: Set<(step: Step) => void> | null = null;

  /** @param promise What `until` was given: a promise of any kind, or a thenable. */
  constructor(readonly promise: PromiseLike<unknown>) {
    const ok = (value: unknown): void => this.settle({ ok: true, value });
    const fail = (error: unknown): void => this.settle({ ok: false, error });
    // A plain native promise is watched with the native then, one step from its settling. Anything
    // else — a subclass (whose then may start lazy work), another realm's promise, a thenable — is
    // adopted as await adopts it, through its own then, two steps more.
    let plain = false;
    try {
      plain = Object.getPrototypeOf(promise) === Promise.prototype;
      if (plain) nativeThen.call(promise, ok, fail);
    } catch {
      // A Proxy: it may look like a native promise and still not be one. Adopted below.
      plain = false;
    }
    if (plain) return;
    // A real promise of another kind is marked handled at once, whatever queue its own then runs
    // on (another vm context's may never drain), so a rejection is never reported as unhandled.
    try {
      nativeThen.call(promise, undefined as never, noop);
    } catch {
      // Not a real promise: the adoption below handles it.
    }
    void Promise.resolve(promise).then(ok, fail);
  }

  settle(step: Step): void {
    this.outcome = step;
    const ws = this.waiters;
    if (ws === null) return;
    this.waiters = null;
    for (const w of ws) w(step);
  }
}

/**
 * A base class whose constructor returns the object it is given, so that a subclass's private
 * field is added to that object: a way to hang data on an object one did not make.
 */
class Stamp {
  constructor(o: object) {
    return o;
  }
}

/**
 * The watch shared by every `until` of one promise, kept on the promise itself as a private field
 * (which no code outside this class can see or change). Not a WeakMap keyed by the promise: an
 * entry per wait, made and dropped at every `until`, made each wait about three times slower,
 * most of it in the garbage collector's handling of weak-map entries.
 */
class Watched extends Stamp {
  #watch: Watch | undefined = undefined;

  /** The watch of `p`, made the first time. */
  static of(p: Promise<unknown>): Watch {
    if (#watch in p) return (p as unknown as Watched).#watch as Watch;
    const kept = unstamped.get(p);
    if (kept !== undefined) return kept;
    const watch = new Watch(p);
    // Making the watch may have run code of the promise's own (a subclass's `then`) that called
    // `until` on it and stamped it already: that watch stays its shared one, and this one serves
    // this wait alone.
    if (#watch in p) return watch;
    try {
      (new Watched(p) as unknown as Watched).#watch = watch;
    } catch {
      // An object that takes no private field: a frozen one, once engines apply the proposal that
      // makes non-extensible objects refuse them. Its watch is kept in the weak map instead.
      unstamped.set(p, watch);
    }
    return watch;
  }
}

/** The watches of promises that could not be stamped (see `Watched.of`); empty in today's engines. */
const unstamped = new WeakMap<object, Watch>();
// Captured at load: a later patch of Promise.prototype.then must not change how waits are watched.
const nativeThen = Promise.prototype.then as (this: unknown, ok: (v: unknown) => void, fail: (e: unknown) => void) => unknown;

/** The instruction `until` yields: the watch on a promise, for the driver to race against the context. */
class Until {
  /** The cancel clock when `until` was called: did the task's context cancel before or after? */
  readonly epoch = cancels.epoch;
  /** Set once the driver has raced it: an instruction taken out and yielded again is refused. */
  used = false;
  constructor(readonly watch: Watch) {}
}

/**
 * Whether `ctx`, cancelled, was cancelled after the wait `u` began: the operation it waits for was
 * asked for first, and what it has already delivered must not be dropped. Unknown for a context
 * that is not Tether's, and taken as before: the wait throws the cancellation, as a yield does.
 */
function cancelledSince(ctx: Context, u: Until): boolean {
  const src = ctx instanceof Ctx ? ctx._src : null;
  return src instanceof CancelNode && src._epoch > u.epoch;
}

/**
 * Whether `ctx`, cancelled, was cancelled after the cancel clock read `epoch`; for a context that
 * is not Tether's, whose cancel cannot be placed, yes.
 */
function cancelledDuring(ctx: Context, epoch: number): boolean {
  const src = ctx instanceof Ctx ? ctx._src : null;
  return !(src instanceof CancelNode) || src._epoch > epoch;
}

/**
 * until waits for `p` inside a generator task, and the wait is interrupted when the task's context
 * is cancelled: `const v = yield* until(p)` gives `p`'s value, throws its rejection, or throws
 * `ctx.err` on cancel. A value `p` had delivered by the time the cancel reached the wait — a lock
 * just granted, a value just received — is never dropped: the task gets it and meets the
 * cancellation at its next `yield`. A rejection gives way to the cancellation, and a wait begun
 * (until called) after the cancel throws it, as a yield does. A promise abandoned on cancel may
 * still reject later; that rejection is handled, never reported as unhandled. One that fulfils
 * later is dropped, so wrap only operations that `ctx` itself cancels (`mu.lock(ctx)`) when the
 * value is a resource to give back — they either fail or hand over — and call `until` where you
 * ask for them; or simply `await` them. For the same reason, run a child task with
 * `yield* child(ctx)` or `await runTask(ctx, child)`, not `until(runTask(...))`: abandoned on
 * cancel, the child's cleanup could outlive this task. (A plain `yield p` would not do: an async
 * generator awaits what it yields before the driver sees it, so that wait cannot be interrupted.)
 *
 * @example
 * ```ts
 * import { background, runTask, until } from "@tether/core";
 * const n = await runTask(background(), async function* () {
 *   const v: number = yield* until(Promise.resolve(41));
 *   return v + 1;
 * });
 * console.assert(n === 42);
 * ```
 */
export function until<T>(p: PromiseLike<T>): AsyncGenerator<unknown, T, unknown> {
  if (p === null || (typeof p !== "object" && typeof p !== "function") || typeof p.then !== "function") {
    throw new TypeError(`until: p must be a promise or a thenable, received ${describe(p)}`);
  }
  // A promise (of any class) is a value: every until() of it shares one watch, which adopts it
  // once. A thenable, or another realm's promise, gets a watch of its own, so a lazy query
  // builder's `then` runs once per until(), as once per await. The watch's reaction handles a
  // rejection from the start: whether the driver races it, finds the task already cancelled, or
  // never sees it (`yield until(p)` without the star), a later rejection is never unhandled.
  const instruction = new Until(p instanceof Promise ? Watched.of(p) : new Watch(p));
  return new UntilWait(instruction) as unknown as AsyncGenerator<unknown, T, unknown>;
}

/**
 * What `until` returns: an async iterator that behaves as `async function* () { return yield
 * instruction; }` would, written out. `yield*` delegates to it in a few promise turns fewer than
 * to an async generator, whose every step goes through its own request queue: `until` is the
 * hot path of every interruptible wait.
 */
class UntilWait {
  /** The instruction to yield, until it has been; then null. */
  #instruction: Until | null;
  /** Whether the wait has finished: every later request answers as a finished generator's does. */
  #done = false;
  constructor(instruction: Until) {
    this.#instruction = instruction;
  }
  next(value?: unknown): Promise<IteratorResult<unknown, unknown>> {
    const i = this.#instruction;
    if (i !== null && !this.#done) {
      this.#instruction = null;
      return Promise.resolve({ value: i, done: false });
    }
    const wasDone = this.#done;
    this.#done = true;
    return Promise.resolve({ value: wasDone ? undefined : value, done: true });
  }
  throw(error: unknown): Promise<never> {
    this.#done = true;
    return Promise.reject(error);
  }
  return(value?: unknown): Promise<IteratorResult<unknown, unknown>> {
    this.#done = true;
    // As a generator's return does, it awaits the value it is given.
    return Promise.resolve(value).then((v) => ({ value: v, done: true }));
  }
  [Symbol.asyncIterator](): this {
    return this;
  }
}


type Step = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * How many microtask steps a cancellation gives a value already on its way to a waiting `until`:
 * one for a primitive's own hand-over; one more for a `select`'s result or a `.then` between the
 * hand-over and the wait; two more for a select callback that returns a promise, or for adopting a
 * promise that is not a plain native one; and one to spare.
 */
const GRACE_HOPS = 5;

function afterHops(n: number, fn: () => void): Promise<void> {
  let p = Promise.resolve();
  for (let i = 1; i < n; i++) p = p.then(noop);
  return p.then(fn);
}

const noop = (): void => {};

/** The step for a wait whose promise had settled when raced: a rejection gives way to a cancellation. */
function knownStep(ctx: Context, known: Step): Step {
  if (known.ok) return known;
  const err = ctx.err;
  return err !== undefined ? { ok: false, error: err } : known;
}

/**
 * Waits for the outcome of `u`'s promise, or for the cancellation of `ctx`, whichever comes first;
 * a value that arrives within the cancel's grace ({@link GRACE_HOPS}) counts as first.
 */
function race(ctx: Context, u: Until, label: string): Promise<Step> {
  const w = u.watch;
  const known = w.outcome;
  if (known !== undefined) return Promise.resolve(knownStep(ctx, known));
  return new Promise<Step>((resolve) => {
    let sub: Sub | null = null;
    let done = false;
    let cancellation: Error | undefined;
    const settle = (step: Step): void => {
      if (done) return;
      done = true;
      const ws = w.waiters;
      // An emptied set is dropped, not kept at the size its busiest moment grew it to.
      if (ws !== null && ws.delete(settle) && ws.size === 0) w.waiters = null;
      sub?.off();
      sub = null;
      // A rejection in the cancel's turn is most likely the cancel itself, seen through a library
      // (an abort listener on ctx.signal): the task gets ctx.err, as from any interrupted wait.
      resolve(!step.ok && cancellation !== undefined ? { ok: false, error: cancellation } : step);
    };
    (w.waiters ??= new Set()).add(settle);
    // A cancellation decides a few microtasks later, behind a value already on its way: a lock just
    // handed over, a value just received, reaches the task instead of being dropped with nobody to
    // release or take it. The task meets the cancellation at its next yield.
    const cancelled = (fired: Error): void => {
      // The wait's own context's err: a foreign context that lends a Tether context's signal may
      // name its cancellation with an error of its own, which its task must see.
      const error = waitErr(ctx, fired);
      cancellation = error;
      void afterHops(GRACE_HOPS, () => settle({ ok: false, error }));
    };
    const err = ctx.err;
    if (err !== undefined) cancelled(err);
    else {
      try {
        sub = subscribe(ctx, cancelled, label);
      } catch (error) {
        // A foreign context whose signal refuses the listener: the wait fails with what it threw,
        // thrown into the task at its `until` like any rejection, so its cleanup runs before the
        // driver settles, and the task is not left suspended.
        settle({ ok: false, error });
      }
    }
  });
}

/** An async generator object: what an `async function*` task returns, and what the driver drives. */
function isIterator(x: unknown): x is AsyncGenerator<unknown, unknown, unknown> {
  return (
    x !== null &&
    typeof x === "object" &&
    Symbol.asyncIterator in x &&
    typeof (x as AsyncGenerator).next === "function" &&
    typeof (x as AsyncGenerator).throw === "function"
  );
}

/** The prototype of every `function*` of this realm. */
const generatorFunctionProto: unknown = Object.getPrototypeOf(function* () {});
/** The prototypes of this realm's other functions: a task has one of these, and needs no closer look. */
const asyncFunctionProto: unknown = Object.getPrototypeOf(async () => {});
const asyncGeneratorFunctionProto: unknown = Object.getPrototypeOf(async function* () {});

/**
 * @internal Whether `task` is a `function*`: its result, a generator whose body has not run, would be taken
 * for the task's value, and the body would never run, silently. A plain function that returns a
 * generator as its value is not one, and its value passes through.
 */
export function isGeneratorFunction(task: unknown): boolean {
  try {
    // The prototype, not `constructor`, which a function of its own may shadow.
    const proto: unknown = Object.getPrototypeOf(task);
    if (proto === generatorFunctionProto) return true;
    if (proto === Function.prototype || proto === asyncFunctionProto || proto === asyncGeneratorFunctionProto) return false;
    // The tag too, for a `function*` of another realm (a vm context), whose prototype is not ours.
    return Object.prototype.toString.call(task) === "[object GeneratorFunction]";
  } catch {
    // A Proxy whose traps throw: not recognisably a `function*`; calling it will tell.
    return false;
  }
}

/**
 * @internal Checks that `task` can be a task: a function, and not a `function*`, whose body would
 * never run (its unrun generator would be taken for the task's value). Throws a TypeError that
 * names `caller` and `arg`; returns `task`.
 */
export function asTask<F>(task: F, caller: string, arg: string): F {
  asFunction(task, caller, arg);
  if (isGeneratorFunction(task)) {
    throw new TypeError(`${caller}: ${arg} must be a plain, async or async generator function, but it is a function*, whose body would never run: write it as \`async function*\``);
  }
  return task;
}

const SYNC_GENERATOR =
  "task must be a plain, async or async generator function, but it returned a synchronous generator, whose body would never run: write it as `async function*`";

/** Whether `y` is an `until` instruction; false for a value that cannot even be inspected. */
function isUntil(y: unknown): y is Until {
  try {
    return y instanceof Until;
  } catch {
    return false;
  }
}

/** The error for a task that yielded something the driver does not take; `disposed` if it was a resource. */
function badYield(y: unknown, disposed: boolean): TypeError {
  // An async generator's yield awaits a promise before the driver sees it, so none arrives here:
  // what does is the promise's value, waited for where no cancellation could interrupt it.
  let hint = "; to wait for a promise, write const v = yield* until(promise): a yielded promise is awaited without cancellation and its value dropped";
  try {
    if (isIterator(y)) {
      hint = y instanceof UntilWait
        ? "; write yield* until(...), with the star"
        : "; to run a generator inside this task, delegate to it with yield*";
    }
  } catch {
    // A value that cannot be inspected gets the general hint; the error still names it.
  }
  const fate = disposed ? " (it was disposed of, since the task can no longer get it)" : "";
  return new TypeError(
    `a generator task may only yield nothing (a checkpoint) or delegate with yield* until(promise), received ${describe(y)}${fate}${hint}`,
  );
}

/** Whether `error` is, or wraps, the cancellation of `ctx` (its err or its cause). */
function isCancellation(ctx: Context, error: unknown): boolean {
  const err = ctx.err;
  return err !== undefined && (errorIs(error, err) || errorIs(error, cause(ctx)));
}

/** Drives a generator task to completion; see runTask for the protocol. */
async function drive(ctx: Context, gen: AsyncGenerator<unknown, unknown, unknown>, rec: TaskRecord): Promise<unknown> {
  let step: Step = { ok: true, value: undefined };
  // Whether the driver has thrown the cancellation into the generator (at a yield or an until).
  let told = false;
  for (;;) {
    let r: IteratorResult<unknown, unknown>;
    rec._state = "running";
    rec._on = null;
    if (!step.ok && !told) told = isCancellation(ctx, step.error);
    const began = cancels.epoch;
    try {
      r = await (step.ok ? gen.next(step.value) : gen.throw(step.error));
    } catch (error) {
      // In its cleanup: told of the cancellation, or running (in an await of its own, which may
      // have seen it) when the cancel came. Not one that failed on its own in a step the driver
      // began after the cancel, with a value received before it.
      rec.cleanupFailed = ctx.err !== undefined && (told || cancelledDuring(ctx, began));
      // Cleanup that threw after the driver told the task of the cancellation keeps both, like
      // `using` does; the task's own rethrow of the cancellation (or of the cause a fetch-style API
      // rejects with) passes through. So does an error the task threw before it was told — its own
      // failure while a cancel raced it, or after a wait of its own saw the cancel, as an async
      // function's would: wrapped, `errorIs(err, Canceled)` would hide a real failure.
      const cancellation = ctx.err;
      if (told && cancellation !== undefined && !isCancellation(ctx, error)) throw suppressed(error, cancellation);
      throw error;
    }
    if (r.done === true) return r.value;
    const y: unknown = r.value;
    // Every kind of yield counts toward the time slice, so no loop — of checkpoints, of waits on
    // settled promises, or of a task that swallows its cancellation — can starve timers and I/O.
    if (turnDue()) {
      rec._state = "at a checkpoint";
      await giveTurn();
    }
    const err = ctx.err;
    if (isUntil(y) && !y.used && (err === undefined || cancelledSince(ctx, y))) {
      y.used = true;
      // Raced even when the context was cancelled after the wait began, while the generator was
      // on its way here (or the driver gave the event loop its turn): a value the operation has
      // already delivered — a lock granted, a value received — reaches the task, which meets the
      // cancellation at its next yield. A wait begun after the cancel throws it, as a yield does.
      rec._on = y.watch.promise;
      // The task's own line in dump() already says what it waits for: the sub stays unlabelled.
      const known = y.watch.outcome;
      // Settled already (the usual case by the time the generator's yield reaches here): no race.
      step = known === undefined ? await race(ctx, y, "") : knownStep(ctx, known);
    } else if (y === undefined) step = err !== undefined ? { ok: false, error: err } : { ok: true, value: undefined };
    else step = { ok: false, error: dropped(y, ctx) };
  }
}

/**
 * What the driver throws into a task for a yielded value it does not take, `y`: the cancellation
 * if `ctx` is cancelled, else a TypeError. The task can never get `y` back, and the usual way to
 * yield a value is `yield mu.lock(ctx)` — the generator awaits the promise and hands over the hold
 * — so a lock or permit would otherwise stay held for good. A `Disposable` is disposed of first; if
 * that throws, the task gets both errors, as from `using`. Only `Symbol.dispose`, never
 * `Symbol.asyncDispose`: waiting for an async disposal would be a wait no cancellation could
 * interrupt (a server's waits for its connections to close), and a `Group` yielded from one of its
 * own tasks would wait for itself. `ctx` is read after the disposal, which may have cancelled it.
 */
function dropped(y: unknown, ctx: Context): unknown {
  let disposed = false;
  let failure: { error: unknown } | null = null;
  if (y !== null && (typeof y === "object" || typeof y === "function")) {
    try {
      const dispose = (y as { [Symbol.dispose]?: unknown })[Symbol.dispose];
      if (typeof dispose === "function") {
        disposed = true;
        dispose.call(y);
      }
    } catch (error) {
      failure = { error };
    }
  }
  const err = ctx.err;
  const error = err !== undefined ? err : badYield(y, disposed);
  return failure === null ? error : suppressed(failure.error, error);
}

/**
 * runTask runs `task` under `ctx` and settles with its outcome. On a context that is already
 * cancelled it rejects with `ctx.err` without calling the task.
 *
 * A plain or async function is called with `ctx`; its result or error passes through (a synchronous
 * throw becomes a rejection). It is responsible for honouring `ctx` itself.
 *
 * An async generator is driven. A bare `yield` is a checkpoint (and lets timers and I/O run every
 * few milliseconds, counted across all tasks, so a stream of short ones does too); `const v = yield* until(p)` is a wait that cancellation interrupts; yielding
 * anything else throws a TypeError into the generator (and a `Disposable` yielded by mistake, as
 * by `yield mu.lock(ctx)`, is disposed of first, since the task can never get it back). Cancellation is thrown, level-triggered:
 * once `ctx` is cancelled, the `yield` the task is paused at throws `ctx.err`, and so does every
 * later one (save a value that an `until` begun before the cancel had already received: see
 * {@link until}), so cleanup that must wait uses `await`, never `yield`. runTask settles only after
 * the generator has finished: it rejects with `ctx.err`, or with a `SuppressedError` whose `error` is
 * what cleanup threw and whose `suppressed` is the cancellation, or resolves with the value if the
 * task caught the cancellation and returned.
 *
 * While it runs, the task is listed by `dump()` from `@tether/core/debug` under its context, by
 * `options.name` or the function's name, with what a generator waits for.
 *
 * @example Cleanup runs before runTask settles
 * ```ts
 * import { background, withCancel, runTask, Canceled } from "@tether/core";
 * const [ctx, cancel] = withCancel(background());
 * const log: string[] = [];
 * const running = runTask(ctx, async function* () {
 *   try {
 *     for (;;) yield;
 *   } finally {
 *     log.push("released");
 *   }
 * });
 * cancel();
 * await running.catch((err: unknown) => console.assert(err === Canceled));
 * console.assert(log[0] === "released");
 * ```
 */
export function runTask<T>(ctx: Context, task: Task<T>, options?: RunTaskOptions): Promise<T> {
  let c: Context;
  let name: unknown;
  try {
    c = asContext(ctx, "runTask", "ctx");
    asTask(task, "runTask", "task");
    if (options !== undefined) {
      if (options === null || typeof options !== "object") throw new TypeError(`runTask: options must be an object, received ${describe(options)}`);
      // Read once: a getter could answer differently, or throw, a second time.
      name = options.name;
      if (name !== undefined && typeof name !== "string") throw new TypeError(`runTask: options.name must be a string, received ${describe(name)}`);
    }
  } catch (e) {
    return Promise.reject(e);
  }
  return startTask(c, task, name as string | undefined);
}

/**
 * runTask after validation, for the packages that start many tasks. A task that returns a plain
 * value has already finished when it returns, so it is never registered; one that returns a
 * promise or a generator is registered until it settles.
 */
export function startTask<T>(c: Context, task: Task<T>, name: string | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => watchTask(c, task, name, resolve, reject));
}

/**
 * Runs `task` and reports its outcome to `ok` or `fail` — synchronously when it has one at once
 * (a cancelled context, a plain value, a synchronous throw), else with one promise reaction, no
 * promise of its own. `ok` and `fail` must not throw. For `run` and `race`, which start many
 * tasks and would otherwise pay a promise per task for nothing.
 *
 * Returns the task's record, whose `promise` is the one whose reaction will report, or undefined
 * when the outcome was reported already: a caller can attach a reaction of its own to learn whether
 * it had settled by some point, and read a generator task's `cleanupFailed`. (A record, not a
 * weak map from promise to record: an entry per task cost a generator task half its time in GC.)
 */
export function watchTask<T>(
  c: Context,
  task: Task<T>,
  name: string | undefined,
  ok: (value: T) => void,
  fail: (error: unknown) => void,
): TaskRecord | undefined {
  const err = c.err;
  if (err !== undefined) return void fail(err);
  let out: T | PromiseLike<T> | AsyncGenerator<unknown, T, unknown>;
  try {
    out = task(c);
  } catch (e) {
    return void fail(e);
  }
  if (out === null || (typeof out !== "object" && typeof out !== "function")) return void ok(out);
  let p: Promise<unknown>;
  let rec: TaskRecord;
  let generator: boolean;
  let thenable: boolean;
  let native = false;
  try {
    generator = isIterator(out);
    thenable = !generator && typeof (out as PromiseLike<T>).then === "function";
    if (thenable) native = out instanceof Promise;
    else if (!generator && isGeneratorFunction(task)) return void fail(new TypeError(SYNC_GENERATOR));
  } catch (e) {
    // What the task returned cannot even be looked at (a revoked Proxy, a `then` getter that
    // throws): that is the task's failure, reported like a synchronous throw.
    return void fail(e);
  }
  if (generator) {
    rec = new TaskRecord(task as Task<unknown>, name, c, true);
    p = drive(c, out as AsyncGenerator<unknown, T, unknown>, rec);
  } else if (thenable) {
    rec = new TaskRecord(task as Task<unknown>, name, c, false);
    // A foreign thenable goes through Promise.resolve, which also guards against a throwing then.
    p = native ? (out as Promise<T>) : Promise.resolve(out as PromiseLike<T>);
  } else return void ok(out as T);
  // Reported once (`end()` says whether it was the first): a subclass's then may call back and
  // throw as well.
  try {
    p.then(
      (v) => {
        if (rec.end()) ok(v as T);
      },
      (e: unknown) => {
        if (rec.end()) fail(e);
      },
    );
  } catch (e) {
    // A promise subclass whose then throws, or a Proxy around a promise: a failure like a throw.
    if (rec.end()) fail(e);
    return undefined;
  }
  rec.promise = p;
  return rec;
}

// One of each class a task and its `until` waits make (TaskRecord; Watch, a promise stamped by
// Watched, Until, UntilWait), kept so that V8 keeps their maps across collections while no task
// runs or waits (see keep.ts). The record is ended at once, so it is in no list and counted by no
// one; the watch is on a promise already fulfilled (its stamp keeps the stamped promises' map),
// and the wait is never driven.
keep(new TaskRecord(noop, undefined, background(), false)).end();
keep(new UntilWait(keep(new Until(keep(Watched.of(Promise.resolve()))))));
