// Objects that the primitives keep alive for the life of the process: one of each class that their
// hot paths make. Internal to @tether/sync, which exports none of it from its entry point.

/**
 * V8 describes an object's layout by a hidden class (a map). The map of an object built by adding
 * fields one by one, as every class's constructor does, is reachable only from the objects that
 * have it, and optimized code that checks for it holds it weakly. So a full garbage collection
 * that finds no object of the class alive (an idle channel has no waiter queued, an idle lock no
 * hold out) drops the map and throws away every function's optimized code that checked for it:
 * the next operations run unoptimized, collect their type feedback again and are compiled again.
 * The benchmark harness collects before each round, and a ping-pong measured 2.5 ms per 10,000
 * round trips at its best but 10, 6, 5, 4 ms for the first calls after each collection, about 8%
 * of a round; an application that collects while its primitives are idle pays the same. One object
 * of each class, kept here, keeps each map alive, so the code stays optimized across collections.
 *
 * The objects are made by the classes' own constructors, so they have the maps the hot paths see,
 * and are never listed, granted or subscribed: no counter and no context sees them.
 */
const kept: object[] = [];

/** Keeps `x` alive for the life of the process (see above); returns it. */
export function keep<T extends object>(x: T): T {
  kept.push(x);
  return x;
}
