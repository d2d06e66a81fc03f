import type { Context } from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditServer, type AuditSink, slowSink, startAuditServer } from "./audit-after-response.js";

describe("audit-after-response", () => {
  let server: AuditServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("the audit write finishes after the response, though the request's context is cancelled", async () => {
    const lines: string[] = [];
    let finished!: () => void;
    const responseFinished = new Promise<void>((r) => (finished = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const written: string[] = [];
    let sinkCtx: Context | undefined;
    const sink: AuditSink = async (ctx, line) => {
      sinkCtx = ctx;
      await gate;
      written.push(line);
    };
    const log = (line: string): void => {
      lines.push(line);
      if (line.includes("response finished")) finished();
    };
    server = await startAuditServer({ sink, log });
    const res = await fetch(`${server.url}/orders/7`);
    expect(await res.text()).toBe("ok\n");
    await responseFinished;
    // The client has its answer and the request's context is cancelled, yet the audit write,
    // still in flight, runs under a context that is alive.
    expect(lines).toEqual(["[req-1] response finished (request context: context canceled)"]);
    expect(sinkCtx?.err).toBeUndefined();
    expect(written).toEqual([]);
    release();
    await server.drained();
    expect(written).toEqual(["[req-1] GET /orders/7 -> 200"]);
    expect(lines[1]).toBe("[req-1] audit written (request context: context canceled)");
  });

  it("the audit write gives up at its own timeout when the sink is stuck", async () => {
    const lines: string[] = [];
    const written: string[] = [];
    server = await startAuditServer({ sink: slowSink(60_000, written), auditTimeoutMs: 20, log: (l) => lines.push(l) });
    await (await fetch(`${server.url}/x`)).text();
    await server.drained();
    expect(written).toEqual([]);
    expect(lines).toContain("[req-1] audit dropped: context deadline exceeded");
  });

  it("close() waits for audit writes still within their time", async () => {
    const written: string[] = [];
    // A write of 30 ms, well within its time even on a machine that stalls for seconds.
    server = await startAuditServer({ sink: slowSink(30, written), auditTimeoutMs: 10_000, log: () => {} });
    await (await fetch(`${server.url}/a`)).text();
    await server.close();
    server = undefined;
    expect(written).toEqual(["[req-1] GET /a -> 200"]);
  });
});
