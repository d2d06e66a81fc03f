import { type Context, background, withCancel } from "@tether/core";
import { Channel, Mutex, Semaphore } from "@tether/sync";
import { Mutex as AsyncMutex, Semaphore as AsyncSemaphore } from "async-mutex";
import { createChannel, run as effectionRun, spawn } from "effection";
import { MiniChannel } from "../baselines/mini-channel.js";
import { MiniMutex } from "../baselines/mini-mutex.js";
import { type Case, type CaseFactory, check, sink } from "../harness.js";

/** Sequential lock/unlock pairs per call of the uncontended cases. */
const SEQ = 128;
const TASKS = 4;
const ROUNDS = 1_000;
/** Values per call of the channel cases. */
const VALUES = 10_000;
const SUM = (VALUES * (VALUES - 1)) / 2;

const WITHIN_1_5 = { label: "within 1.5× (≥ 0.67×)", min: 1 / 1.5 };
const TWENTY = { label: "≥ 20×", min: 20 };

function uncontended(ctx: Context): Case {
  const mu = new Mutex();
  const am = new AsyncMutex();
  const mm = new MiniMutex();
  return {
    id: "sync.mutex",
    suite: "sync",
    operation: "Mutex lock + unlock, uncontended",
    tether: {
      name: "Tether (await mu.lock(ctx))[Symbol.dispose]()",
      ops: SEQ,
      fn: async () => {
        for (let i = 0; i < SEQ; i++) (await mu.lock(ctx))[Symbol.dispose]();
        check(!mu.locked, "Mutex left locked");
      },
    },
    comparisons: [
      {
        name: "async-mutex: release = await m.acquire(); release()",
        ops: SEQ,
        target: TWENTY,
        fn: async () => {
          for (let i = 0; i < SEQ; i++) (await am.acquire())();
          check(!am.isLocked(), "async-mutex left locked");
        },
      },
      {
        name: "hand-rolled promise mutex (no cancellation)",
        ops: SEQ,
        target: WITHIN_1_5,
        fn: async () => {
          for (let i = 0; i < SEQ; i++) {
            await mm.lock();
            mm.unlock();
          }
        },
      },
    ],
  };
}

/** The shared state of a contended round: the critical section checks exclusion and counts. */
class Critical {
  count = 0;
  inside = false;
  enter(): void {
    check(!this.inside, "two holders at once");
    this.inside = true;
    this.count++;
  }
  leave(): void {
    this.inside = false;
  }
}

/**
 * TASKS workers each take the lock ROUNDS times; every lock after the first waits for a hand-over.
 * Each implementation writes its worker loop the way its users would, with nothing in between.
 */
async function contend(worker: (cs: Critical) => Promise<void>): Promise<void> {
  const cs = new Critical();
  const workers: Promise<void>[] = [];
  for (let t = 0; t < TASKS; t++) workers.push(worker(cs));
  await Promise.all(workers);
  check(cs.count === TASKS * ROUNDS, "lost a critical section");
}

function contended(ctx: Context): Case {
  const mu = new Mutex();
  const am = new AsyncMutex();
  const mm = new MiniMutex();
  return {
    id: "sync.mutex.contended",
    suite: "sync",
    operation: `Mutex, ${TASKS} tasks × ${ROUNDS.toLocaleString("en-US")} lock/unlock, contended (per lock)`,
    tether: {
      name: "Tether Mutex: hold = await mu.lock(ctx) … hold[Symbol.dispose]()",
      ops: TASKS * ROUNDS,
      fn: async () =>
        contend(async (cs) => {
          for (let i = 0; i < ROUNDS; i++) {
            const hold = await mu.lock(ctx);
            cs.enter();
            cs.leave();
            hold[Symbol.dispose]();
          }
        }),
    },
    comparisons: [
      {
        name: "async-mutex Mutex: release = await m.acquire() … release()",
        ops: TASKS * ROUNDS,
        target: TWENTY,
        fn: async () =>
          contend(async (cs) => {
            for (let i = 0; i < ROUNDS; i++) {
              const release = await am.acquire();
              cs.enter();
              cs.leave();
              release();
            }
          }),
      },
      {
        name: "hand-rolled promise mutex (no cancellation)",
        ops: TASKS * ROUNDS,
        target: WITHIN_1_5,
        fn: async () =>
          contend(async (cs) => {
            for (let i = 0; i < ROUNDS; i++) {
              await mm.lock();
              cs.enter();
              cs.leave();
              mm.unlock();
            }
          }),
      },
    ],
  };
}

