/**
 * `pnpm demo`: the showcase as a program. Options: --pages N, --limit N, --timeout MS (per
 * request), --deadline MS (whole run), --seed N, --no-fatal. Ctrl-C cancels the run, and the proof
 * still runs. Exits 0 when the proof holds, 1 when something outlived the run.
 */
import { parseArgs } from "node:util";
import { runIfMain } from "../lib/main.js";
import { type ShowcaseOptions, formatSummary, runShowcase } from "./showcase.js";

class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  constructor() {
    super("interrupted by Ctrl-C");
  }
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a whole number ≥ 1, received ${JSON.stringify(value)}`);
  return n;
}

export const USAGE = `usage: demo [options]
  --pages N      pages to fetch (default 300)
  --limit N      requests at a time (default 16)
  --timeout MS   per-request timeout (default 250)
  --deadline MS  overall deadline (default 8000)
  --seed N       seed of the server's slow pages and failures
  --no-fatal     no 401 page, so the run is not stopped by a fatal error
  --help         print this and exit`;

function parse(args: readonly string[]): ReturnType<typeof parseOptions> | undefined {
  try {
    return parseOptions(args);
  } catch (err) {
    // An unknown option or a missing value: say so and show the usage, not a stack trace.
    console.error(`demo: ${(err as Error).message}\n${USAGE}`);
    return undefined;
  }
}

function parseOptions(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      pages: { type: "string" },
      limit: { type: "string" },
      timeout: { type: "string" },
      deadline: { type: "string" },
      seed: { type: "string" },
      "no-fatal": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
}

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parse(args);
  if (parsed === undefined) return 2;
  const { values } = parsed;
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort(new InterruptedError());
  process.once("SIGINT", onSigint);
  const options: ShowcaseOptions = { out: process.stdout, signal: interrupt.signal, fatal: values["no-fatal"] !== true };
  const set = <K extends keyof ShowcaseOptions>(key: K, v: ShowcaseOptions[K] | undefined): void => {
    if (v !== undefined) options[key] = v;
  };
  set("pages", int(values.pages, "pages"));
  set("limit", int(values.limit, "limit"));
  set("perRequestMs", int(values.timeout, "timeout"));
  set("deadlineMs", int(values.deadline, "deadline"));
  set("seed", int(values.seed, "seed"));

  const pages = options.pages ?? 300;
  const s = `${options.limit ?? 16} at a time, ${options.perRequestMs ?? 250}ms per request, ${options.deadlineMs ?? 8_000}ms overall`;
  console.log(`Tether demo: fetching ${pages} pages from an in-process server, ${s}`);
  console.log(`Some pages are slow, some answer 500${options.fatal ? ", and one answers 401 — fatal, it stops the run" : ""}.\n`);
  try {
    const summary = await runShowcase(options);
    console.log(formatSummary(summary));
    return summary.proof.ok ? 0 : 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

runIfMain(import.meta.url, main);
