import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runNodeReport } from "./child.js";

// Each package keeps one object of each of its hot classes alive from the moment it loads, so V8
// keeps their layouts (core's keep.ts). Those objects must be invisible: checked in a fresh process
// against the built packages, since in this one earlier tests have loaded everything long ago.
it("loading @tether/core, group and sync links, counts and shows nothing", async () => {
  const dist = (pkg: string, entry: string): string =>
    JSON.stringify(pathToFileURL(fileURLToPath(new URL(`../packages/${pkg}/dist/${entry}.js`, import.meta.url))).href);
  const dir = mkdtempSync(join(tmpdir(), "tether-load-"));
  try {
    const file = join(dir, "load.mjs");
    writeFileSync(
      file,
      [
        `import { background } from ${dist("core", "index")};`,
        `import { liveCounts, childCount } from ${dist("core", "testing")};`,
        `import { dump } from ${dist("core", "debug")};`,
        `await import(${dist("group", "index")});`,
        `await import(${dist("sync", "index")});`,
        "console.log(JSON.stringify({ counts: liveCounts(), children: childCount(background()), dump: dump(background()) }));",
      ].join("\n"),
    );
    expect(await runNodeReport(file)).toEqual({
      counts: { nodesWithChildren: 0, foreignListeners: 0, timers: 0, tasks: 0, waiters: 0 },
      children: 0,
      dump: "background() [alive]",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
