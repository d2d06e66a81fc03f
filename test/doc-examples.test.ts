import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs build script without type declarations
import { extract, outDir } from "../scripts/doc-examples.mjs";

type Example = { name: string; source: string; code: string };

// Examples state their expectations with console.assert, which only logs in Node; here a false
// assertion throws, so an example whose claim is wrong fails its test. console.log stays quiet.
const original = { assert: console.assert, log: console.log };
beforeEach(() => {
  console.assert = (cond?: unknown, ...data: unknown[]): void => {
    if (!cond) throw new Error(`console.assert failed${data.length > 0 ? `: ${data.map(String).join(" ")}` : ""}`);
  };
  console.log = () => {};
});
afterEach(() => {
  console.assert = original.assert;
  console.log = original.log;
});

const examples = (extract as () => Example[])();

describe("documentation examples", () => {
  it("every package documents its API with examples", () => {
    expect(examples.length).toBeGreaterThan(20);
  });

  for (const ex of examples) {
    it(`the example at ${ex.source} runs and its assertions hold`, async () => {
      // An example states what it shows with console.assert; one with none would check nothing.
      expect(ex.code).toMatch(/console\.assert\(/);
      await import(/* @vite-ignore */ join(outDir as string, `${ex.name}.ts`));
    });
  }
});
