import { type Context, type Task, background, withCancelCause } from "@tether/core";
import { nameContext } from "@tether/core/debug";
import { asContext, asTask, describe, functionName, giveTurn, keep, parentDeadline, reportQueued, startTask, turnDue, waitErr } from "@tether/core/internal";
import { cancelWithFailure, isEcho } from "./echo.js";

/**
 * GroupOptions are the options of {@link Group}.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { Group, type GroupOptions } from "@tether/group";
 * const options: GroupOptions = { limit: 8, failFast: true, name: "thumbnails" };
 * const g = new Group(background(), options);
 * await g.wait();
 * // A group's context ends cancelled once it has waited, even on success.
 * console.assert(g.size === 0 && g.ctx.err !== undefined);
 * ```
 */
export interface GroupOptions {
  /** At most this many tasks run at once; the rest queue in FIFO order. Default: Infinity. */
  limit?: number | undefined;
  /** Cancel the siblings on the first failure. Default: true. `false` is Go's zero errgroup. */
  failFast?: boolean | undefined;
  /** How `dump()` from `@tether/core/debug` names the group's context. */
  name?: string | undefined;
}

/**
 * GoOptions are the options of {@link Group.go} and {@link Group.tryGo}.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { Group, type GoOptions } from "@tether/group";
 * const g = new Group(background());
 * const options: GoOptions = { name: "resize 1.png" };
 * g.go(() => "done", options);
 * await g.wait();
 * console.assert(g.size === 0 && g.errors.length === 0);
 * ```
 */
export interface GoOptions {
  /** How `dump()` names the task. Default: the function's name. */
  name?: string | undefined;
}

/** Checks a concurrency limit: a whole number ≥ 1, or Infinity. */
export function checkLimit(limit: unknown, fn: string): number {
  if (limit === undefined) return Infinity;
  if (typeof limit !== "number") throw new TypeError(`${fn}: limit must be a number, received ${describe(limit)}`);
  if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
    throw new RangeError(`${fn}: limit must be a whole number ≥ 1 or Infinity, received ${describe(limit)}`);
  }
  return limit;
}

/**
 * GroupEndedError is thrown by `go()` and `tryGo()` on a group whose `wait()` has returned: its
 * context is cancelled and nothing would wait for the task.
 *
 * @example
 * ```ts
 * import { background } from "@tether/core";
 * import { Group, GroupEndedError } from "@tether/group";
 * const g = new Group(background());
 * await g.wait();
 * try {
 *   g.go(() => 1);
 * } catch (err) {
 *   console.assert(err instanceof GroupEndedError);
 * }
 * ```
 */
export class GroupEndedError extends Error {
  override readonly name: string = "GroupEndedError";
}

function taskName(options: GoOptions | undefined, fn: string): string | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") throw new TypeError(`${fn}: options must be an object, received ${describe(options)}`);
  if (options.name !== undefined && typeof options.name !== "string") {
    throw new TypeError(`${fn}: options.name must be a string, received ${describe(options.name)}`);
  }
  return options.name;
}

/**
 * Group runs tasks under one context and waits for all of them, like Go's errgroup with a limit,
 * and more: no task outlives the group, generator cleanup included.
 *
 * - `ctx` is a child of the parent. With `failFast` (the default) the first failure cancels it,
 *   with that error as the cause, so the siblings stop; the group ends by cancelling it, even on
 *   success.
 * - `wait()` settles once every task has settled and rejects with the first failure. Later
 *   failures never replace it; the siblings' cancellation errors are not failures. `errors` keeps
 *   every task's own failure in order.
 * - With `limit`, at most that many tasks run at once; the rest queue FIFO and never start once
 *   the group's context is cancelled.
 * - `name` (and `go(task, { name })`) label the group and its tasks in `dump()`.
 * - `await using` makes the group a nursery: leaving the block cancels what still runs, waits for
 *   it, and rethrows a real failure.
 *
 * @example A nursery
 * ```ts
 * import { background, sleep } from "@tether/core";
 * import { Group } from "@tether/group";
 * const seen: number[] = [];
 * {
 *   await using g = new Group(background(), { limit: 2 });
 *   for (const n of [1, 2, 3]) g.go(async (ctx) => { await sleep(ctx, 1); seen.push(n); });
 *   await g.wait();
 * }
 * console.assert(seen.length === 3);
 * ```
 */
