// Extracts every ```ts block from the TSDoc `@example`s of the published packages' sources and
// from the README files (the packages' and the repository's) into .vitest/doc-examples/, so that
// `tsc -p tsconfig.check.json` type-checks them and test/doc-examples.test.ts runs them. A README block that starts with the
// line `// not run` is skipped (for fragments that need a server or a user's own functions).
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
export const outDir = join(root, ".vitest", "doc-examples");

function fences(text) {
  const out = [];
  const re = /```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ code: m[1], at: m.index });
  return out;
}

function lineOf(text, index) {
  return text.slice(0, index).split("\n").length;
}

/** Returns [{ name, source, code }] for every example found. */
export function collect() {
  const found = [];
  const pkgs = join(root, "packages");
  for (const pkg of readdirSync(pkgs)) {
    const src = join(pkgs, pkg, "src");
    if (pkg === "bench" || !existsSync(src)) continue;
    for (const file of readdirSync(src, { recursive: true })) {
      const f = String(file);
      if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
      const text = readFileSync(join(src, f), "utf8");
      const comments = /\/\*\*[\s\S]*?\*\//g;
      for (let m = comments.exec(text); m !== null; m = comments.exec(text)) {
        if (!m[0].includes("@example")) continue;
        const body = m[0].split("\n").map((l) => l.replace(/^\s*\*( |$)/, "")).join("\n");
        // Named by the line of the block itself, not of its comment: a comment may hold several.
        for (const { code, at } of fences(body)) {
          const line = lineOf(text, m.index) + lineOf(body, at) - 1;
          found.push({ name: `${pkg}-${f.replace(/[/.]/g, "_")}-L${line}`, source: `${relative(root, join(src, f))}:${line}`, code });
        }
      }
    }
    const readme = join(pkgs, pkg, "README.md");
    if (existsSync(readme)) {
      const text = readFileSync(readme, "utf8");
      for (const { code, at } of fences(text)) {
        if (code.startsWith("// not run")) continue;
        found.push({ name: `${pkg}-README-L${lineOf(text, at)}`, source: `${relative(root, readme)}:${lineOf(text, at)}`, code });
      }
    }
  }
  const top = join(root, "README.md");
  const text = readFileSync(top, "utf8");
  for (const { code, at } of fences(text)) {
    if (code.startsWith("// not run")) continue;
    found.push({ name: `root-README-L${lineOf(text, at)}`, source: `README.md:${lineOf(text, at)}`, code });
  }
  return found;
}

export function extract() {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const all = collect();
  const names = new Set(all.map((ex) => ex.name));
  if (names.size !== all.length) throw new Error(`doc examples: ${all.length - names.size} would overwrite another's file`);
  for (const ex of all) writeFileSync(join(outDir, `${ex.name}.ts`), `// From ${ex.source}\n${ex.code}\nexport {};\n`);
  return all;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const all = extract();
  console.log(`doc examples: ${all.length} extracted to ${relative(root, outDir)}`);
}
