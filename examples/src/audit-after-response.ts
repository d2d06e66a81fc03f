/**
 * audit-after-response: work that must finish after the request that started it has ended.
 *
 * The audit record is written once the response is on its way, to a sink that is slow. The request's
 * context is cancelled as soon as the response finishes, so the write runs under
 * `withoutCancel(ctx)`: it keeps the request's values (the request id correlates the audit line)
 * but not its cancellation. Detached is not unbounded, though: the write gets its own timeout, so a
 * stuck sink costs one timer, not a task that never ends. And it is not orphaned: the server keeps
 * every pending write, and `close()` waits for them, so shutting down never drops an audit record
 * that was still within its time.
 */
import { createServer } from "node:http";
import { type Context, type Key, background, createKey, sleep, withCancel, withTimeout, withValue, withoutCancel } from "@tether/core";
import { type LocalServer, listen, requestContext } from "./lib/http.js";
import { runIfMain } from "./lib/main.js";

const requestIdKey: Key<string> = createKey<string>("requestId");

/** Writes one audit line; must honour `ctx`. */
export type AuditSink = (ctx: Context, line: string) => Promise<void>;

/** A sink that takes `latencyMs` per write, like a remote log service, and records what it got. */
export function slowSink(latencyMs: number, written: string[]): AuditSink {
  return async (ctx, line) => {
    await sleep(ctx, latencyMs);
    written.push(line);
  };
}

export interface AuditServerOptions {
  sink: AuditSink;
  /** The audit write's own budget, independent of the request's. Default: 1000 ms. */
  auditTimeoutMs?: number;
  /** Where the server logs. Default: console.log. */
  log?: (line: string) => void;
}

export interface AuditServer extends LocalServer {
  /** Resolves once every audit write started so far has finished or given up. */
  drained(): Promise<void>;
}

export async function startAuditServer(options: AuditServerOptions): Promise<AuditServer> {
  const { sink, auditTimeoutMs = 1_000, log = console.log } = options;
  const [serverCtx, stop] = withCancel(background());
  const pending = new Set<Promise<void>>();
  let nextId = 1;

  /** logAfterRequest ships `line` detached from the request's cancellation, under its own timeout. */
  function logAfterRequest(reqCtx: Context, line: string): void {
    const [ctx, cancel] = withTimeout(withoutCancel(reqCtx), auditTimeoutMs);
    const id = ctx.value(requestIdKey) ?? "?";
    const write = sink(ctx, `[${id}] ${line}`)
      .then(
        () => log(`[${id}] audit written (request context: ${reqCtx.err?.message ?? "alive"})`),
        (err: unknown) => log(`[${id}] audit dropped: ${ctx.err?.message ?? String(err)}`),
      )
      .finally(() => {
        cancel();
        pending.delete(write);
      });
    pending.add(write);
  }

  const server = createServer((req, res) => {
    const id = `req-${nextId++}`;
    const ctx = withValue(requestContext(serverCtx, res), requestIdKey, id);
    res.once("close", () => log(`[${id}] response finished (request context: ${ctx.err?.message ?? "alive"})`));
    res.end("ok\n");
    logAfterRequest(ctx, `${req.method ?? "GET"} ${req.url ?? "/"} -> 200`);
  });
  const base = await listen(server);
  const drained = async (): Promise<void> => {
    while (pending.size > 0) await Promise.all(pending);
  };
  return {
    ...base,
    drained,
    close: async () => {
      await base.close();
      await drained();
      stop();
    },
  };
}

export async function main(): Promise<void> {
  const written: string[] = [];
  const server = await startAuditServer({ sink: slowSink(200, written), auditTimeoutMs: 1_000 });
  const res = await fetch(`${server.url}/orders/7`);
  console.log(`client got ${res.status}; audit lines written so far: ${written.length}`);
  await res.text();
  await server.close();
  console.log(`after close: ${JSON.stringify(written)}`);
}

runIfMain(import.meta.url, main);
