import { Canceled, background, withCancel } from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { HttpError, type Site, crawl, startSite } from "./crawler.js";

describe("crawl", () => {
  let site: Site | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  it("crawl() fetches every reachable page, never more than `limit` at once", async () => {
    site = await startSite({ slow: false });
    const { pages, timedOut } = await crawl(background(), `${site.url}/`, { limit: 3, perRequestMs: 5_000 });
    expect([...pages.keys()].sort()).toEqual(
      ["/", "/docs", "/blog", "/shop", ...["docs", "blog", "shop"].flatMap((s) => [1, 2, 3, 4, 5].map((i) => `/${s}/${i}`))].sort(),
    );
    expect(pages.get("/docs/2")).toBe("page /docs/2");
    expect(site.maxInFlight()).toBeLessThanOrEqual(3);
    expect(site.maxInFlight()).toBeGreaterThan(1);
    expect(timedOut).toEqual([]);
  });

  it("crawl() skips a page that outlives its own timeout, and the server sees it abandoned", async () => {
    site = await startSite();
    const { pages, timedOut } = await crawl(background(), `${site.url}/`, { limit: 8, perRequestMs: 1_000 });
    expect(timedOut).toContain("/slow");
    expect(pages.has("/slow")).toBe(false);
    // A busy machine may time out an ordinary page too; none is lost or counted twice either way.
    const accounted = new Set([...pages.keys(), ...timedOut]);
    expect(accounted.size).toBe(pages.size + timedOut.length);
    for (const path of site.requested) expect(accounted.has(path)).toBe(true);
    await site.idle();
    expect(site.inFlight()).toBe(0);
  });

  it("crawl() rejects with the first HTTP error and never starts the pages still queued", async () => {
    site = await startSite({ broken: true, delayMs: 20 });
    const err = await crawl(background(), `${site.url}/`, { limit: 2, perRequestMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(500);
    // /broken and /docs took the two slots; /docs was cancelled (perhaps before it reached the
    // server), and /blog, /shop and /slow, still queued, never started.
    expect(site.requested.slice(0, 2)).toEqual(["/", "/broken"]);
    expect(site.requested).not.toContain("/blog");
    expect(site.requested).not.toContain("/shop");
    expect(site.requested).not.toContain("/slow");
    await site.idle();
    expect(site.inFlight()).toBe(0);
  });

  it("crawl() rejects with Canceled when its caller cancels, and stops every request", async () => {
    site = await startSite();
    const [ctx, cancel] = withCancel(background());
    const crawling = crawl(ctx, `${site.url}/`, { limit: 4, perRequestMs: 60_000 }).catch((e: unknown) => e);
    await site.whenRequested("/slow");
    cancel();
    expect(await crawling).toBe(Canceled);
    await site.idle();
    expect(site.inFlight()).toBe(0);
  });
});
