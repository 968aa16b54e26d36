// Access tokens: HS256 JWTs signed by @elysiajs/jwt and checked here synchronously, strictly.
import type { jwt as JwtPlugin } from "@elysiajs/jwt";
import { GENERATION_PATTERN } from "../db/generation.ts";
import { SESSION_ID_PATTERN } from "../db/vocabulary.ts";
import { parseStrictJson } from "../lib/strict-json.ts";

export const ACCESS_TOKEN_TTL_SECONDS = 8 * 60 * 60;
/** Tokens longer than this are refused unparsed; ours are about 150 bytes. */
export const MAX_TOKEN_LENGTH = 4096;
/** How far in the future an `iat` may lie, for clocks a little apart. */
export const CLOCK_SKEW_SECONDS = 5;

export interface TokenClaims {
  userId: number;
  /** The account's token version when the token was issued (`ver`); absent in tokens from before it existed. */
  tokenVersion: number;
  /**
   * The database generation it was issued in (`gen`, src/db/generation.ts); null in tokens from before
   * generations (moxie's older ones, the Python original's), which the guard admits only in a never-restored database.
   */
  generation: string | null;
  /**
   * The session it was issued for (`sid`); null in tokens from before sessions (moxie's older ones, the Python
   * original's), which have no session to check and end only with the account's token version.
   */
  sessionId: string | null;
  issuedAt: number;
  expiresAt: number;
}

/** What a token is issued for: a session of an account at its token version, in the database's current generation. */
export interface TokenSubject {
  userId: number;
  tokenVersion: number;
  generation: string;
  sessionId: string;
}

export interface TokenService {
  issue(subject: TokenSubject): Promise<string>;
  /** The claims of a valid token, or null for anything else; never throws. */
  verify(token: string): TokenClaims | null;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const POSITIVE_INTEGER = /^[1-9][0-9]{0,15}$/;
/**
 * Every claim a token may carry; any other is refused. moxie signs {sub, ver, gen, sid, iat, exp}; before sessions
 * it signed {sub, ver, gen, iat, exp}; the Python original signed {sub, exp}; `nbf` is honoured. A claim added
 * later is added here with its check, so a token carrying a claim this version does not check is never taken as
 * valid without it.
 */
const KNOWN_CLAIMS = new Set(["sub", "exp", "iat", "nbf", "ver", "gen", "sid"]);

/** Verified tokens remembered, so a busy /auth/me skips the HMAC and JSON work; the oldest go first. */
const VERIFIED_CACHE_SIZE = 10_000;

type Signer = ReturnType<typeof JwtPlugin>["decorator"]["jwt"];

export function createTokenService(secret: string, now: () => number = Date.now): TokenService {
  // @elysiajs/jwt (and jose behind it) is loaded at the first sign-in, not at start: it is a third of
  // the binary's start-up time, and only login needs it.
  let signer: Promise<Signer> | undefined;
  const loadSigner = () =>
    (signer ??= import("@elysiajs/jwt").then(({ jwt }) => jwt({ name: "jwt", secret, alg: "HS256" }).decorator.jwt));
  const key = Buffer.from(secret, "utf8");
  const verified = new Map<string, TokenClaims>();

  async function issue({ userId, tokenVersion, generation, sessionId }: TokenSubject): Promise<string> {
    if (!GENERATION_PATTERN.test(generation)) throw new Error("a token is issued only with the database's generation");
    if (!SESSION_ID_PATTERN.test(sessionId)) throw new Error("a token is issued only for a session");
    // @elysiajs/jwt stamps `iat` from its own clock; re-sign in the rare case a second ticks over between
    // our clock and its own, so `exp` is always exactly `iat` + the lifetime.
    for (;;) {
      const issuedAt = Math.floor(now() / 1000);
      const token = await (await loadSigner()).sign({
        sub: String(userId),
        ver: tokenVersion,
        gen: generation,
        sid: sessionId,
        exp: issuedAt + ACCESS_TOKEN_TTL_SECONDS,
      });
      if (verify(token)?.issuedAt === issuedAt) return token;
    }
  }

  /**
   * Only strings that passed every check below with this key are cached, and expiry is checked again on
   * each use; revocation is the guard's job (generation, session, token version and is_active, against the database).
   */
  function verify(token: string): TokenClaims | null {
    const known = verified.get(token);
    if (known) {
      if (known.expiresAt > now() / 1000) return known;
      verified.delete(token);
      return null;
    }
    const claims = verifyUncached(token);
    if (claims) {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
    }
    return claims;
  }

  function verifyUncached(token: string): TokenClaims | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) return null;

