// Run by idle-subscription.test.ts as a child process: a receive is served under a context that
// is never cancelled, so its list keeps the cancel subscription idle, linked, with core's sweep
// armed. The process must still exit as soon as this module has run: an idle subscription must
// not keep Node alive. It imports the built packages, as a user would.
import { background, withCancel } from "@tether/core";
import { live } from "@tether/core/internal";
import { Channel } from "../../dist/index.js";

const [ctx] = withCancel(background());
const ch = new Channel();
const got = ch.recv(ctx);
ch.trySend(1);
const { value } = await got;
// getActiveResourcesInfo lists the timers that keep the event loop alive; an unref'd one is not.
const timers = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
process.stdout.write(JSON.stringify({ value, linked: live.nodesWithChildren, timers }));
