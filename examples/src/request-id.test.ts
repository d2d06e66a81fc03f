import { background, withCancel } from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { type Services, formatGrpcTimeout, parseGrpcTimeout, requestId, startServices, withRequestId } from "./request-id.js";

/** The id in a log line's `[id]` prefix. */
function idOf(line: string): string | undefined {
  return /^\[([^\]]+)\]/.exec(line)?.[1];
}

/** The number before "ms" after `marker` in the first line that has it. */
function msAfter(lines: string[], marker: RegExp): number {
  for (const line of lines) {
    const m = marker.exec(line);
    if (m !== null) return Number(m[1]);
  }
  throw new Error(`no line matches ${marker}`);
}

describe("request-id", () => {
  let services: Services | undefined;
  afterEach(async () => {
    await services?.close();
    services = undefined;
  });

  it("requestId() finds the id through derived contexts and gives undefined when absent", () => {
    const [ctx, cancel] = withCancel(withRequestId(background(), "abc"));
    expect(requestId(ctx)).toBe("abc");
    expect(requestId(background())).toBeUndefined();
    cancel();
  });

  it("parseGrpcTimeout() reads what formatGrpcTimeout() writes and rejects malformed values", () => {
    expect(parseGrpcTimeout(formatGrpcTimeout(250.7))).toBe(250);
    expect(parseGrpcTimeout("2S")).toBe(2_000);
    expect(parseGrpcTimeout("1.5S")).toBeUndefined();
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
  });

  it("the client's id appears in every log line of both hops and is echoed back", async () => {
    const lines: string[] = [];
    services = await startServices({ log: (l) => lines.push(l) });
    const res = await fetch(`${services.edgeUrl}/profile`, { headers: { "x-request-id": "client-42" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("client-42");
    expect(await res.json()).toEqual({ name: "Ada", requestId: "client-42" });
    expect(lines.some((l) => l.includes("] edge: ")) && lines.some((l) => l.includes("] backend: "))).toBe(true);
    expect(new Set(lines.map(idOf))).toEqual(new Set(["client-42"]));
  });

  it("the edge mints an id when the client sends none, and the backend uses that one", async () => {
    const lines: string[] = [];
    services = await startServices({ log: (l) => lines.push(l) });
    const res = await fetch(`${services.edgeUrl}/profile`);
    const minted = res.headers.get("x-request-id") ?? "";
    expect(minted).toMatch(/^[0-9a-f]{16}$/);
    expect(((await res.json()) as { requestId: string }).requestId).toBe(minted);
    expect(new Set(lines.map(idOf))).toEqual(new Set([minted]));
  });

  it("the backend's context gets the edge's remaining budget, less the reserve", async () => {
    const lines: string[] = [];
    services = await startServices({ log: (l) => lines.push(l), edgeBudgetMs: 500, reserveMs: 20 });
    await (await fetch(`${services.edgeUrl}/profile`)).text();
    const edgeLeft = msAfter(lines, /edge: calling backend \S+ with (\d+)ms left/);
    const sent = msAfter(lines, /edge: calling backend .*, sending grpc-timeout (\d+)m$/);
    const backendBudget = msAfter(lines, /backend: accepted .* with budget (\d+)ms/);
    expect(edgeLeft).toBeLessThanOrEqual(500);
    expect(sent).toBeLessThanOrEqual(edgeLeft - 20);
    expect(backendBudget).toBeGreaterThan(0);
    expect(backendBudget).toBeLessThanOrEqual(sent);
  });

  it("a backend slower than the budget stops with DeadlineExceeded and the edge answers 504", async () => {
    const lines: string[] = [];
    services = await startServices({ log: (l) => lines.push(l), edgeBudgetMs: 150, reserveMs: 60 });
    const res = await fetch(`${services.edgeUrl}/profile?backendDelay=60000`, { headers: { "x-request-id": "slow-1" } });
    expect(res.status).toBe(504);
    expect(lines).toContain("[slow-1] backend: lookup stopped: context deadline exceeded");
    expect(lines.some((l) => l.startsWith("[slow-1] edge: answered 504"))).toBe(true);
    expect(new Set(lines.map(idOf))).toEqual(new Set(["slow-1"]));
  });

  it("a client that hangs up cancels the call on both hops, each logging why", async () => {
    const lines: string[] = [];
    const waiters: Array<[string, () => void]> = [];
    const log = (line: string): void => {
      lines.push(line);
      for (const [text, resolve] of waiters) if (line.includes(text)) resolve();
    };
    const logged = (text: string): Promise<void> => new Promise((r) => waiters.push([text, r]));
    services = await startServices({ log, edgeBudgetMs: 60_000 });
    const accepted = logged("backend: accepted");
    const stopped = Promise.all([logged("edge: stopped"), logged("backend: lookup stopped")]);
    const client = new AbortController();
    const request = fetch(`${services.edgeUrl}/profile?backendDelay=60000`, { headers: { "x-request-id": "gone-1" }, signal: client.signal });
    const outcome = request.catch((e: unknown) => e);
    await accepted;
    client.abort();
    await outcome;
    await stopped;
    const gone = "context canceled (client closed the connection before the response was sent)";
    expect(lines).toContain(`[gone-1] edge: stopped: ${gone}`);
    expect(lines).toContain(`[gone-1] backend: lookup stopped: ${gone}`);
  });

  it("the edge mints a fresh id when the client's id is not a plain token", async () => {
    const lines: string[] = [];
    services = await startServices({ log: (l) => lines.push(l) });
    const res = await fetch(`${services.edgeUrl}/profile`, { headers: { "x-request-id": "bad id\twith spaces" } });
    await res.text();
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f]{16}$/);
  });
});