    // The algorithm is pinned: the header must say HS256 and nothing we do not understand (`crit`).
    const header = parseJsonObject(headerPart);
    if (!header || header.alg !== "HS256" || "crit" in header) return null;
    if (header.typ !== undefined && header.typ !== "JWT") return null;

    // Synchronous HMAC: WebCrypto's async verify would queue behind argon2 in Bun's thread pool. The encoded
    // strings are compared, not the decoded bytes: base64url's spare low bits in the last character would
    // otherwise let other spellings of one signature verify too. Only the canonical one does.
    const expected = new Bun.CryptoHasher("sha256", key).update(`${headerPart}.${payloadPart}`).digest("base64url");
    if (!constantTimeEqual(Buffer.from(signaturePart, "latin1"), Buffer.from(expected, "latin1"))) return null;

    const payload = parseJsonObject(payloadPart);
    if (!payload) return null;
    for (const claim of Object.keys(payload)) if (!KNOWN_CLAIMS.has(claim)) return null;
    const { sub, exp, nbf, ver = 0, gen, sid } = payload;
    // The Python original signed exactly {sub, exp}, always for 8 hours: a token of that shape, and only that
    // one, counts as issued at exp - 8 h, so the checks below still hold its exp to 8 hours from now.
    const original = payload.iat === undefined && Object.keys(payload).length === 2 && Number.isSafeInteger(exp);
    const iat = original ? (exp as number) - ACCESS_TOKEN_TTL_SECONDS : payload.iat;
    if (typeof sub !== "string" || !POSITIVE_INTEGER.test(sub)) return null;
    if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return null;
    if (!Number.isSafeInteger(ver) || (ver as number) < 0) return null;
    if (gen !== undefined && (typeof gen !== "string" || !GENERATION_PATTERN.test(gen))) return null;
    if (sid !== undefined && (typeof sid !== "string" || !SESSION_ID_PATTERN.test(sid))) return null;
    const issuedAt = iat as number;
    const expiresAt = exp as number;
    const nowSeconds = now() / 1000;
    if (issuedAt > nowSeconds + CLOCK_SKEW_SECONDS) return null;
    // A "not before" is honoured (ours carry none): a token not yet valid is no token.
    if (nbf !== undefined && (!Number.isSafeInteger(nbf) || (nbf as number) > nowSeconds + CLOCK_SKEW_SECONDS)) return null;
    if (expiresAt <= nowSeconds) return null;
    if (expiresAt - issuedAt > ACCESS_TOKEN_TTL_SECONDS || expiresAt <= issuedAt) return null;
    const userId = Number(sub);
    if (!Number.isSafeInteger(userId)) return null;
    return {
      userId,
      tokenVersion: ver as number,
      generation: (gen as string | undefined) ?? null,
      sessionId: (sid as string | undefined) ?? null,
      issuedAt,
      expiresAt,
    };
  }

  return { issue, verify };
}

/** Compares without stopping at the first difference, so timing says nothing about the signature. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** A segment as a JSON object, read strictly: a duplicate key (`alg` twice) or a prototype key is refused. */
function parseJsonObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = parseStrictJson(Buffer.from(segment, "base64url").toString("utf8"));
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
