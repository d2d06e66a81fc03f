// Installs a fake setImmediate (marked with its clock, as @sinonjs/fake-timers marks its fakes;
// this one never runs anything) and freezes the clock before core loads. A task that yields more
// than a slice's worth must still finish, and a loop of yields must still let a real timer cancel it.
performance.now = () => 0;
globalThis.setImmediate = Object.assign(() => ({}), { clock: {} });
const { background, runTask, withCancel } = await import("../../dist/index.js");
const finished = await runTask(background(), async function* () {
  for (let i = 0; i < 10_000; i++) yield;
  return "finished";
});
const [ctx, cancel] = withCancel(background());
setTimeout(cancel, 5);
let yields = 0;
const looped = await runTask(ctx, async function* () {
  for (;;) {
    yields++;
    yield;
  }
}).catch((err) => err.message);
// The driver hands the event loop a turn every 4,096 yields here; the timer must get one of the
// first few hundred turns, not wait out a batch of a thousand.
process.stdout.write(JSON.stringify({ finished, looped, promptly: yields < 4_096 * 250 }));
