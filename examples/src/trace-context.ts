/**
 * trace-context: where was this context made? A derivation trace through three middleware layers.
 *
 * When a request fails with "context deadline exceeded", the question is which layer set that
 * deadline. Every Tether context prints its lineage (`background().withValue(user, …)
 * .withTimeout(…)`), and with `enableTrace()` from `@tether/core/debug` each derivation also records
 * the call stack that made it, so `derivationTrace(ctx)` shows the chain newest first, each layer
 * with the line that added it. It captures a stack per derivation — microseconds where deriving
 * costs nanoseconds — so it is a debugging switch, off in production.
 */
import { type Context, type Key, background, createKey, withTimeout, withValue } from "@tether/core";
import { derivationTrace, enableTrace } from "@tether/core/debug";
import { runIfMain } from "./lib/main.js";

const userKey: Key<string> = createKey<string>("user");
const tenantKey: Key<string> = createKey<string>("tenant");

type Next = (ctx: Context) => string;

function authLayer(ctx: Context, next: Next): string {
  return next(withValue(ctx, userKey, "alice"));
}

function deadlineLayer(ctx: Context, next: Next): string {
  const [withBudget, cancel] = withTimeout(ctx, 2_000);
  try {
    return next(withBudget);
  } finally {
    cancel();
  }
}

function tenantLayer(ctx: Context, next: Next): string {
  return next(withValue(ctx, tenantKey, "acme"));
}

/** handleWithTrace runs a handler behind the three layers and returns its context's trace. */
export function handleWithTrace(): string {
  enableTrace();
  try {
    return authLayer(background(), (a) => deadlineLayer(a, (d) => tenantLayer(d, (t) => derivationTrace(t))));
  } finally {
    enableTrace(false);
  }
}

export async function main(): Promise<void> {
  // Keep the user's frames only: the runner's and Node's add nothing to the story.
  const trace = handleWithTrace()
    .split("\n")
    .filter((l) => !l.startsWith("    ") || /Layer|handleWithTrace/.test(l));
  console.log(trace.join("\n"));
}

runIfMain(import.meta.url, main);