export class Group implements AsyncDisposable {
  /** The group's context: pass it to everything the tasks start. */
  readonly ctx: Context;
  readonly #parent: Context;
  readonly #cancel: (cause?: unknown) => void;
  readonly #limit: number;
  readonly #failFast: boolean;
  readonly #errors: unknown[] = [];
  /** Tasks waiting for a slot, with their names; `#head` is the next to start (no O(n) shifts). */
  #queue: Array<{ task: Task<unknown>; name: string | undefined }> = [];
  #head = 0;
  /** Whether `dump()` has been told how to list the queue (see `#enqueue`). */
  #queueReported = false;
  #active = 0;
  /** The first task's own failure: what `wait()` rejects with, and what disposing rethrows. */
  #first: { error: unknown } | undefined = undefined;
  /**
   * The parent's cancellation, once it stopped a task or kept one from starting: what `wait()`
   * rejects with if no task failed, so it never reports stopped work as success. Not a failure,
   * so disposing does not rethrow it.
   */
  #stopped: { error: unknown } | undefined = undefined;
  /** Set once the group itself cancelled `ctx` (at its end or on dispose), not a failure. */
  #ending = false;
  /** Set once wait() has returned: the group is over, and go() is a misuse. */
  #ended = false;
  /** Set once wait() has thrown the first failure, so dispose does not throw it a second time. */
  #reported = false;
  #idle: Array<() => void> = [];
  /** Set while the queue's draining waits for the event loop's turn (see `#startQueued`). */
  #turnPending = false;

  constructor(parent: Context, options: GroupOptions = {}) {
    const p = asContext(parent, "Group");
    parentDeadline(p, "Group");
    if (options === null || typeof options !== "object") throw new TypeError(`Group: options must be an object, received ${describe(options)}`);
    this.#limit = checkLimit(options.limit, "Group");
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(`Group: name must be a string, received ${describe(options.name)}`);
    }
    const ff = options.failFast === undefined ? true : options.failFast;
    if (typeof ff !== "boolean") throw new TypeError(`Group: failFast must be a boolean, received ${describe(ff)}`);
    this.#failFast = ff;
    this.#parent = p;
    [this.ctx, this.#cancel] = withCancelCause(p);
    if (options.name !== undefined) nameContext(this.ctx, options.name);
  }

