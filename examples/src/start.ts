/**
 * The examples' runner: `pnpm --filter @tether/examples start <name> [args…]` imports
 * `./<name>.js` from dist and runs its `main`. It builds nothing: run `pnpm build` first.
 */
import { type Main, runIfMain } from "./lib/main.js";

/** Every runnable example, by the name the runner takes. */
export const EXAMPLES = [
  "process-items",
  "fetch-with-timeout",
  "request-id",
  "auth-middleware",
  "cause-worker",
  "audit-after-response",
  "temp-dir",
  "leak-hunt",
  "crawler",
  "ctx-mutex",
  "pipeline",
  "wall-clock-deadline",
  "shared-state",
  "generator-cleanup",
  "trace-context",
  "demo",
] as const;

export async function start(args: readonly string[]): Promise<number | void> {
  const [name, ...rest] = args;
  const usage = `usage: start <example> [args…]\nexamples: ${EXAMPLES.join(", ")}`;
  // Asked for the list: that is an answer, not an error.
  if (name === undefined || name === "--help") {
    console.log(usage);
    return 0;
  }
  if (!(EXAMPLES as readonly string[]).includes(name)) {
    console.error(`start: no example named ${JSON.stringify(name)}\n${usage}`);
    return 2;
  }
  // The name was checked against EXAMPLES above; vite, which runs the tests, cannot see that, and
  // would warn about a template in the import.
  const specifier = name === "demo" ? "./demo/main.js" : `./${name}.js`;
  const mod = (await import(/* @vite-ignore */ specifier)) as { main: Main };
  return await mod.main(rest);
}

runIfMain(import.meta.url, start);
