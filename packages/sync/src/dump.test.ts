import { expect, it } from "vitest";
import { background, withCancel } from "@tether/core";
import { dump } from "@tether/core/debug";
import { Channel, Mutex, Semaphore } from "@tether/sync";

it("dump() names what each queued waiter of a sync primitive waits for", async () => {
  const [ctx, cancel] = withCancel(background());
  const mu = new Mutex();
  const sem = new Semaphore(2);
  const ch = new Channel<number>();
  mu.tryLock();
  sem.tryAcquire(2);
  const waits = [mu.lock(ctx), sem.acquire(ctx, 2), ch.recv(ctx)].map((p) => p.then(
    () => "served",
    (e: unknown) => e,
  ));
  const out = dump(ctx);
  expect(out).toContain("Mutex.lock");
  expect(out).toContain("Semaphore.acquire(2)");
  expect(out).toContain("Channel.recv");
  cancel();
  const results = await Promise.all(waits);
  expect(results.every((r) => r !== "served")).toBe(true);
  mu.unlock();
  sem.release(2);
});