  /**
   * Every task's own failure, in the order they happened: a frozen copy, taken at each read. The
   * group keeps each one for as long as it lives, so a long-lived `failFast: false` group whose
   * tasks keep failing grows with them.
   */
  get errors(): readonly unknown[] {
    // A frozen copy: a caller clearing or editing what it got must not erase the group's record.
    return Object.freeze(this.#errors.slice());
  }

  /** How many tasks are running or queued. */
  get size(): number {
    return this.#active + this.#queue.length - this.#head;
  }

  /**
   * go starts `task` now, or queues it while `limit` tasks run. On a group whose context is
   * already cancelled it starts nothing. If the parent cancelled it, `wait()` then rejects with the
   * parent's cancellation (unless a task failed), so it reports that the task did not run; that
   * is not a failure, and disposing does not rethrow it.
   *
   * @example
   * ```ts
   * import { background, sleep } from "@tether/core";
   * import { Group } from "@tether/group";
   * const g = new Group(background(), { limit: 2 });
   * for (const ms of [5, 1, 3]) g.go((ctx) => sleep(ctx, ms), { name: `sleep ${ms}` });
   * console.assert(g.size === 3);
   * await g.wait();
   * console.assert(g.size === 0);
   * ```
   */
  go(task: Task<unknown>, options?: GoOptions): void {
    asTask(task, "Group.go", "task");
    const name = taskName(options, "Group.go");
    if (this.#ended) throw new GroupEndedError("Group.go: the group has ended (wait() returned); start a new Group");
    const err = this.ctx.err;
    if (err !== undefined) {
      // While the group is being disposed, new tasks are simply not started: that is the point.
      if (!this.#ending) this.#stop();
      return;
    }
    // A slot may be free while tasks are queued (the drain waits for its turn, or is starting
    // them, and one of them calls go()): the queued come first.
    if (this.#active < this.#limit && this.#head === this.#queue.length) this.#start(task, name);
    else this.#enqueue(task, name);
  }

  /**
   * tryGo starts `task` only if a slot is free now, no task is queued for one (they come first)
   * and the group is not cancelled, and reports whether it did.
   *
   * @example
   * ```ts
   * import { background, sleep } from "@tether/core";
   * import { Group } from "@tether/group";
   * const g = new Group(background(), { limit: 1 });
   * console.assert(g.tryGo((ctx) => sleep(ctx, 1)) === true);
   * console.assert(g.tryGo((ctx) => sleep(ctx, 1)) === false);
   * await g.wait();
   * ```
   */
  tryGo(task: Task<unknown>, options?: GoOptions): boolean {
    asTask(task, "Group.tryGo", "task");
    const name = taskName(options, "Group.tryGo");
    if (this.#ended) throw new GroupEndedError("Group.tryGo: the group has ended (wait() returned); start a new Group");
    if (this.ctx.err !== undefined || this.#active >= this.#limit || this.#head < this.#queue.length) return false;
    this.#start(task, name);
    return true;
  }

  /**
   * wait settles once every task has settled, cleanup included, then cancels `ctx` (its cause is
   * the first failure, or `Canceled`). It rejects with the first failure: a task's own, not its
   * echo of the cancellation (see {@link Group}); if the parent's cancellation stopped a task and
   * no task failed, with the parent's `err`. Tasks added while it waits are waited for too. After it returns the group is over: `go()` throws
   * {@link GroupEndedError}; calling `wait()` again settles the same way at once.
   *
   * @example The first failure, after every task has settled
   * ```ts
   * import { background, sleep } from "@tether/core";
   * import { Group } from "@tether/group";
   * const g = new Group(background());
   * let cleanedUp = false;
   * g.go(async () => {
   *   throw new Error("boom");
   * });
   * g.go(async (ctx) => {
   *   try {
   *     await sleep(ctx, 60_000);
   *   } finally {
   *     cleanedUp = true;
   *   }
   * });
   * const err = await g.wait().catch((e: unknown) => e);
   * console.assert((err as Error).message === "boom" && cleanedUp && g.errors.length === 1);
   * ```
   */
  async wait(): Promise<void> {
    // Never ends the group in the call itself: `const done = g.wait(); g.go(task)` waits for the
    // task, as it would had a task been running. Then loop: a go() that lands between the last
    // task settling and this code resuming must be waited for too, or wait() would return while
    // it runs.
    await undefined;
    while (this.size > 0) await new Promise<void>((r) => this.#idle.push(r));
    this.#end();
    this.#ended = true;
    if (this.#first !== undefined) {
      this.#reported = true;
      throw this.#first.error;
    }
    if (this.#stopped !== undefined) throw this.#stopped.error;
  }

  /**
   * Cancels what still runs, waits for it, and rethrows the first real failure — unless `wait()`
   * already threw it, so `await using` plus `await g.wait()` reports a failure once. The parent's
   * cancellation is not a failure and is not rethrown, however its tasks' rejections and the
   * dispose are ordered.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#ending = true;
    this.#cancel();
    const reported = this.#reported;
    try {
      await this.wait();
    } catch (e) {
      if (!reported && this.#first !== undefined) throw e;
    }
  }

  /**
   * Queues a task beyond the limit. The first time, it also tells `dump()` how to list the queue: only
   * then, since a registry entry for every group would cost every short-lived group (a `map` call's)
   * a weak-map entry that the garbage collector must process.
   */
  #enqueue(task: Task<unknown>, name: string | undefined): void {
    if (!this.#queueReported) {
      this.#queueReported = true;
      reportQueued(this.ctx, () => this.#queue.slice(this.#head).map((q) => q.name ?? functionName(q.task, "anonymous")));
    }
    this.#queue.push({ task, name });
  }

  #start(task: Task<unknown>, name: string | undefined): void {
    this.#active++;
    startTask(this.ctx, task, name).then(
      () => this.#settled(),
      (error: unknown) => {
        // A task that stops with the group's own cancellation — ctx.err, or the cause a
        // fetch-style API rejects with, either wrapped in an error of its own, or an aggregate of
        // nothing else — is not a failure of its own, and `errors` never lists it. Unless the
        // group is ending, such a cancellation came from the parent (or from the first failure,
        // which it does not replace); a task's own failure after it, its cleanup's, still counts
        // as the first failure.
        if (!isEcho(error, this.ctx, this.#parent)) {
          this.#errors.push(error);
          if (this.#first === undefined) this.#fail(error);
        } else if (!this.#ending) this.#stop();
        this.#settled();
      },
    );
  }

  #fail(error: unknown): void {
    this.#first = { error };
    if (this.#failFast) {
      cancelWithFailure(this.ctx, this.#cancel, error);
    }
  }

  /**
   * Records the parent's cancellation as what stopped a task (see `#stopped`), once: the parent's
   * `err`, whatever form the task's echo of it took (wrapped, an aggregate, the cause).
   */
  #stop(): void {
    this.#stopped ??= { error: waitErr(this.#parent, this.ctx.err) };
  }

  #settled(): void {
    this.#active--;
    this.#startQueued();
    this.#tidy();
  }

  /**
   * Starts queued tasks while slots are free. It runs in the promise reactions of settling tasks:
   * tasks that settle without a real wait would drain a long queue in reactions alone, so every
   * few milliseconds it lets timers and I/O run first — or a deadline, or a cancel from a timer,
   * could not stop the queue before it ran out (map does the same between its calls).
   */
  #startQueued(): void {
    while (this.#active < this.#limit && this.#head < this.#queue.length) {
      const err = this.ctx.err;
      if (err !== undefined) {
        // Queued tasks never start once the group is cancelled; unless the group did that
        // itself, wait() rejects, so it cannot report dropped work as success.
        if (!this.#ending) this.#stop();
        this.#queue = [];
        this.#head = 0;
        return;
      }
      if (this.#turnPending) return;
      if (turnDue()) {
        this.#turnPending = true;
        void giveTurn().then(() => {
          this.#turnPending = false;
          this.#startQueued();
          this.#tidy();
        });
        return;
      }
      const next = this.#queue[this.#head] as { task: Task<unknown>; name: string | undefined };
      this.#queue[this.#head++] = undefined as never;
      this.#start(next.task, next.name);
    }
  }

  /** Compacts the queue and, once nothing runs or waits, releases the `wait()` calls. */
  #tidy(): void {
    if (this.#head === this.#queue.length && this.#head > 0) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      // A queue that never drains would otherwise keep a dead slot per task ever queued.
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.size === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const r of idle) r();
    }
  }

  #end(): void {
    this.#ending = true;
    this.#cancel(this.#first?.error);
  }
}

// One, kept so that V8 keeps its map across collections while no group is open (see core's
// keep.ts). Its context is a child of background(), which lists no children: nothing links,
// counts or shows it, and it never runs a task.
keep(new Group(background()));
