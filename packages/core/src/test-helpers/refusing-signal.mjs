// Run by signal.test.ts as a child process, since what it checks is an uncaught exception: a
// foreign signal whose removeEventListener throws must not stop a cancel halfway. One child of a
// parent follows such a signal; cancelling the parent must still cancel and release every child,
// and report the signal's error as an uncaught exception afterwards, not swallow it. It imports
// the built package, as a user would.
import { background, withCancel, withSignal } from "../../dist/index.js";
import { liveCounts } from "../../dist/testing.js";

const ac = new AbortController();
ac.signal.removeEventListener = () => {
  throw new Error("signal gone");
};
const uncaught = [];
process.on("uncaughtException", (e) => uncaught.push(e.message));

const [parent, cancelParent] = withCancel(background());
const [first] = withCancel(parent);
const [follower] = withSignal(parent, ac.signal);
const [last] = withCancel(parent);
let threw = null;
try {
  cancelParent();
} catch (e) {
  threw = e.message;
}
const aborted = [first, follower, last].map((c) => c.signal.aborted);
await new Promise((r) => setImmediate(r));
process.stdout.write(JSON.stringify({ threw, aborted, uncaught, live: liveCounts() }));
