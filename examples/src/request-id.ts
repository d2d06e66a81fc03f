/**
 * request-id: one id per request, minted at the edge and carried, with the deadline, across hops.
 *
 * The edge is a `node:http` server; behind it a backend speaks HTTP/2 (`node:http2`, the transport
 * gRPC runs on). The edge middleware takes the client's `x-request-id` or mints one — the edge only:
 * a service in the middle that minted ids would silently split one request's logs in two. The id
 * lives under a typed key, so only code that imports `requestIdKey` can read or forge it.
 *
 * On the way out, the id and the *remaining* budget travel in headers (`x-request-id` and gRPC's
 * own `grpc-timeout`). The backend builds its context from them, so it stops when the edge would
 * have stopped waiting, instead of finishing work nobody will read. The edge forwards its budget
 * minus a small reserve, so that when time runs out the backend gives up first and the edge still
 * has a moment to answer its client with a 504 rather than dropping it.
 */
import { randomBytes } from "node:crypto";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream, connect, createServer as createH2Server } from "node:http2";
import {
  type Context,
  type Key,
  DeadlineExceeded,
  background,
  cause,
  createKey,
  errorIs,
  sleep,
  withCancel,
  withTimeout,
  withValue,
} from "@tether/core";
import { ClientGoneError, listen, requestContext } from "./lib/http.js";
import { runIfMain } from "./lib/main.js";

/** The request id's key. Keys compare by identity, so no other module can collide with it. */
export const requestIdKey: Key<string> = createKey<string>("requestId");

export function withRequestId(ctx: Context, id: string): Context {
  return withValue(ctx, requestIdKey, id);
}

/** The request id carried by `ctx`, or undefined: absence is an answer, not an error. */
export function requestId(ctx: Context): string | undefined {
  return ctx.value(requestIdKey);
}

const ID_HEADER = "x-request-id";
const TIMEOUT_HEADER = "grpc-timeout";
/** Client-supplied ids are echoed into logs, so only plain, short tokens are accepted. */
const ID_SHAPE = /^[A-Za-z0-9._-]{1,64}$/;

function mintId(): string {
  return randomBytes(8).toString("hex");
}

