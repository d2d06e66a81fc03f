import { describe, expect, it } from "vitest";
import { background } from "@tether/core";
import { RWMutex, Semaphore } from "@tether/sync";

describe("withLock, withRLock and withPermits when both fn and the release fail", () => {
  it("withRLock() rejects with a SuppressedError carrying both fn's error and the release's", async () => {
    const rw = new RWMutex();
    const failed = new Error("fn failed");
    const err = await rw
      .withRLock(background(), () => {
        rw.rUnlock();
        throw failed;
      })
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe("SuppressedError");
    expect((err as { suppressed: unknown }).suppressed).toBe(failed);
    expect((err as { error: Error }).error.message).toBe("RWMutex.rUnlock: no read lock is held");
    expect(rw.readers).toBe(0);
  });

  it("withPermits() rejects with a SuppressedError carrying both fn's error and the release's", async () => {
    const sem = new Semaphore(2);
    const failed = new Error("fn failed");
    const err = await sem
      .withPermits(background(), 2, async () => {
        sem.release(2);
        throw failed;
      })
      .catch((e: unknown) => e);
    expect((err as { suppressed: unknown }).suppressed).toBe(failed);
    expect(sem.available).toBe(2);
  });
});
