/**
 * crawler: the errgroup pattern — a bounded fan-out where the first real failure stops the rest.
 *
 * Every page is a task in one `Group` with a `limit`, so at most `limit` requests are in flight and
 * the rest queue. Each request has its own timeout derived from the group's context: a page that is
 * merely slow is recorded and skipped, while a page that answers with an error fails the crawl —
 * the group cancels the requests in flight (their sockets close), never starts the queued ones, and
 * `wait()` rejects with that first error once every task has settled.
 */
import { createServer } from "node:http";
import { type Context, background, sleep, withCancel, withTimeout } from "@tether/core";
import { Group } from "@tether/group";
import { type LocalServer, listen, requestContext } from "./lib/http.js";
import { runIfMain } from "./lib/main.js";

/** A page answered with an HTTP error: fatal for the crawl. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`GET ${url}: HTTP ${status}`);
  }
}

export interface CrawlOptions {
  /** At most this many requests at once. */
  limit: number;
  /** Each request's own timeout. */
  perRequestMs: number;
  /** Stop discovering after this many pages. Default: 1000. */
  maxPages?: number;
}

export interface CrawlResult {
  /** Path → page title, for every page fetched. */
  readonly pages: ReadonlyMap<string, string>;
  /** Paths of pages that did not answer within `perRequestMs`. */
  readonly timedOut: readonly string[];
}

const LINK = /href="([^"]+)"/g;
const TITLE = /<title>([^<]*)<\/title>/;

/** crawl fetches `startUrl` and every same-origin page reachable from it. */
export async function crawl(ctx: Context, startUrl: string, options: CrawlOptions): Promise<CrawlResult> {
  const { limit, perRequestMs, maxPages = 1_000 } = options;
  const origin = new URL(startUrl).origin;
  const seen = new Set<string>();
  const pages = new Map<string, string>();
  const timedOut: string[] = [];
  const group = new Group(ctx, { limit });

  const visit = (url: URL): void => {
    if (url.origin !== origin || seen.has(url.pathname) || seen.size >= maxPages) return;
    seen.add(url.pathname);
    group.go(async (gctx) => {
      const [reqCtx, cancel] = withTimeout(gctx, perRequestMs);
      try {
        const res = await fetch(url, { signal: reqCtx.signal });
        if (!res.ok) throw new HttpError(url.pathname, res.status);
        const html = await res.text();
        pages.set(url.pathname, TITLE.exec(html)?.[1] ?? "");
        for (const m of html.matchAll(LINK)) visit(new URL(m[1] as string, url));
      } catch (err) {
        // Stopped by the group (a sibling failed, or the caller gave up): report the group's own
        // error, which the group knows is not a failure of this task.
        if (gctx.err !== undefined) throw gctx.err;
        if (reqCtx.err !== undefined) {
          timedOut.push(url.pathname);
          return;
        }
        throw err;
      } finally {
        cancel();
      }
    });
  };

  visit(new URL(startUrl));
  await group.wait();
  return { pages, timedOut };
}

export interface SiteOptions {
  /** Server-side latency of an ordinary page. Default: 5 ms. */
  delayMs?: number;
  /** Link a page that answers 500 from the home page. Default: false. */
  broken?: boolean;
  /** Link `/slow`, a page that never answers, from the home page. Default: true. */
  slow?: boolean;
}

export interface Site extends LocalServer {
  /** How many requests the server is handling right now, and the most it ever handled at once. */
  inFlight(): number;
  /** Resolves once the server is handling no request (keep-alive sockets may stay open). */
  idle(): Promise<void>;
  maxInFlight(): number;
  /** Every path requested, in order of arrival. */
  readonly requested: readonly string[];
  /** Resolves when `path` is requested (at once if it already was). */
  whenRequested(path: string): Promise<void>;
}

/**
 * startSite serves a small site: a home page, three sections of five pages each, and `/slow`, a
 * page that never answers (unless `slow: false`). The server honours its own request contexts, so a page abandoned by the
 * client stops being worked on.
 */
export async function startSite(options: SiteOptions = {}): Promise<Site> {
  const { delayMs = 5, broken = false, slow = true } = options;
  const sections = ["docs", "blog", "shop"];
  const linksOf = (path: string): string[] => {
    if (path === "/") return [...(broken ? ["/broken"] : []), ...sections.map((s) => `/${s}`), ...(slow ? ["/slow"] : [])];
    const section = sections.find((s) => path === `/${s}`);
    return section === undefined ? [] : [1, 2, 3, 4, 5].map((i) => `/${section}/${i}`);
  };
  const [serverCtx, stop] = withCancel(background());
  let inFlight = 0;
  let maxInFlight = 0;
  let idleWaiters: Array<() => void> = [];
  const requested: string[] = [];
  const arrivals = new Map<string, Array<() => void>>();
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    requested.push(path);
    for (const w of arrivals.get(path) ?? []) w();
    arrivals.delete(path);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once("close", () => {
      if (--inFlight > 0) return;
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    });
    const ctx = requestContext(serverCtx, res);
    void (async () => {
      try {
        // A broken page fails fast, as errors usually do; the others take their time.
        if (path === "/broken") {
          res.writeHead(500).end();
          return;
        }
        await sleep(ctx, path === "/slow" ? Infinity : delayMs);
        const links = linksOf(path).map((l) => `<a href="${l}">${l}</a>`);
        res.writeHead(200, { "content-type": "text/html" }).end(`<title>page ${path}</title>${links.join("")}`);
      } catch {
        // The client left or the server is closing: there is nobody to answer.
      }
    })();
  });
  const base = await listen(server);
  return {
    ...base,
    inFlight: () => inFlight,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    maxInFlight: () => maxInFlight,
    requested,
    whenRequested: (path) =>
      requested.includes(path) ? Promise.resolve() : new Promise<void>((r) => arrivals.set(path, [...(arrivals.get(path) ?? []), r])),
    close: async () => {
      stop();
      await base.close();
    },
  };
}

export async function main(): Promise<void> {
  for (const broken of [false, true]) {
    const site = await startSite({ broken });
    try {
      const { pages, timedOut } = await crawl(background(), `${site.url}/`, { limit: 4, perRequestMs: 200 });
      console.log(`crawled ${pages.size} pages (${[...pages.keys()].join(" ")}); timed out: ${timedOut.join(" ")}`);
    } catch (err) {
      console.log(`crawl failed: ${String(err)}; requests made: ${site.requested.length}`);
    } finally {
      console.log(`most requests in flight at once: ${site.maxInFlight()} (limit 4)`);
      await site.close();
    }
  }
}

runIfMain(import.meta.url, main);
