// Run by signal.test.ts as a child process, since what it checks is uncaught exceptions: a foreign
// signal whose removeEventListener or reason getter throws must not stop a cancel halfway. Every
// child must still be cancelled and released, and each error reported as an uncaught exception
// afterwards, not swallowed. It imports the built package, as a user would.
import { background, withCancel, withSignal } from "../../dist/index.js";
import { liveCounts } from "../../dist/testing.js";

const uncaught = [];
process.on("uncaughtException", (e) => uncaught.push(e.message));

// One child of a parent follows a signal that refuses to remove its listener.
const refusing = new AbortController();
refusing.signal.removeEventListener = () => {
  throw new Error("signal gone");
};
const [parent, cancelParent] = withCancel(background());
const children = [withCancel(parent)[0], withSignal(parent, refusing.signal)[0], withCancel(parent)[0]];
// Read before the cancel: a signal first read after it is made already aborted.
const signals = children.map((c) => c.signal);
let threw = null;
try {
  cancelParent();
} catch (e) {
  threw = e.message;
}
const removeRefused = { threw, aborted: signals.map((s) => s.aborted) };

// Two contexts follow a signal whose reason cannot be read when it aborts.
const unreadable = new AbortController();
Object.defineProperty(unreadable.signal, "reason", {
  get() {
    throw new Error("reason gone");
  },
});
const followers = [withSignal(background(), unreadable.signal)[0], withSignal(background(), unreadable.signal)[0]];
const followerSignals = followers.map((c) => c.signal);
unreadable.abort();
const reasonRefused = { aborted: followerSignals.map((s) => s.aborted), errs: followers.map((c) => c.err?.name) };

await new Promise((r) => setImmediate(r));
process.stdout.write(JSON.stringify({ removeRefused, reasonRefused, uncaught, live: liveCounts() }));