function semaphore(ctx: Context): Case {
  const sem = new Semaphore(4);
  const as = new AsyncSemaphore(4);
  return {
    id: "sync.semaphore",
    suite: "sync",
    operation: "Semaphore(4) acquire + release, uncontended",
    tether: {
      name: "Tether (await sem.acquire(ctx))[Symbol.dispose]()",
      ops: SEQ,
      fn: async () => {
        for (let i = 0; i < SEQ; i++) (await sem.acquire(ctx))[Symbol.dispose]();
        check(sem.tryAcquire(4), "Semaphore lost a permit");
        sem.release(4);
      },
    },
    comparisons: [
      {
        name: "async-mutex: [, release] = await s.acquire(); release()",
        ops: SEQ,
        fn: async () => {
          for (let i = 0; i < SEQ; i++) {
            const [, release] = await as.acquire();
            release();
          }
          check(as.getValue() === 4, "async-mutex Semaphore lost a permit");
        },
      },
    ],
  };
}

/** Each value of a ping-pong comes back: the sum of what returned, 0 + 1 + … + VALUES-1. */
function pingPongCase(ctx: Context): Case {
  return {
    id: "sync.channel",
    suite: "sync",
    operation: `unbuffered channel ping-pong, ${VALUES.toLocaleString("en-US")} values (per round trip)`,
    tether: {
      name: "Tether Channel: send(ctx, v) / recv(ctx)",
      ops: VALUES,
      fn: async () => {
        const ping = new Channel<number>();
        const pong = new Channel<number>();
        const echo = (async () => {
          for (let i = 0; i < VALUES; i++) await pong.send(ctx, (await ping.recv(ctx)).value as number);
        })();
        let s = 0;
        for (let i = 0; i < VALUES; i++) {
          await ping.send(ctx, i);
          s += (await pong.recv(ctx)).value as number;
        }
        await echo;
        check(s === SUM, "Tether ping-pong lost a value");
        sink.n += s;
      },
    },
    comparisons: [
      {
        name: "hand-rolled promise channel (no cancellation)",
        ops: VALUES,
        target: WITHIN_1_5,
        fn: async () => {
          const ping = new MiniChannel<number>();
          const pong = new MiniChannel<number>();
          const echo = (async () => {
            for (let i = 0; i < VALUES; i++) await pong.send(await ping.recv());
          })();
          let s = 0;
          for (let i = 0; i < VALUES; i++) {
            await ping.send(i);
            s += await pong.recv();
          }
          await echo;
          check(s === SUM, "hand-rolled ping-pong lost a value");
          sink.n += s;
        },
      },
      {
        name: "Effection createChannel: send / subscription.next",
        ops: VALUES,
        target: { label: "≥ 10×", min: 10 },
        fn: async () => {
          const s = await effectionRun(function* () {
            const ping = createChannel<number>();
            const pong = createChannel<number>();
            const pings = yield* ping;
            const pongs = yield* pong;
            const echo = yield* spawn(function* () {
              for (let i = 0; i < VALUES; i++) yield* pong.send((yield* pings.next()).value as number);
            });
            let s = 0;
            for (let i = 0; i < VALUES; i++) {
              yield* ping.send(i);
              s += (yield* pongs.next()).value as number;
            }
            yield* echo;
            return s;
          });
          check(s === SUM, "Effection ping-pong lost a value");
          sink.n += s;
        },
      },
    ],
  };
}

/** A producer streams VALUES values through a channel of capacity 64 to one consumer. */
function buffered(ctx: Context): Case {
  return {
    id: "sync.channel.buffered",
    suite: "sync",
    operation: `buffered(64) channel throughput, ${VALUES.toLocaleString("en-US")} values (per value)`,
    tether: {
      name: "Tether Channel(64): send(ctx, v) / recv(ctx)",
      ops: VALUES,
      fn: async () => {
        const ch = new Channel<number>(64);
        const producer = (async () => {
          for (let i = 0; i < VALUES; i++) await ch.send(ctx, i);
        })();
        let s = 0;
        for (let i = 0; i < VALUES; i++) s += (await ch.recv(ctx)).value as number;
        await producer;
        check(s === SUM, "Tether stream lost a value");
        sink.n += s;
      },
    },
    comparisons: [
      {
        name: "hand-rolled promise channel(64) (no cancellation)",
        ops: VALUES,
        target: WITHIN_1_5,
        fn: async () => {
          const ch = new MiniChannel<number>(64);
          const producer = (async () => {
            for (let i = 0; i < VALUES; i++) await ch.send(i);
          })();
          let s = 0;
          for (let i = 0; i < VALUES; i++) s += await ch.recv();
          await producer;
          check(s === SUM, "hand-rolled stream lost a value");
          sink.n += s;
        },
      },
    ],
  };
}

/** Each case's waits hang from a long-lived cancellable context of its own, as a request's would. */
function withCtx(make: (ctx: Context) => Case): CaseFactory {
  return () => {
    const [ctx, cancel] = withCancel(background());
    const c = make(ctx);
    c.cleanup = cancel;
    return c;
  };
}

export function syncSuite(): CaseFactory[] {
  return [withCtx(uncontended), withCtx(contended), withCtx(semaphore), withCtx(pingPongCase), withCtx(buffered)];
}
