/**
 * auth-middleware: Bearer token in, typed claims in the context out, 401 before the handler.
 *
 * The middleware is the boundary: every way a request can fail authentication (no header, another
 * scheme, a token that does not parse, a bad signature, an expired token) is answered with 401
 * before the handler is called, so a handler can never see an unauthenticated request. Handlers read
 * the claims with `currentClaims(ctx)`, which is typed by the key — no casts, no stringly lookups.
 *
 * The tokens are a minimal signed format (`base64url(json).base64url(hmac)`) so the example needs
 * nothing outside Node; swap `verifyToken` for a JWT library in real code.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { type Context, type Key, background, createKey, withCancel, withValue } from "@tether/core";
import { type LocalServer, listen, requestContext } from "./lib/http.js";
import { runIfMain } from "./lib/main.js";

export interface Claims {
  readonly userId: string;
  readonly scopes: readonly string[];
  /** Expiry, in epoch milliseconds. */
  readonly exp: number;
}

const claimsKey: Key<Claims> = createKey<Claims>("claims");

/** The claims of the authenticated caller, or undefined outside the middleware. */
export function currentClaims(ctx: Context): Claims | undefined {
  return ctx.value(claimsKey);
}

function sign(secret: string, payload: string): string {
  return createHmac("sha256", secret).update(payload).digest("base64url");
}

/** issueToken makes a token for `claims`, signed with `secret`. */
export function issueToken(secret: string, claims: Claims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${payload}.${sign(secret, payload)}`;
}

export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
}

function isClaims(v: unknown): v is Claims {
  const c = v as Partial<Claims> | null;
  return (
    c !== null &&
    typeof c === "object" &&
    typeof c.userId === "string" &&
    typeof c.exp === "number" &&
    Array.isArray(c.scopes) &&
    c.scopes.every((s) => typeof s === "string")
  );
}

/** verifyToken checks the signature, the shape and the expiry, and returns the claims. */
export function verifyToken(secret: string, token: string, now = Date.now()): Claims {
  const parts = token.split(".");
  if (parts.length !== 2) throw new InvalidTokenError("malformed token");
  const [payload, signature] = parts as [string, string];
  const expected = Buffer.from(sign(secret, payload));
  const actual = Buffer.from(signature);
  // Constant-time, so the comparison does not leak how many leading characters were right.
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw new InvalidTokenError("bad signature");
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw new InvalidTokenError("malformed claims");
  }
  if (!isClaims(claims)) throw new InvalidTokenError("malformed claims");
  if (claims.exp <= now) throw new InvalidTokenError("token expired");
  return claims;
}

export type Handler = (ctx: Context, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

function unauthorized(res: ServerResponse, reason: string): void {
  res.writeHead(401, { "www-authenticate": 'Bearer realm="tether"', "content-type": "text/plain" }).end(`${reason}\n`);
}

/**
 * authMiddleware wraps `next` so it runs only for requests with a valid Bearer token, with the
 * token's claims under the claims key of its context.
 */
export function authMiddleware(secret: string): (next: Handler) => Handler {
  return (next) => (ctx, req, res) => {
    const header = req.headers.authorization;
    if (header === undefined) return unauthorized(res, "missing Authorization header");
    const m = /^Bearer +([^\s]+)\s*$/.exec(header);
    if (m === null) return unauthorized(res, "expected a Bearer token");
    let claims: Claims;
    try {
      claims = verifyToken(secret, m[1] as string);
    } catch (err) {
      if (err instanceof InvalidTokenError) return unauthorized(res, `invalid token: ${err.message}`);
      throw err;
    }
    return next(withValue(ctx, claimsKey, claims), req, res);
  };
}

/** The protected handler: it trusts the claims because the middleware is the only way in. */
export const whoAmI: Handler = (ctx, _req, res) => {
  const claims = currentClaims(ctx);
  if (claims === undefined) throw new Error("whoAmI: reached without the auth middleware");
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ userId: claims.userId, scopes: claims.scopes }));
};

/** startAuthServer serves `handler` (by default {@link whoAmI}) behind the middleware. */
export async function startAuthServer(secret: string, handler: Handler = whoAmI): Promise<LocalServer> {
  const [serverCtx, stop] = withCancel(background());
  const wrapped = authMiddleware(secret)(handler);
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => wrapped(requestContext(serverCtx, res), req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end();
        console.error(err);
      });
  });
  const base = await listen(server);
  return {
    ...base,
    close: async () => {
      stop();
      await base.close();
    },
  };
}

export async function main(): Promise<void> {
  const secret = "example-secret";
  const server = await startAuthServer(secret);
  const good = issueToken(secret, { userId: "ada", scopes: ["read"], exp: Date.now() + 60_000 });
  const cases: Array<[string, string | undefined]> = [
    ["no header", undefined],
    ["Basic scheme", "Basic YWRhOnB3"],
    ["malformed token", "Bearer not-a-token"],
    ["forged signature", `Bearer ${issueToken("another-secret", { userId: "eve", scopes: ["admin"], exp: Date.now() + 60_000 })}`],
    ["expired token", `Bearer ${issueToken(secret, { userId: "ada", scopes: ["read"], exp: Date.now() - 1_000 })}`],
    ["valid token", `Bearer ${good}`],
  ];
  try {
    for (const [label, authorization] of cases) {
      const res = await fetch(`${server.url}/me`, authorization === undefined ? {} : { headers: { authorization } });
      console.log(`${label.padEnd(16)} -> ${res.status} ${(await res.text()).trim()}`);
    }
  } finally {
    await server.close();
  }
}

runIfMain(import.meta.url, main);
