// Access tokens: HS256 JWTs signed by @elysiajs/jwt and checked here synchronously, strictly.
import { jwt } from "@elysiajs/jwt";
import { createHmac, timingSafeEqual } from "node:crypto";

export const ACCESS_TOKEN_TTL_SECONDS = 8 * 60 * 60;
/** Tokens longer than this are refused unparsed; ours are about 150 bytes. */
export const MAX_TOKEN_LENGTH = 4096;
/** How far in the future an `iat` may lie, for clocks a little apart. */
export const CLOCK_SKEW_SECONDS = 5;

export interface TokenClaims {
  userId: number;
  /** The account's token version when the token was issued (`ver`); absent in tokens from before it existed. */
  tokenVersion: number;
  issuedAt: number;
  expiresAt: number;
}

export interface TokenService {
  issue(userId: number, tokenVersion: number): Promise<string>;
  /** The claims of a valid token, or null for anything else; never throws. */
  verify(token: string): TokenClaims | null;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const POSITIVE_INTEGER = /^[1-9][0-9]{0,15}$/;

export function createTokenService(secret: string, now: () => number = Date.now): TokenService {
  const signer = jwt({ name: "jwt", secret, alg: "HS256" }).decorator.jwt;
  const key = Buffer.from(secret, "utf8");

  async function issue(userId: number, tokenVersion: number): Promise<string> {
    // @elysiajs/jwt stamps `iat` from its own clock; re-sign in the rare case a second ticks over between
    // our clock and its own, so `exp` is always exactly `iat` + the lifetime.
    for (;;) {
      const issuedAt = Math.floor(now() / 1000);
      const token = await signer.sign({ sub: String(userId), ver: tokenVersion, exp: issuedAt + ACCESS_TOKEN_TTL_SECONDS });
      if (verify(token)?.issuedAt === issuedAt) return token;
    }
  }

  function verify(token: string): TokenClaims | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) return null;

    // The algorithm is pinned: the header must say HS256 and nothing we do not understand (`crit`).
    const header = parseJsonObject(headerPart);
    if (!header || header.alg !== "HS256" || "crit" in header) return null;
    if (header.typ !== undefined && header.typ !== "JWT") return null;

    const expected = createHmac("sha256", key).update(`${headerPart}.${payloadPart}`).digest();
    const given = Buffer.from(signaturePart, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;

    const payload = parseJsonObject(payloadPart);
    if (!payload) return null;
    const { sub, iat, exp, ver = 0 } = payload;
    if (typeof sub !== "string" || !POSITIVE_INTEGER.test(sub)) return null;
    if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return null;
    if (!Number.isSafeInteger(ver) || (ver as number) < 0) return null;
    const issuedAt = iat as number;
    const expiresAt = exp as number;
    const nowSeconds = now() / 1000;
    if (issuedAt > nowSeconds + CLOCK_SKEW_SECONDS) return null;
    if (expiresAt <= nowSeconds) return null;
    if (expiresAt - issuedAt > ACCESS_TOKEN_TTL_SECONDS || expiresAt <= issuedAt) return null;
    const userId = Number(sub);
    if (!Number.isSafeInteger(userId)) return null;
    return { userId, tokenVersion: ver as number, issuedAt, expiresAt };
  }

  return { issue, verify };
}

function parseJsonObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The token in an `Authorization: Bearer <token>` header (scheme case-insensitive, one space, one token),
 * `undefined` when the header is absent, or null when it is present but not a bearer token.
 * Only this header counts: @elysiajs/bearer would also take `?access_token=`, which leaks into logs.
 */
export function bearerTokenFrom(authorization: string | null | undefined): string | null | undefined {
  if (authorization === undefined || authorization === null) return undefined;
  const match = /^bearer ([^\s,]+)$/i.exec(authorization);
  return match ? match[1]! : null;
}
