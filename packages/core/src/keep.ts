// Objects that Tether keeps alive for the life of the process: one of each class that its hot paths
// make. Internal: exported only through @tether/core/internal, for the other Tether packages.

/**
 * V8 describes an object's layout by a hidden class (a map). The map of an object built by adding
 * fields one by one, as every class's constructor does, is reachable only from the objects that
 * have it, and optimized code that checks for it holds it weakly. So a full garbage collection
 * that finds no object of the class alive (no task running, no group open, no lock held or wait
 * queued)
 * drops the map and throws away every function's optimized code that checked for it: the next
 * calls run unoptimized, collect their type feedback again and are compiled again. The benchmark
 * harness collects before each round, and `--trace-deopt` showed watchTask, TaskRecord, group's
 * run, the driver, `until`, a channel's send and recv and a mutex's lock marked "weak objects" at
 * each one; a ping-pong measured 2.5 ms per 10,000 round trips at its best but 10, 6, 5, 4 ms for
 * the first calls after each collection. An application that collects while no task runs and no
 * primitive is busy pays the same. One object of each class, kept here (by core, and by
 * @tether/group and @tether/sync through @tether/core/internal), keeps each map alive, so the code
 * stays optimized across collections.
 *
 * The objects are made by the classes' own constructors, so they have the maps the hot paths see,
 * and are left inert: no context lists them, no counter counts them, `dump()` does not show them.
 */
const kept: object[] = [];

/** Keeps `x` alive for the life of the process (see above); returns it. */
export function keep<T extends object>(x: T): T {
  kept.push(x);
  return x;
}
