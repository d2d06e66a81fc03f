import { createServer } from "node:http";
import { background, sleep, withCancel } from "@tether/core";
import { listen, requestContext } from "../lib/http.js";

/** What one page of the demo site does when asked for. */
export type PageKind = "ok" | "slow" | "error" | "fatal";

export interface PageSpec {
  readonly kind: PageKind;
  /** Server-side latency before answering (ignored by "slow", which never answers). */
  readonly delayMs: number;
}

/** The status the fatal page answers with: the crawler's credentials were revoked mid-run. */
export const FATAL_STATUS = 401;

/** mulberry32: a tiny seeded generator, so the same seed always gives the same site. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface LayoutOptions {
  pages: number;
  seed: number;
  /** Index of the fatal page, or undefined for none. */
  fatalAt: number | undefined;
  /** Share of pages that never answer. */
  slowShare: number;
  /** Share of pages that answer 500. */
  errorShare: number;
  /** Latency range of the other pages. */
  minDelayMs: number;
  maxDelayMs: number;
}

/** layout decides, from a seed, what every page of the site does. */
export function layout(o: LayoutOptions): PageSpec[] {
  const rand = prng(o.seed);
  return Array.from({ length: o.pages }, (_, i): PageSpec => {
    const roll = rand();
    const delayMs = Math.round(o.minDelayMs + rand() * (o.maxDelayMs - o.minDelayMs));
    if (i === o.fatalAt) return { kind: "fatal", delayMs };
    if (roll < o.slowShare) return { kind: "slow", delayMs };
    if (roll < o.slowShare + o.errorShare) return { kind: "error", delayMs };
    return { kind: "ok", delayMs };
  });
}

export interface DemoSite {
  readonly url: string;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Resolves once no request is being handled. */
  idle(): Promise<void>;
  /** Sockets open on the server right now. */
  openSockets(): number;
  /** Resolves once every client socket has closed. */
  socketsClosed(): Promise<void>;
  close(): Promise<void>;
}

/**
 * startSite serves `/page/<i>` for every spec. The server side is written with Tether too: each
 * request runs under a context that ends when the exchange does, so a page the client gave up on
 * stops being served — which is what makes "nothing in flight on the server" provable.
 */
export async function startSite(pages: readonly PageSpec[]): Promise<DemoSite> {
  const [serverCtx, stop] = withCancel(background());
  let inFlight = 0;
  let idleWaiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    inFlight++;
    res.once("close", () => {
      if (--inFlight > 0) return;
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    });
    const ctx = requestContext(serverCtx, res);
    const m = /^\/page\/(\d+)$/.exec(req.url ?? "");
    const spec = m === null ? undefined : pages[Number(m[1])];
    if (spec === undefined) {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      try {
        await sleep(ctx, spec.kind === "slow" ? Infinity : spec.delayMs);
        if (spec.kind === "error") res.writeHead(500).end("internal error\n");
        else if (spec.kind === "fatal") res.writeHead(FATAL_STATUS).end("credentials revoked\n");
        else res.writeHead(200, { "content-type": "text/html" }).end(`<title>page ${m?.[1] ?? ""}</title>`);
      } catch {
        // The client hung up (or the server is closing): the exchange is over, nobody to answer.
      }
    })();
  });
  const base = await listen(server);
  return {
    url: base.url,
    inFlight: () => inFlight,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    openSockets: base.openSockets,
    socketsClosed: base.socketsClosed,
    close: async () => {
      stop();
      await base.close();
    },
  };
}
