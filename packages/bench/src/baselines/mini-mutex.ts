/**
 * The minimal promise mutex people write by hand: a flag and a FIFO of resolvers, no cancellation,
 * no misuse checks. Tether's Mutex is held to within 1.5× of it.
 */
export class MiniMutex {
  private locked = false;
  private readonly waiters: Array<() => void> = [];

  lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Hands the lock straight to the first waiter, so no later `lock()` can barge in. */
  unlock(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.locked = false;
  }
}
