/**
 * The showcase: fetch a few hundred pages from an in-process server, the way a production crawler
 * would, and prove afterwards that nothing outlived the run.
 *
 * - one `Group` with a `limit`: never more than `limit` requests at once, the rest queued FIFO;
 * - a per-request timeout, derived from the group's context: a stalled page costs one slot for
 *   `perRequestMs`, is recorded as timed out, and the run goes on;
 * - an overall deadline above the group: when it passes, everything still running is cancelled
 *   and nothing queued starts;
 * - first-fatal-error cancellation: HTTP 500s are recorded and skipped, but the page that answers
 *   401 (credentials revoked) fails its task, which cancels the whole group with that error as the
 *   cause — every request in flight is aborted and its socket closed, the queue never starts.
 *
 * Every outcome is classified by `cause(ctx)`: the same `DeadlineExceeded` can mean "this page was
 * slow" or "the whole run ran out of time", and the cause is what tells them apart.
 *
 * Requests go through `node:http` with an `Agent` the run owns, rather than the global `fetch`: the
 * proof needs to count the client's sockets, and fetch's shared connection pool can neither be
 * inspected nor closed (it even opens spare connections after a burst of aborts).
 */
import { Agent, get } from "node:http";
import { type Context, background, cause, withCancel, withSignal, withTimeout } from "@tether/core";
import { type LiveCounts, liveCounts } from "@tether/core/testing";
import { Group } from "@tether/group";
import { type Counts, type Output, Progress } from "./progress.js";
import { FATAL_STATUS, type PageSpec, layout, startSite } from "./site.js";

/** The cause of a request cancelled by its own timeout. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  constructor(ms: number) {
    super(`request took longer than ${ms}ms`);
  }
}

/** The cause of everything cancelled by the overall deadline. */
export class OverallDeadlineError extends Error {
  override readonly name = "OverallDeadlineError";
  constructor(ms: number) {
    super(`overall deadline of ${ms}ms passed`);
  }
}

/** The first fatal error: it fails its task and so cancels the run. */
export class FatalPageError extends Error {
  override readonly name = "FatalPageError";
  constructor(
    readonly path: string,
    readonly status: number,
  ) {
    super(`GET ${path} answered ${status}: credentials revoked, stopping the run`);
  }
}

export interface ShowcaseOptions {
  /** How many pages the site has. Default: 300. */
  pages?: number;
  /** Requests at once. Default: 16. */
  limit?: number;
  /** Each request's timeout. Default: 250 ms. */
  perRequestMs?: number;
  /** The whole run's deadline. Default: 8000 ms. */
  deadlineMs?: number;
  /** Include the page that fails fatally (at 90% of the way). Default: true. */
  fatal?: boolean;
  /** Seed for the site's layout. Default: 7. */
  seed?: number;
  /** An explicit layout, instead of one generated from `pages`, `fatal` and `seed`. */
  layout?: readonly PageSpec[];
  /** Where progress goes. Default: nowhere. */
  out?: Output;
  /** Aborting it (Ctrl-C) cancels the run, with the signal's reason as the cause. */
  signal?: AbortSignal;
}

export interface Proof {
  /** Requests the server was still handling after the run, once it had time to see clients leave. */
  readonly serverInFlight: number;
  /** Sockets the client's agent still had in use by a request after the run. */
  readonly clientSocketsInUse: number;
  /** Sockets still open on the server once the client closed its idle keep-alive connections. */
  readonly openSockets: number;
  /** Tether's live counters once the run and the server are gone. */
  readonly live: LiveCounts;
  readonly ok: boolean;
}

export interface Summary {
  readonly total: number;
  readonly fetched: number;
  /** Pages that answered an HTTP error other than the fatal one. */
  readonly failed: number;
  /** Pages that answered the fatal status (the first one stops the run). */
  readonly fatal: number;
  readonly timedOut: number;
  /** Requests stopped by the run's cancellation, counted by cause. */
  readonly cancelledByCause: Readonly<Record<string, number>>;
  readonly cancelled: number;
  /** Pages still queued when the run was cancelled; they never started. */
  readonly notStarted: number;
  /** What stopped the run early, if anything. */
  readonly stoppedBy: string | undefined;
  readonly elapsedMs: number;
  readonly settings: { readonly limit: number; readonly perRequestMs: number; readonly deadlineMs: number };
  readonly proof: Proof;
}