/** Formats a budget the way gRPC does on the wire: an integer and a unit, here milliseconds. */
export function formatGrpcTimeout(ms: number): string {
  return `${Math.max(0, Math.floor(ms))}m`;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** Parses a `grpc-timeout` value into milliseconds, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

export type LogSink = (line: string) => void;

/** A logger for one hop that stamps every line with the request id found in the context. */
function hopLogger(log: LogSink, hop: string): (ctx: Context, message: string) => void {
  return (ctx, message) => log(`[${requestId(ctx) ?? "no-id"}] ${hop}: ${message}`);
}

/** Why a call stopped: the context's error, and its cause when that says more. */
function why(ctx: Context, err: unknown): string {
  const e = ctx.err;
  if (e === undefined) return String(err);
  const c = cause(ctx);
  return c === e ? e.message : `${e.message} (${c instanceof Error ? c.message : String(c)})`;
}

function remaining(ctx: Context): number {
  return ctx.deadline === undefined ? Infinity : ctx.deadline - Date.now();
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" ? v : undefined;
}

export interface ServicesOptions {
  /** Where log lines go. Default: console.log. */
  log?: LogSink;
  /** How long the edge gives each request. Default: 1000 ms. */
  edgeBudgetMs?: number;
  /** How much of its budget the edge keeps back to answer its client. Default: 20 ms. */
  reserveMs?: number;
}

export interface Services {
  /** The edge's base URL; `GET /profile?backendDelay=ms` makes the backend take that long. */
  readonly edgeUrl: string;
  close(): Promise<void>;
}

/** startServices starts the backend (HTTP/2) and the edge (HTTP/1.1) in front of it. */
export async function startServices(options: ServicesOptions = {}): Promise<Services> {
  const { log = console.log, edgeBudgetMs = 1_000, reserveMs = 20 } = options;
  // Each service's root: closing a service cancels every request it still serves.
  const [backendCtx, stopBackend] = withCancel(background());
  const [edgeCtx, stopEdge] = withCancel(background());

  const backendLog = hopLogger(log, "backend");
  const backendServer = createH2Server();
  backendServer.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    // The backend never mints: a call without an id is logged as such, so the gap is visible.
    const id = header(headers, ID_HEADER);
    let ctx = requestContext(backendCtx, stream);
    if (id !== undefined) ctx = withRequestId(ctx, id);
    const budget = parseGrpcTimeout(header(headers, TIMEOUT_HEADER));
    const [callCtx, cancel] = withTimeout(ctx, budget ?? Infinity);
    // A reset or a dropped session shows up as the stream closing, which cancels the call's
    // context; the error event adds nothing, and unheard it would crash the server.
    stream.on("error", () => {});
    const path = header(headers, ":path") ?? "/";
    const delay = Number(new URL(path, "http://backend").searchParams.get("delay") ?? 0);
    backendLog(callCtx, `accepted ${path.split("?")[0]} with budget ${budget === undefined ? "none" : `${Math.round(remaining(callCtx))}ms`}`);
    void (async () => {
      try {
        await sleep(callCtx, delay); // the lookup's simulated latency
        stream.respond({ ":status": 200, "content-type": "application/json", "grpc-status": "0" });
        stream.end(JSON.stringify({ name: "Ada", requestId: requestId(callCtx) }));
        backendLog(callCtx, "lookup done");
      } catch (err) {
        backendLog(callCtx, `lookup stopped: ${why(callCtx, err)}`);
        // gRPC's DEADLINE_EXCEEDED is status 4 (real gRPC sends it in trailers under a 200; a
        // header keeps the example small). The stream may already be gone if the edge left.
        if (!stream.destroyed && !stream.headersSent) {
          stream.respond({ ":status": 504, "grpc-status": errorIs(err, DeadlineExceeded) ? "4" : "1" });
          stream.end();
        }
      } finally {
        cancel();
      }
    })();
  });
  const backend = await listen(backendServer);
  const session: ClientHttp2Session = connect(backend.url);
  // A session error (the backend going away) fails the calls in flight; it must not crash the edge.
  session.on("error", () => {});

  const edgeLog = hopLogger(log, "edge");

  /** The outbound hop: puts the id and the remaining budget on the wire. */
  async function callBackend(ctx: Context, path: string): Promise<{ status: number; grpcStatus: string; body: string }> {
    const headers: Record<string, string> = { ":method": "GET", ":path": path };
    const id = requestId(ctx);
    if (id !== undefined) headers[ID_HEADER] = id;
    const left = remaining(ctx);
    if (left !== Infinity) headers[TIMEOUT_HEADER] = formatGrpcTimeout(left - reserveMs);
    const budget = headers[TIMEOUT_HEADER] === undefined ? "no deadline" : `${TIMEOUT_HEADER} ${headers[TIMEOUT_HEADER]}`;
    edgeLog(ctx, `calling backend ${path.split("?")[0]} with ${Math.round(left)}ms left, sending ${budget}`);
    const stream = session.request(headers, { signal: ctx.signal });
    return await new Promise((resolve, reject) => {
      let status = 0;
      let grpcStatus = "";
      let body = "";
      stream.setEncoding("utf8");
      stream.on("response", (h) => {
        status = Number(h[":status"]);
        grpcStatus = String(h["grpc-status"] ?? "");
      });
      stream.on("data", (chunk: string) => (body += chunk));
      stream.on("end", () => resolve({ status, grpcStatus, body }));
      stream.on("error", (err) => reject(ctx.err ?? err));
      // A stream reset without an error event (the backend shutting down) must still settle.
      stream.on("close", () => reject(ctx.err ?? new Error(`backend closed the stream (code ${stream.rstCode})`)));
    });
  }

  async function handleProfile(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
    edgeLog(ctx, `${req.method ?? "GET"} ${req.url ?? "/"}`);
    const delay = new URL(req.url ?? "/", "http://edge").searchParams.get("backendDelay") ?? "0";
    try {
      const { status, grpcStatus, body } = await callBackend(ctx, `/lookup?delay=${encodeURIComponent(delay)}`);
      if (grpcStatus === "4") throw new Error("backend ran out of budget", { cause: DeadlineExceeded });
      if (status !== 200) throw new Error(`backend answered ${status}`);
      res.writeHead(200, { "content-type": "application/json" }).end(body);
      edgeLog(ctx, "answered 200");
    } catch (err) {
      if (cause(ctx) instanceof ClientGoneError) {
        edgeLog(ctx, `stopped: ${why(ctx, err)}`);
        return;
      }
      const timedOut = errorIs(err, DeadlineExceeded);
      res.writeHead(timedOut ? 504 : 502).end();
      edgeLog(ctx, `answered ${timedOut ? 504 : 502}: ${String(err)}`);
    }
  }

  /** The middleware: stamps (or mints) the id, echoes it, and sets the request's budget. */
  const edgeServer = createServer((req, res) => {
    const offered = req.headers[ID_HEADER];
    const id = typeof offered === "string" && ID_SHAPE.test(offered) ? offered : mintId();
    res.setHeader(ID_HEADER, id);
    const [ctx, cancel] = withTimeout(withRequestId(requestContext(edgeCtx, res), id), edgeBudgetMs);
    void handleProfile(ctx, req, res).finally(cancel);
  });
  const edge = await listen(edgeServer);

  return {
    edgeUrl: edge.url,
    async close() {
      stopEdge();
      stopBackend();
      await edge.close();
      await new Promise<void>((resolve) => session.close(resolve));
      await backend.close();
    },
  };
}

export async function main(): Promise<void> {
  const services = await startServices({ edgeBudgetMs: 300 });
  try {
    for (const [label, path, headers] of [
      ["client sends an id", "/profile", { [ID_HEADER]: "client-42" }],
      ["client sends none", "/profile", {}],
      ["backend too slow for the budget", "/profile?backendDelay=5000", { [ID_HEADER]: "slow-1" }],
    ] as const) {
      console.log(`--- ${label}`);
      const res = await fetch(`${services.edgeUrl}${path}`, { headers });
      console.log(`client got ${res.status} with ${ID_HEADER}: ${res.headers.get(ID_HEADER)} ${await res.text()}`);
    }
  } finally {
    await services.close();
  }
}

runIfMain(import.meta.url, main);
