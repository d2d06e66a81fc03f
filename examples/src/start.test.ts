import { afterEach, describe, expect, it, vi } from "vitest";
import { EXAMPLES, start } from "./start.js";
import { USAGE, main as demo } from "./demo/main.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the examples' command lines", () => {
  it("start with no example name lists the examples and exits 0", async () => {
    const out = vi.spyOn(console, "log").mockImplementation(() => {});
    expect(await start([])).toBe(0);
    expect(out).toHaveBeenCalledWith(expect.stringContaining(`examples: ${EXAMPLES.join(", ")}`));
  });

  it("start with an unknown name says so and exits 2", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await start(["no-such-example"])).toBe(2);
    expect(err).toHaveBeenCalledWith(expect.stringContaining('start: no example named "no-such-example"'));
  });

  it("demo --help prints the usage and exits 0 without running", async () => {
    const out = vi.spyOn(console, "log").mockImplementation(() => {});
    expect(await demo(["--help"])).toBe(0);
    expect(out).toHaveBeenCalledTimes(1);
    expect(out).toHaveBeenCalledWith(USAGE);
  });

  it("demo with an unknown option prints the problem and the usage, and exits 2", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await demo(["--pagez", "3"])).toBe(2);
    expect(err).toHaveBeenCalledWith(expect.stringMatching(/^demo: Unknown option '--pagez'[\s\S]*usage: demo/));
  });
});