/** How long the proof waits for the server to see every client leave before counting. */
const GRACE_MS = 2_000;

function describeCause(why: unknown): string {
  return why instanceof Error ? why.message : String(why);
}

/** checkProof is the pass/fail rule: nothing in flight, no socket open, every counter at zero. */
export function checkProof(counts: Omit<Proof, "ok">): Proof {
  const { serverInFlight, clientSocketsInUse, openSockets, live } = counts;
  const ok = serverInFlight === 0 && clientSocketsInUse === 0 && openSockets === 0 && Object.values(live).every((n) => n === 0);
  return { ...counts, ok };
}

function socketsInUse(agent: Agent): number {
  return Object.values(agent.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
}

/**
 * getPage GETs `url` through `agent` under `ctx`: aborting its signal destroys the request. It
 * settles on the request's `close`, not on the response's end: only then is the socket back with
 * the agent (or destroyed), so once every page has settled no request holds a socket.
 */
function getPage(ctx: Context, agent: Agent, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let outcome: { ok: true; status: number; body: string } | { ok: false; error: unknown } = {
      ok: false,
      error: new Error(`GET ${url}: closed without a response`),
    };
    const req = get(url, { agent, signal: ctx.signal }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => (outcome = { ok: true, status: res.statusCode ?? 0, body }));
      res.on("error", (error) => (outcome = { ok: false, error }));
    });
    req.on("error", (error) => {
      if (!outcome.ok) outcome = { ok: false, error };
    });
    req.on("close", () => (outcome.ok ? resolve(outcome) : reject(outcome.error)));
  });
}

