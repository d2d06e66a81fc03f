/**
 * shared-state: why a context value must not be mutable state, and two ways that are safe.
 *
 * JavaScript has no data races, but it has the same bug one level up: an update that reads, then
 * `await`s, then writes is split in two, and every other task can run in the gap. Put a mutable
 * object in a context value and every task that derives from that context can run in that gap —
 * from anywhere, invisibly, because the value is reachable by anyone holding the context. The
 * unsafe version below loses all but one of its updates.
 *
 * The safe alternatives:
 * - A. Immutable values. The context carries a frozen snapshot (who, which tenant) that nobody can
 *   change; results flow back the way they should, as return values, and the caller combines them.
 * - B. A guarded handle. When state really must be shared, the context carries a handle that owns
 *   the state and serialises updates itself — here with a `Mutex`, because the update awaits I/O
 *   in the middle. (An update with no `await` inside, like `n++` in one method, needs no lock at
 *   all: a synchronous step cannot be interleaved.)
 */
import { type Context, type Key, background, createKey, sleep, withValue } from "@tether/core";
import { map } from "@tether/group";
import { Mutex } from "@tether/sync";
import { runIfMain } from "./lib/main.js";

/** What a hit costs: an await in the middle of the update, like a cache or database read. */
async function io(ctx: Context): Promise<void> {
  await sleep(ctx, 1);
}

// --- The bug: a mutable object in a context value.

interface Tally {
  hits: number;
}
const tallyKey: Key<Tally> = createKey<Tally>("tally");

async function recordHitUnsafe(ctx: Context): Promise<void> {
  const tally = ctx.value(tallyKey);
  if (tally === undefined) throw new Error("recordHitUnsafe: no tally in the context");
  const seen = tally.hits;
  await io(ctx);
  // Every other task read the same `seen` while this one waited: their increments are lost.
  tally.hits = seen + 1;
}

/** countUnsafe records `n` hits concurrently through a mutable context value. */
export async function countUnsafe(n: number): Promise<number> {
  const tally: Tally = { hits: 0 };
  const ctx = withValue(background(), tallyKey, tally);
  await map(ctx, Array.from({ length: n }), (c) => recordHitUnsafe(c));
  return tally.hits;
}

// --- A: immutable values in, results out.

export interface RequestInfo {
  readonly user: string;
  readonly tenant: string;
}
const infoKey: Key<RequestInfo> = createKey<RequestInfo>("requestInfo");

/** withRequestInfo stores a frozen copy: neither the caller nor any task can change it later. */
export function withRequestInfo(ctx: Context, info: RequestInfo): Context {
  return withValue(ctx, infoKey, Object.freeze({ ...info }));
}

export function requestInfo(ctx: Context): RequestInfo | undefined {
  return ctx.value(infoKey);
}

async function handleHit(ctx: Context): Promise<number> {
  await io(ctx);
  return requestInfo(ctx)?.tenant === "acme" ? 1 : 0;
}

/** countImmutable has each task return its hit; the caller adds them up once all are done. */
export async function countImmutable(n: number): Promise<number> {
  const ctx = withRequestInfo(background(), { user: "ada", tenant: "acme" });
  const hits = await map(ctx, Array.from({ length: n }), (c) => handleHit(c));
  return hits.reduce((a, b) => a + b, 0);
}

// --- B: a handle that owns its state and serialises updates.

/** GuardedTally holds the count privately; the only way to change it is `update`, under a lock. */
export class GuardedTally {
  #hits = 0;
  readonly #mu = new Mutex();

  get hits(): number {
    return this.#hits;
  }

  /** update runs read-modify-write as one step, even when `fn` awaits; the wait honours `ctx`. */
  update(ctx: Context, fn: (hits: number) => Promise<number>): Promise<void> {
    return this.#mu.withLock(ctx, async () => {
      this.#hits = await fn(this.#hits);
    });
  }
}
const guardedKey: Key<GuardedTally> = createKey<GuardedTally>("guardedTally");

/** countGuarded records `n` hits concurrently through a guarded handle in the context. */
export async function countGuarded(n: number): Promise<number> {
  const tally = new GuardedTally();
  const ctx = withValue(background(), guardedKey, tally);
  await map(ctx, Array.from({ length: n }), async (c) => {
    await c.value(guardedKey)?.update(c, async (seen) => {
      await io(c);
      return seen + 1;
    });
  });
  return tally.hits;
}

export async function main(): Promise<void> {
  const n = 100;
  console.log(`${n} concurrent hits through a mutable context value: ${await countUnsafe(n)} counted`);
  console.log(`${n} concurrent hits, immutable value + returned results: ${await countImmutable(n)} counted`);
  console.log(`${n} concurrent hits through a mutex-guarded handle:      ${await countGuarded(n)} counted`);
}

runIfMain(import.meta.url, main);
