import { expect } from "vitest";
import { spawn } from "node:child_process";

/** What a child Node process did: its exit code and everything it wrote. */
export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file` in a fresh Node process and resolves once it has exited. There is no timeout of its
 * own: a test that expects the process to exit promptly is bounded by its own timeout, so a process
 * held open by a timer fails that test rather than passing late.
 */
export function runNode(file: string): Promise<ChildRun> {
  const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs `file` as {@link runNode} does, checks that it exited with code 0 and wrote nothing to
 * stderr, and returns what it wrote to stdout, parsed as JSON: the report of a fixture.
 */
export async function runNodeReport(file: string): Promise<unknown> {
  const { code, stdout, stderr } = await runNode(file);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  return JSON.parse(stdout);
}
