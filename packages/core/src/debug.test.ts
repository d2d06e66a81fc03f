import { afterEach, describe, expect, it } from "vitest";
import { type Context, background, createKey, runTask, sleep, until, withCancel, withCancelCause, withTimeout, withValue, withoutCancel } from "@tether/core";
import { Group } from "@tether/group";
import { derivationTrace, dump, enableTrace, nameContext } from "@tether/core/debug";
import { trackLeaks, type LeakReport } from "@tether/core/testing";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runNode, runNodeReport } from "../../../test/child.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * dump(ctx) once it shows `text`, after as many turns of the event loop as that takes (at most
 * 100): a generator task reaches its `until` after its first step, and on a loaded machine the
 * driver may first give the event loop a turn at a checkpoint.
 */
async function dumpShowing(ctx: Context, text: string): Promise<string> {
  for (let i = 0; i < 100 && !dump(ctx).includes(text); i++) await turn();
  return dump(ctx);
}

/** The URL of a built entry of core, for scripts run in a process of their own. */
const built = (entry: string): string => pathToFileURL(fileURLToPath(new URL(`../dist/${entry}.js`, import.meta.url))).href;

/** Collects garbage until FinalizationRegistry callbacks had a chance to run. */
async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("these tests need node --expose-gc (set in vitest.config.ts)");
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
}

afterEach(() => enableTrace(false));

