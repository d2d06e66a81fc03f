// Run by deadline.test.ts as a child process: it arms an hour-long deadline it never cancels and
// reports what it holds. The process must still exit as soon as this module has run, because a
// deadline timer must not keep Node alive. It imports the built package, as a user would.
import { background, withTimeout } from "../../dist/index.js";
import { liveCounts } from "../../dist/testing.js";

const [ctx] = withTimeout(background(), 3_600_000);
process.stdout.write(JSON.stringify({ alive: ctx.err === undefined, timers: liveCounts().timers }));
