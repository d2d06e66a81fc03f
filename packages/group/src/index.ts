export { Group, GroupEndedError, type GoOptions, type GroupOptions } from "./group.js";
export { run, type RunResults } from "./run.js";
export { race } from "./race.js";
export { map, type MapOptions, type MapResult } from "./map.js";
