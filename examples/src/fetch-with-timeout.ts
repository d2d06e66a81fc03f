/**
 * fetch-with-timeout: an HTTP GET with a hard ceiling that really hangs up.
 *
 * The context's `signal` goes to `fetch`, so when the deadline passes the request is aborted and
 * its socket destroyed — the server sees the connection close, which is the whole point: a timeout
 * that only stops *waiting* leaves the server working for nobody. The error wraps `ctx.err` as its
 * `cause`, so `errorIs(err, DeadlineExceeded)` holds while the message still names the URL.
 */
import { createServer } from "node:http";
import { type Context, DeadlineExceeded, background, errorIs, withTimeout } from "@tether/core";
import { type LocalServer, listen } from "./lib/http.js";
import { runIfMain } from "./lib/main.js";

/**
 * fetchWithTimeout GETs `url` and resolves with the body, or rejects once `timeoutMs` have passed
 * (or `parent` is cancelled) with an error whose cause is the context's error.
 */
export async function fetchWithTimeout(parent: Context, url: string, timeoutMs: number): Promise<string> {
  const [ctx, cancel] = withTimeout(parent, timeoutMs);
  try {
    const res = await fetch(url, { signal: ctx.signal });
    // The body is read under the same signal: a server that sends headers and then stalls is
    // still cut off at the deadline.
    return await res.text();
  } catch (err) {
    const ctxErr = ctx.err;
    if (ctxErr !== undefined) throw new Error(`GET ${url}: ${ctxErr.message}`, { cause: ctxErr });
    throw err;
  } finally {
    // Also on success: it disarms the deadline timer now rather than when it would have fired.
    cancel();
  }
}

/** A test server: `/fast` answers at once, `/stall` never answers. */
export interface StallingServer extends LocalServer {
  /** Resolves when the socket of a request the server was still stalling on closes. */
  readonly abandoned: Promise<void>;
}

export async function startStallingServer(): Promise<StallingServer> {
  let onAbandoned!: () => void;
  const abandoned = new Promise<void>((r) => (onAbandoned = r));
  const server = createServer((req, res) => {
    if (req.url === "/fast") {
      res.end("hello");
      return;
    }
    // Stalls: no timer, no work, just a socket held open until the client gives up.
    req.socket.once("close", () => onAbandoned());
  });
  const base = await listen(server);
  return { ...base, abandoned };
}

export async function main(): Promise<void> {
  const server = await startStallingServer();
  try {
    console.log(`GET /fast -> ${JSON.stringify(await fetchWithTimeout(background(), `${server.url}/fast`, 500))}`);
    try {
      await fetchWithTimeout(background(), `${server.url}/stall`, 200);
    } catch (err) {
      console.log(`GET /stall -> ${String(err)}; errorIs(err, DeadlineExceeded) = ${errorIs(err, DeadlineExceeded)}`);
    }
    await server.abandoned;
    console.log("the server saw the stalled request's socket close");
  } finally {
    await server.close();
  }
}

runIfMain(import.meta.url, main);
