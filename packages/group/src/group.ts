import { type Context, type Task, withCancelCause } from "@tether/core";
import { nameContext } from "@tether/core/debug";
import { asContext, asFunction, describe, startTask } from "@tether/core/internal";

/** Options for {@link Group}. */
export interface GroupOptions {
  /** At most this many tasks run at once; the rest queue in FIFO order. Default: Infinity. */
  limit?: number;
  /** Cancel the siblings on the first failure. Default: true. `false` is Go's zero errgroup. */
  failFast?: boolean;
  /** How `dump()` from `@tether/core/debug` names the group's context. */
  name?: string;
}

/** Options for {@link Group.go}. */
export interface GoOptions {
  /** How `dump()` names the task. Default: the function's name. */
  name?: string;
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
  readonly #cancel: (cause?: unknown) => void;
  readonly #limit: number;
  readonly #failFast: boolean;
  readonly #errors: unknown[] = [];
  /** Tasks waiting for a slot, with their names; `#head` is the next to start (no O(n) shifts). */
  #queue: Array<{ task: Task<unknown>; name: string | undefined }> = [];
  #head = 0;
  #active = 0;
  #first: { error: unknown } | undefined = undefined;
  /** Set once the group itself cancelled `ctx` (at its end or on dispose), not a failure. */
  #ending = false;
  #idle: Array<() => void> = [];

  constructor(parent: Context, options: GroupOptions = {}) {
    const p = asContext(parent, "Group");
    if (options === null || typeof options !== "object") throw new TypeError(`Group: options must be an object, received ${describe(options)}`);
    this.#limit = checkLimit(options.limit, "Group");
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(`Group: name must be a string, received ${describe(options.name)}`);
    }
    const ff = options.failFast ?? true;
    if (typeof ff !== "boolean") throw new TypeError(`Group: failFast must be a boolean, received ${describe(ff)}`);
    this.#failFast = ff;
    [this.ctx, this.#cancel] = withCancelCause(p);
    if (options.name !== undefined) nameContext(this.ctx, options.name);
  }

  /** Every task's own failure, in the order they happened. */
  get errors(): readonly unknown[] {
    return this.#errors;
  }

  /** How many tasks are running or queued. */
  get size(): number {
    return this.#active + this.#queue.length - this.#head;
  }

  /**
   * go starts `task` now, or queues it while `limit` tasks run. On a group whose context is
   * already cancelled it starts nothing; if no failure was recorded yet, the cancellation becomes
   * the group's error, so `wait()` reports that the task did not run.
   */
  go(task: Task<unknown>, options?: GoOptions): void {
    asFunction(task, "Group.go", "task");
    const name = taskName(options, "Group.go");
    const err = this.ctx.err;
    if (err !== undefined) {
      if (this.#first === undefined && !this.#ending) this.#fail(err);
      return;
    }
    if (this.#active < this.#limit) this.#start(task, name);
    else this.#queue.push({ task, name });
  }

  /** tryGo starts `task` only if a slot is free now and the group is not cancelled. */
  tryGo(task: Task<unknown>, options?: GoOptions): boolean {
    asFunction(task, "Group.tryGo", "task");
    const name = taskName(options, "Group.tryGo");
    if (this.ctx.err !== undefined || this.#active >= this.#limit) return false;
    this.#start(task, name);
    return true;
  }

  /**
   * wait settles once every task has settled, cleanup included, then cancels `ctx` (its cause is
   * the first failure, or `Canceled`). It rejects with the first failure. Tasks added while it
   * waits are waited for too.
   */
  async wait(): Promise<void> {
    if (this.size > 0) await new Promise<void>((r) => this.#idle.push(r));
    this.#end();
    if (this.#first !== undefined) throw this.#first.error;
  }

  /** Cancels what still runs, waits for it, and rethrows the first real failure. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#ending = true;
    this.#cancel();
    await this.wait();
  }

  #start(task: Task<unknown>, name: string | undefined): void {
    this.#active++;
    startTask(this.ctx, task, name).then(
      () => this.#settled(),
      (error: unknown) => {
        const err = this.ctx.err;
        // A task that stops with the group's own cancellation is not a failure of its own.
        const echo = err !== undefined && error === err && (this.#first !== undefined || this.#ending);
        if (!echo) {
          this.#errors.push(error);
          if (this.#first === undefined) this.#fail(error);
        }
        this.#settled();
      },
    );
  }

  #fail(error: unknown): void {
    this.#first = { error };
    if (this.#failFast) this.#cancel(error);
  }

  #settled(): void {
    this.#active--;
    while (this.#active < this.#limit && this.#head < this.#queue.length) {
      if (this.ctx.err !== undefined) {
        this.#queue = [];
        this.#head = 0;
        break;
      }
      const next = this.#queue[this.#head] as { task: Task<unknown>; name: string | undefined };
      this.#queue[this.#head++] = undefined as never;
      this.#start(next.task, next.name);
    }
    if (this.#head === this.#queue.length && this.#head > 0) {
      this.#queue = [];
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
