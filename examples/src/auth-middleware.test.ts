import { background } from "@tether/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Handler, InvalidTokenError, currentClaims, issueToken, startAuthServer, verifyToken, whoAmI } from "./auth-middleware.js";
import type { LocalServer } from "./lib/http.js";

const SECRET = "test-secret";
const inAMinute = (): number => Date.now() + 60_000;

describe("authMiddleware", () => {
  let server: LocalServer;
  let handled: number;
  beforeEach(async () => {
    handled = 0;
    const counting: Handler = (ctx, req, res) => {
      handled++;
      return whoAmI(ctx, req, res);
    };
    server = await startAuthServer(SECRET, counting);
  });
  afterEach(async () => {
    await server.close();
  });

  async function get(authorization?: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${server.url}/me`, authorization === undefined ? {} : { headers: { authorization } });
    return { status: res.status, body: await res.text() };
  }

  it("a valid Bearer token reaches the handler with its claims in the context", async () => {
    const token = issueToken(SECRET, { userId: "ada", scopes: ["read", "write"], exp: inAMinute() });
    const res = await get(`Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ userId: "ada", scopes: ["read", "write"] });
    expect(handled).toBe(1);
  });

  it.each([
    ["a missing header", undefined, "missing Authorization header"],
    ["another scheme", "Basic YWRhOnB3", "expected a Bearer token"],
    ["an empty Bearer token", "Bearer ", "expected a Bearer token"],
    ["a token that does not parse", "Bearer abc", "invalid token: malformed token"],
  ])("%s gets 401 before the handler runs", async (_label, authorization, reason) => {
    const res = await get(authorization);
    expect(res.status).toBe(401);
    expect(res.body.trim()).toBe(reason);
    expect(handled).toBe(0);
  });

  it("a token signed with another secret gets 401 before the handler runs", async () => {
    const forged = issueToken("not-the-secret", { userId: "eve", scopes: ["admin"], exp: inAMinute() });
    const res = await get(`Bearer ${forged}`);
    expect(res.status).toBe(401);
    expect(res.body.trim()).toBe("invalid token: bad signature");
    expect(handled).toBe(0);
  });

  it("an expired token gets 401 before the handler runs", async () => {
    const expired = issueToken(SECRET, { userId: "ada", scopes: [], exp: Date.now() - 1 });
    const res = await get(`Bearer ${expired}`);
    expect(res.status).toBe(401);
    expect(res.body.trim()).toBe("invalid token: token expired");
    expect(handled).toBe(0);
  });
});

describe("verifyToken", () => {
  it("verifyToken() rejects a payload whose claims have the wrong shape, even when signed", () => {
    const token = issueToken(SECRET, { userId: 7, scopes: "all", exp: inAMinute() } as never);
    expect(() => verifyToken(SECRET, token)).toThrow(new InvalidTokenError("malformed claims"));
  });

  it("currentClaims() gives undefined outside the middleware", () => {
    expect(currentClaims(background())).toBeUndefined();
  });
});
