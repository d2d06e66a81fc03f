/** Resolves after `n` turns of the microtask queue (each await of a settled promise is one). */
export async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Resolves after every queued microtask and one macrotask turn have run. */
export function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** A promise's outcome, observed without awaiting it, so a test can check that it is still pending. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  status: "pending" | "fulfilled" | "rejected";
  value: T | undefined;
  error: unknown;
}

/** Starts observing `p`; the returned object's fields update as it settles. Marks `p` handled. */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise: p, status: "pending", value: undefined, error: undefined };
  p.then(
    (v) => {
      t.status = "fulfilled";
      t.value = v;
    },
    (e: unknown) => {
      t.status = "rejected";
      t.error = e;
    },
  );
  return t;
}

/**
 * When an action of a randomised race runs, relative to the others scheduled in the same step:
 * "sync" runs in the scheduling call (in a shuffled order among the other "sync" ones),
 * "microtask" in a queued microtask, a number after that many microtask turns.
 */
export type When = "sync" | "microtask" | number;

/** Picks a random moment: now, the next microtask, or after 0–7 microtask turns. */
export function randomWhen(rnd: () => number): When {
  const r = rnd();
  if (r < 0.3) return "sync";
  if (r < 0.45) return "microtask";
  return Math.floor(rnd() * 8);
}

/**
 * Runs every action at its moment: the "sync" ones at once, in a random order, the others later.
 * Returns a promise that settles when all have run; an action that throws rejects it.
 */
export function schedule(rnd: () => number, actions: ReadonlyArray<readonly [When, () => void]>): Promise<void> {
  const now = actions.filter(([w]) => w === "sync").map(([, fn]) => fn);
  for (let i = now.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [now[i], now[j]] = [now[j] as () => void, now[i] as () => void];
  }
  for (const fn of now) fn();
  const later = actions
    .filter(([w]) => w !== "sync")
    .map(
      ([w, fn]) =>
        new Promise<void>((resolve, reject) => {
          const run = (): void => {
            try {
              fn();
              resolve();
            } catch (e) {
              reject(e);
            }
          };
          if (w === "microtask") queueMicrotask(run);
          else void ticks(w as number).then(run);
        }),
    );
  return Promise.all(later).then(() => undefined);
}

/**
 * Whether `p` settles before the microtask queue runs dry. Work driven by promises alone either
 * settles by then or never will, so false means stuck (a lost wake-up, a leaked permit).
 */
export function settlesByTurn(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true), turn().then(() => false)]);
}