/** runShowcase starts the site, fetches every page under the run's rules, and returns the summary. */
export async function runShowcase(options: ShowcaseOptions = {}): Promise<Summary> {
  const { limit = 16, perRequestMs = 250, deadlineMs = 8_000, out = { write: () => {} }, signal } = options;
  const pages =
    options.layout ??
    layout({
      pages: options.pages ?? 300,
      seed: options.seed ?? 7,
      fatalAt: options.fatal === false ? undefined : Math.floor((options.pages ?? 300) * 0.9),
      slowShare: 0.04,
      errorShare: 0.05,
      minDelayMs: 20,
      maxDelayMs: 200,
    });
  const site = await startSite(pages);
  const agent = new Agent({ keepAlive: true, maxSockets: limit });
  const startedAt = Date.now();
  const progress = new Progress(out, startedAt);
  const counts = { total: pages.length, started: 0, fetched: 0, failed: 0, fatal: 0, timedOut: 0, cancelled: 0, inFlight: 0, peak: 0 };
  const snapshot = (): Counts => ({ ...counts });
  const cancelledByCause: Record<string, number> = {};
  let stoppedBy: string | undefined;

  /** One page: its own timeout under the group, its outcome counted by cause. */
  async function fetchPage(gctx: Context, path: string): Promise<void> {
    counts.started++;
    counts.inFlight++;
    // A plain progress line is printed as a page finishes, one below the limit: the peak shows it.
    counts.peak = Math.max(counts.peak, counts.inFlight);
    progress.update(snapshot());
    const [reqCtx, cancel] = withTimeout(gctx, perRequestMs, new RequestTimeoutError(perRequestMs));
    try {
      const res = await getPage(reqCtx, agent, `${site.url}${path}`);
      if (res.status === FATAL_STATUS) {
        counts.fatal++;
        throw new FatalPageError(path, res.status);
      }
      if (res.status === 200) counts.fetched++;
      else counts.failed++;
    } catch (err) {
      // The context decides, not the error: an aborted request's error carries the run's cause,
      // which may be another task's FatalPageError rather than this page's.
      if (reqCtx.err === undefined) throw err;
      const why = cause(reqCtx);
      if (why instanceof RequestTimeoutError) counts.timedOut++;
      else {
        counts.cancelled++;
        const label = describeCause(why);
        cancelledByCause[label] = (cancelledByCause[label] ?? 0) + 1;
      }
    } finally {
      cancel();
      counts.inFlight--;
      progress.update(snapshot());
    }
  }

  const [root, stopRoot] = signal === undefined ? withCancel(background()) : withSignal(background(), signal);
  const [runCtx, stopDeadline] = withTimeout(root, deadlineMs, new OverallDeadlineError(deadlineMs));
  try {
    const group = new Group(runCtx, { limit });
    pages.forEach((_, i) => group.go((gctx) => fetchPage(gctx, `/page/${i}`)));
    try {
      await group.wait();
    } catch (err) {
      // A cancellation from above (the deadline, Ctrl-C) surfaces as the context's err, which says
      // only that it was cancelled; its cause says why.
      stoppedBy = describeCause(err === group.ctx.err ? cause(group.ctx) : err);
    }
    // A run stopped by its deadline or by Ctrl-C has no failing task; the context says why.
    if (stoppedBy === undefined && runCtx.err !== undefined) stoppedBy = describeCause(cause(runCtx));
  } finally {
    stopDeadline();
    stopRoot();
  }
  const elapsedMs = Date.now() - startedAt;
  progress.finish(snapshot());

  // The proof. The run has returned, so every task has settled; now the server must agree. It
  // learns that a client gave up only when the socket's close reaches it, so it gets a bounded
  // grace period — measured with a Tether deadline, which is itself released before counting.
  const [grace, endGrace] = withTimeout(background(), GRACE_MS);
  await Promise.race([site.idle(), grace.done]);
  const serverInFlight = site.inFlight();
  const clientSocketsInUse = socketsInUse(agent);
  agent.destroy();
  await Promise.race([site.socketsClosed(), grace.done]);
  const openSockets = site.openSockets();
  endGrace();
  await site.close();
  const proof = checkProof({ serverInFlight, clientSocketsInUse, openSockets, live: liveCounts() });

  return {
    total: pages.length,
    fetched: counts.fetched,
    failed: counts.failed,
    fatal: counts.fatal,
    timedOut: counts.timedOut,
    cancelled: counts.cancelled,
    cancelledByCause,
    notStarted: pages.length - counts.started,
    stoppedBy,
    elapsedMs,
    settings: { limit, perRequestMs, deadlineMs },
    proof,
  };
}

/** formatSummary renders the summary and the proof as the demo prints them. */
export function formatSummary(s: Summary): string {
  const n = (v: number): string => String(v).padStart(5);
  const lines = [
    "",
    `Summary — ${s.total} pages in ${(s.elapsedMs / 1000).toFixed(2)}s`,
    `  fetched     ${n(s.fetched)}`,
    `  failed      ${n(s.failed)}   HTTP 500: recorded, the run went on`,
    `  fatal       ${n(s.fatal)}   HTTP ${FATAL_STATUS}: fails its task, which cancels the run`,
    `  timed out   ${n(s.timedOut)}   per-request timeout of ${s.settings.perRequestMs}ms`,
    `  cancelled   ${n(s.cancelled)}   in flight when the run was cancelled, by cause:`,
    ...Object.entries(s.cancelledByCause).map(([why, count]) => `              ${n(count)}     ${why}`),
    `  not started ${n(s.notStarted)}   still queued when the run was cancelled`,
    `  stopped by        ${s.stoppedBy ?? "nothing: every page was tried"}`,
    "",
    "Proof that nothing outlived the run",
    `  requests still running on the server        ${s.proof.serverInFlight}`,
    `  client sockets still in use by a request    ${s.proof.clientSocketsInUse}`,
    `  server sockets open once the client let go  ${s.proof.openSockets}`,
    `  Tether live counters                        ${Object.entries(s.proof.live)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `  ${s.proof.ok ? "OK: nothing outlived the run" : "FAILED: something outlived the run"}`,
    "",
  ];
  return lines.join("\n");
}