describe("dump()", () => {
  it("dump() shows children, their state and deadline, the waits on them and the tasks running", async () => {
    const [root, cancelRoot] = withCancel(background());
    nameContext(root, "crawler");
    const rid = createKey<string>("rid");
    const [req, cancelReq] = withTimeout(withValue(root, rid, "r-1"), 60_000);
    const [gone, cancelGone] = withCancelCause(root);
    cancelGone(new Error("done"));
    const napping = sleep(req, 60_000).catch(() => {});
    const task = runTask(
      req,
      async function* fetchPage() {
        yield* until(new Promise(() => {}));
      },
      { name: "fetch page 1" },
    ).catch(() => {});
    let out: string;
    try {
      out = await dumpShowing(root, "until(<Promise>)");
    } finally {
      cancelRoot();
      cancelReq();
      await Promise.all([napping, task]);
    }
    const lines = out.split("\n");
    expect(lines[0]).toBe('background().withCancel() "crawler" [alive]');
    expect(out).toMatch(/└─ \.withValue\(rid, "r-1"\)\.withTimeout\(.* \[alive, deadline in \d+ms\]/);
    expect(out).toContain('task "fetch page 1" (generator): until(<Promise>)');
    expect(out).toContain("sleep(60000ms)");
    expect(out).not.toContain("withCancelCause");
    expect(gone.err).toBeDefined();
    expect(dump(root)).toBe('background().withCancel() "crawler" [context canceled]');
  });

  it("dump() of a cancelled context reports its cause", () => {
    const [ctx, cancel] = withCancelCause(background());
    cancel(new Error("shutting down"));
    expect(dump(ctx)).toContain('context canceled, cause Error("shutting down")');
  });

  it("dump() shows ages once tracing is on", () => {
    enableTrace();
    const [ctx, cancel] = withCancel(background());
    expect(dump(ctx)).toMatch(/\[alive, age \d+ms\]/);
    cancel();
  });
});

describe("printing a context", () => {
  it("String(ctx) and dump() work on a chain 10,000 layers deep", () => {
    const k = createKey<number>("k");
    const [root, cancel] = withCancel(background());
    let c: Context = root;
    for (let i = 0; i < 10_000; i++) c = withValue(c, k, i);
    const s = String(c);
    expect(s.startsWith("background().withCancel().withValue(k, 0)")).toBe(true);
    expect(s.endsWith(".withValue(k, 9999)")).toBe(true);
    const [leaf, cancelLeaf] = withCancel(c);
    expect(dump(root)).toContain(".withValue(k, 9999).withCancel() [alive]");
    cancelLeaf();
    cancel();
  });

  it("dump() prints children of a deadline relative to it however the time left changes between prints", () => {
    const [r, cancel] = withTimeout(background(), 60_000);
    const cancels: Array<() => void> = [];
    for (let i = 0; i < 2_000; i++) cancels.push(withCancel(r)[1]);
    const lines = dump(r).split("\n");
    expect(lines.filter((l) => l.includes("background()"))).toHaveLength(1);
    for (const c of cancels) c();
    cancel();
  });

  it("dump() lists a task on a cancellable child of a withoutCancel layer below the root", async () => {
    const [req, cancelReq] = withCancel(background());
    const [audit, cancelAudit] = withTimeout(withoutCancel(req), 60_000);
    const task = runTask(
      audit,
      async function* () {
        yield* until(sleep(audit, 60_000));
      },
      { name: "audit" },
    );
    expect(dump(req)).toMatch(/task "audit" \(generator\) on \.withoutCancel\(\)\.withTimeout\(/);
    cancelAudit();
    await task.catch(() => {});
    cancelReq();
  });

  it("a timeout of Infinity prints as withTimeout(Infinity), and says so once it was cancelled", () => {
    const [ctx, cancel] = withTimeout(background(), Infinity);
    expect(String(ctx)).toBe("background().withTimeout(Infinity)");
    cancel();
    expect(String(ctx)).toBe("background().withTimeout(Infinity [context canceled])");
  });

  it("dump() prints a child below a foreign layer relative to the dumped root", () => {
    // A framework's scope object wrapping a Tether context, with a _parent as Tether's own have.
    const scoped = (parent: Context): Context => ({
      _parent: parent,
      get deadline() {
        return parent.deadline;
      },
      get err() {
        return parent.err;
      },
      get done() {
        return parent.done;
      },
      get signal() {
        return parent.signal;
      },
      value: (k) => parent.value(k),
      toString: () => `${String(parent)}.scoped()`,
    }) as Context;
    const [root, cancel] = withCancel(background());
    const [, cancelChild] = withCancel(scoped(root));
    expect(dump(root)).toContain("└─ .scoped().withCancel() [alive]");
    cancelChild();
    cancel();
  });
});

describe("dump() and queued tasks", () => {
  it("dump() lists a group's queued tasks by name, the first eight, then how many more", async () => {
    const [parent, cancel] = withCancel(background());
    const g = new Group(parent, { limit: 1, name: "crawler" });
    g.go((ctx) => sleep(ctx, 60_000), { name: "running" });
    for (let i = 0; i < 10; i++) g.go(async function fetchPage(ctx) {
      await sleep(ctx, 1);
    });
    const lines = dump(parent).split("\n");
    expect(lines).toContain('   ├─ task "running": running');
    expect(lines.filter((l) => l.endsWith('task "fetchPage": queued'))).toHaveLength(8);
    expect(lines).toContain("   ├─ … 2 more queued");
    cancel();
    await g.wait().catch(() => undefined);
    expect(dump(g.ctx)).not.toContain("queued");
  });
});

describe("derivationTrace()", () => {
  it("derivationTrace() lists the chain newest first with the stack of each traced derivation", () => {
    enableTrace();
    const [a, cancelA] = withCancel(background());
    const b = withValue(a, createKey<number>("n"), 1);
    const trace = derivationTrace(b);
    const headers = trace.split("\n").filter((l) => !l.startsWith("    "));
    expect(headers).toEqual(['background().withCancel().withValue(n, 1)', "background().withCancel()", "background()"]);
    expect(trace).toContain("debug.test.ts");
    cancelA();
  });

  it("derivationTrace() still shows where a layer was derived after enableTrace(false)", () => {
    enableTrace();
    const [a, cancelA] = withCancel(background());
    enableTrace(false);
    expect(derivationTrace(a)).toContain("debug.test.ts");
    cancelA();
  });

  it("derivationTrace() drops the frames of every Tether package, group's included", async () => {
    enableTrace();
    const g = new Group(background());
    const trace = derivationTrace(g.ctx);
    await g.wait();
    expect(trace).not.toMatch(/packages[\\/]group[\\/]src[\\/]group\.ts/);
    expect(trace).toContain("debug.test.ts");
  });

  it("derivationTrace() of a deep chain prints the whole lineage once and a bounded tail for each ancestor", () => {
    const [top, cancelTop] = withCancel(background());
    let ctx: Context = top;
    for (let i = 1; i < 1_000; i++) ctx = withCancel(ctx)[0];
    const lines = derivationTrace(ctx).split("\n");
    expect(lines).toHaveLength(1_001);
    expect(lines[0]).toBe(String(ctx));
    const tail = ".withCancel()".repeat(8);
    expect(lines[1]).toBe(`…${tail}`);
    expect(lines[992]).toBe(`…${tail}`);
    expect(lines[993]).toBe(`background()${".withCancel()".repeat(7)}`);
    expect(lines[1_000]).toBe("background()");
    cancelTop();
  });

  it("derivationTrace() without tracing still prints the lineage", () => {
    const [a, cancelA] = withCancel(background());
    expect(derivationTrace(a)).toBe("background().withCancel()\nbackground()");
    cancelA();
  });
});

describe("trackLeaks()", () => {
  it("trackLeaks() reports a context whose cancel function was dropped, with where it was made", async () => {
    const seen: LeakReport[] = [];
    const tracker = trackLeaks({ onLeak: (l) => seen.push(l) });
    try {
      (function forgetful() {
        const [ctx] = withCancel(background());
        void ctx;
      })();
      (function careful() {
        const [, cancel] = withCancel(background());
        cancel();
      })();
      await collect();
      expect(tracker.leaks).toHaveLength(1);
      expect(seen).toEqual(tracker.leaks);
      expect(tracker.leaks[0]?.context).toBe("background().withCancel()");
      expect(tracker.leaks[0]?.stack).toContain("forgetful");
      expect(tracker.leaks[0]?.timer).toBe(false);
    } finally {
      tracker.stop();
    }
  });

  it("trackLeaks() does not report contexts born cancelled, whose cancel holds nothing, beside one that leaks", async () => {
    // In a process of its own: under the test runner the nodes outlive their cancel functions by a
    // collection, which hid the false reports; in a plain process both go in the same one.
    const home = mkdtempSync(join(tmpdir(), "tether-born-cancelled-"));
    try {
      const file = join(home, "born-cancelled.mjs");
      writeFileSync(
        file,
        [
          'import { setFlagsFromString } from "node:v8";',
          'import { runInNewContext } from "node:vm";',
          `import { background, withCancel, withSignal, withTimeout } from ${JSON.stringify(built("index"))};`,
          `import { trackLeaks } from ${JSON.stringify(built("testing"))};`,
          'setFlagsFromString("--expose-gc");',
          'const gc = runInNewContext("gc");',
          "const tracker = trackLeaks();",
          "const [parent, cancelParent] = withCancel(background());",
          "cancelParent();",
          "(function bornCancelled() {",
          "  withCancel(parent);",
          "  withTimeout(parent, 1_000);",
          "  const ac = new AbortController();",
          '  ac.abort("gone");',
          "  withSignal(background(), ac.signal);",
          "})();",
          "(function forgetful() { withCancel(background()); })();",
          "for (let i = 0; i < 6; i++) { await new Promise((r) => setTimeout(r, 2)); gc(); }",
          "await new Promise((r) => setTimeout(r, 20));",
          "tracker.stop();",
          "console.log(JSON.stringify(tracker.leaks.map((l) => l.stack.includes('forgetful') ? 'forgetful' : l.context)));",
        ].join("\n"),
      );
      expect(await runNodeReport(file)).toEqual(["forgetful"]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("trackLeaks() reports a lost cancel kept on the object that made it, and lets that object go", async () => {
    class Worker {
      readonly ctx: Context;
      readonly cancel: () => void;
      constructor(parent: Context) {
        [this.ctx, this.cancel] = withCancel(parent);
      }
    }
    const tracker = trackLeaks();
    try {
      let ref: WeakRef<Worker> | undefined;
      (function abandon() {
        ref = new WeakRef(new Worker(background()));
      })();
      await collect();
      expect(ref?.deref()).toBeUndefined();
      expect(tracker.leaks).toHaveLength(1);
      expect(tracker.leaks[0]?.stack).toContain("Worker");
    } finally {
      tracker.stop();
    }
  });

  it("trackLeaks() still reports lost cancels while enableTrace() records derivations, whichever is on first", async () => {
    for (const traceFirst of [true, false]) {
      if (traceFirst) enableTrace();
      const tracker = trackLeaks();
      if (!traceFirst) enableTrace();
      try {
        (function forgetfulWhileTracing() {
          for (let i = 0; i < 3; i++) withCancel(background());
        })();
        await collect();
        expect(tracker.leaks).toHaveLength(3);
        expect(tracker.leaks[0]?.stack).toContain("forgetfulWhileTracing");
      } finally {
        tracker.stop();
        enableTrace(false);
      }
    }
  });

  it("trackLeaks() reports a lost cancel that only an abort listener on its own context's signal still calls", async () => {
    const tracker = trackLeaks();
    try {
      (function selfCancelling() {
        const [req, cancelReq] = withCancel(background());
        req.signal.addEventListener("abort", () => cancelReq());
      })();
      await collect();
      expect(tracker.leaks.map((l) => l.context)).toEqual(["background().withCancel()"]);
      expect(tracker.leaks[0]?.stack).toContain("selfCancelling");
    } finally {
      tracker.stop();
    }
  });

  it("trackLeaks() reports a lost withTimeout with its timer still armed", async () => {
    const tracker = trackLeaks();
    let cancelLater: () => void = () => {};
    try {
      const [parent, cancelParent] = withCancel(background());
      cancelLater = cancelParent;
      (function lostTimeout() {
        withTimeout(parent, 60_000);
      })();
      await collect();
      expect(tracker.leaks.map((l) => [l.context.split(".withTimeout")[0], l.timer])).toEqual([["background().withCancel()", true]]);
    } finally {
      cancelLater();
      tracker.stop();
    }
  });

  it("trackLeaks() does not report children cancelled through their parent", async () => {
    const tracker = trackLeaks();
    try {
      const [parent, cancelParent] = withCancel(background());
      (function dropped() {
        for (let i = 0; i < 10; i++) withCancel(parent);
      })();
      cancelParent();
      await collect();
      expect(tracker.leaks).toEqual([]);
    } finally {
      tracker.stop();
    }
  });
});

describe("dump() of a foreign context with a deadline that is not a number", () => {
  it("dump() says the deadline is not a number instead of printing NaN ms", () => {
    const foreign = {
      deadline: null,
      err: undefined,
      done: new Promise<void>(() => {}),
      signal: new AbortController().signal,
      value: () => undefined,
    } as unknown as Context;
    expect(dump(foreign)).toContain("[alive, deadline null, not a number]");
  });
});

describe("stack frames in traces", () => {
  it("derivationTrace() keeps a user's frames from a monorepo of their own with a packages/core/src", async () => {
    const home = mkdtempSync(join(tmpdir(), "tether-monorepo-"));
    try {
      const dir = join(home, "myapp", "packages", "core", "src");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, "server.mjs");
      writeFileSync(
        file,
        [
          `import { background, withCancel } from ${JSON.stringify(built("index"))};`,
          `import { derivationTrace, enableTrace } from ${JSON.stringify(built("debug"))};`,
          "enableTrace();",
          "function startRequest() { return withCancel(background()); }",
          "const [ctx, cancel] = startRequest();",
          "console.log(derivationTrace(ctx));",
          "cancel();",
        ].join("\n"),
      );
      const { code, stdout, stderr } = await runNode(file);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toContain("startRequest");
      expect(stdout).not.toMatch(/packages[\\/]core[\\/]dist[\\/]/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("dump() on odd and large trees", () => {
  it("dump() prints a task whose function's name cannot be read", async () => {
    const [ctx, cancel] = withCancel(background());
    const fn = async function* (): AsyncGenerator<unknown, void, unknown> {
      yield* until(new Promise(() => {}));
    };
    Object.defineProperty(fn, "name", {
      get(): never {
        throw new Error("name getter threw");
      },
    });
    const task = runTask(ctx, fn).catch(() => undefined);
    await turn();
    expect(dump(ctx)).toContain('task "anonymous" (generator)');
    cancel();
    await task;
  });

  it("dump() and withCancel() refuse a foreign context whose err is null, with a TypeError naming its err", () => {
    const foreign: Context = { deadline: undefined, err: null as never, done: new Promise(() => {}), signal: new AbortController().signal, value: () => undefined };
    expect(() => dump(foreign)).toThrow(new TypeError("dump: ctx.err must be undefined or an Error, received null"));
    expect(() => withCancel(foreign)).toThrow(new TypeError("withCancel: parent.err must be undefined or an Error, received null"));
  });

  it("dump() of a chain 10,000 contexts deep neither overflows the stack nor grows quadratically", () => {
    const [root, cancel] = withCancel(background());
    let c: Context = root;
    for (let i = 0; i < 10_000; i++) c = withCancel(c)[0];
    const out = dump(root);
    expect(out.split("\n")).toHaveLength(10_001);
    expect(out).toContain("(depth 10000) .withCancel() [alive]");
    // Indentation stops growing past 32 levels: about 130 characters a line, not 3 per level.
    expect(out.length).toBeLessThan(10_001 * 200);
    cancel();
  });

  it("dump() shows a child derived through a foreign wrapper of the dumped context, with its waits", async () => {
    const [root, cancel] = withCancel(background());
    const wrapper: Context = { deadline: undefined, get err() { return root.err; }, done: root.done, signal: root.signal, value: (k) => root.value(k) };
    const [query, cancelQuery] = withTimeout(wrapper, 60_000);
    nameContext(query, "db query");
    const napping = sleep(query, 60_000).catch(() => undefined);
    await turn();
    const out = dump(root);
    expect(out).toContain('"db query"');
    expect(out).toContain("sleep(60000ms)");
    cancelQuery();
    cancel();
    await napping;
  });

  it("dump() says the state and name of the context of a task still in its cleanup after a cancel", async () => {
    const [root, cancel] = withCancel(background());
    const g = new Group(root, { name: "crawler" });
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    g.go(
      async function* () {
        try {
          yield* until(new Promise(() => {}));
        } finally {
          await stuck;
        }
      },
      { name: "GET /slow" },
    );
    g.go(async () => {
      await Promise.resolve();
      throw new Error("boom");
    });
    let out: string;
    try {
      out = await dumpShowing(root, "]: running");
    } finally {
      release();
      await expect(g.wait()).rejects.toThrow("boom");
      cancel();
    }
    expect(out).toMatch(/task "GET \/slow" \(generator\) on \.withCancelCause\(\) "crawler" \[context canceled, cause Error\("boom"\)\]: running/);
  });

  it("dump() shows the name given to a value layer on its segment", async () => {
    const [root, cancel] = withCancel(background());
    const tenant = createKey<string>("tenant");
    const layer = withValue(root, tenant, "acme");
    nameContext(layer, "tenant acme");
    const [job, cancelJob] = withCancel(layer);
    expect(dump(root)).toContain('.withValue(tenant, "acme") "tenant acme".withCancel()');
    cancelJob();
    cancel();
    expect(job.err).toBeDefined();
  });
});
