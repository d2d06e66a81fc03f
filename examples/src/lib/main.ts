import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** A program's entry point: resolves with the exit code, or rejects to fail with the error. */
export type Main = (args: readonly string[]) => Promise<number | void>;

/**
 * runIfMain runs `main` when the module at `moduleUrl` is the script node was started with
 * (`node examples/dist/crawler.js`), and does nothing when it is imported by a test or the runner.
 */
export function runIfMain(moduleUrl: string, main: Main): void {
  const script = process.argv[1];
  if (script === undefined) return;
  let href: string;
  try {
    href = pathToFileURL(realpathSync(script)).href;
  } catch {
    return;
  }
  if (href === moduleUrl) runMain(main, process.argv.slice(2));
}

/**
 * runMain runs `main` and sets the exit code from its outcome. It sets `process.exitCode` rather
 * than calling `process.exit`, so the proof that nothing is left running is the process ending
 * on its own.
 */
export function runMain(main: Main, args: readonly string[]): void {
  main(args).then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
