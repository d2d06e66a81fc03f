// Freezes the clocks before core loads, then runs a task that only ever yields; a real timer
// cancels it. The driver must still hand the event loop a turn, or the timer never runs.
performance.now = () => 0;
Date.now = () => 0;
const { background, runTask, withCancel } = await import("../../dist/index.js");
const [ctx, cancel] = withCancel(background());
setTimeout(cancel, 5);
let steps = 0;
try {
  await runTask(ctx, async function* () {
    for (;;) {
      steps++;
      yield;
    }
  });
} catch (err) {
  process.stdout.write(JSON.stringify({ err: err.message, stepped: steps > 0 }));
}
