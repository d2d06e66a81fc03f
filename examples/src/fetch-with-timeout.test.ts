import { Canceled, DeadlineExceeded, background, errorIs, withCancel } from "@tether/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type StallingServer, fetchWithTimeout, startStallingServer } from "./fetch-with-timeout.js";

describe("fetchWithTimeout", () => {
  let server: StallingServer;
  beforeEach(async () => {
    server = await startStallingServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it("fetchWithTimeout() resolves with the body when the server answers in time", async () => {
    await expect(fetchWithTimeout(background(), `${server.url}/fast`, 10_000)).resolves.toBe("hello");
  });

  it("fetchWithTimeout() rejects with DeadlineExceeded as the cause when the server stalls", async () => {
    const err = await fetchWithTimeout(background(), `${server.url}/stall`, 30).catch((e: unknown) => e);
    expect(errorIs(err, DeadlineExceeded)).toBe(true);
    expect(String(err)).toContain(`GET ${server.url}/stall: context deadline exceeded`);
  });

  it("fetchWithTimeout() closes the socket, so the stalled server sees the client leave", async () => {
    await fetchWithTimeout(background(), `${server.url}/stall`, 30).catch(() => undefined);
    // Without the abort the socket would stay open as long as the server cares to stall, and
    // this would time out.
    await expect(server.abandoned).resolves.toBeUndefined();
  });

  it("fetchWithTimeout() rejects with Canceled when the caller cancels before the deadline", async () => {
    const [ctx, cancel] = withCancel(background());
    const outcome = fetchWithTimeout(ctx, `${server.url}/stall`, 60_000).catch((e: unknown) => e);
    cancel();
    const err = await outcome;
    expect(errorIs(err, Canceled)).toBe(true);
    expect(errorIs(err, DeadlineExceeded)).toBe(false);
  });
});
