import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string, file: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/${file}.ts`, import.meta.url));

// Tests run against the TypeScript sources: each public entry of a workspace package is aliased
// to its source file, so every test file and every package share one module instance per entry.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tether\/core$/, replacement: src("core", "index") },
      { find: /^@tether\/core\/(testing|internal|debug)$/, replacement: src("core", "$1") },
      { find: /^@tether\/group$/, replacement: src("group", "index") },
      { find: /^@tether\/sync$/, replacement: src("sync", "index") },
    ],
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "examples/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "./.vitest/report.json" },
    typecheck: { enabled: false },
    // A test that asserts nothing fails: every test must check behaviour that could break.
    expect: { requireAssertions: true },
    // Leak-detection tests force a garbage collection to see FinalizationRegistry reports.
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
  },
});
