// The comparison point for bench/run.ts: the fastest raw server we could write for moxie's three benchmarked
// routes with moxie's semantics, and nothing else: Bun.serve, bun:sqlite prepared statements, Bun.password,
// Bun.CryptoHasher. No framework, no ORM, no request log.
//
//   bun bench/baseline.ts --db PATH --port N --secret S [--host 127.0.0.1] [--cors-origins A,B] [--me-keys k1,k2]
//
// Same semantics as moxie, so the ratio measures moxie's overhead and not a shortcut (bench/README.md lists
// what was tried and what measured fastest):
// - the SQLite file moxie made, opened with moxie's pragmas (WAL, synchronous NORMAL, cache and mmap sizes);
// - HS256 tokens checked strictly (algorithm pinned, sub/iat/exp/ver/sid, lifetime; the original's sub+exp tokens
//   as issue 10 accepts them), with a bounded cache of verified tokens as moxie keeps; the account is read on
//   every /auth/me and its token version and is_active checked, so revocation works as in moxie; a token naming
//   a session (issue 21) is read with its session in one indexed read, refused when the session is gone or
//   expired, and the session's last_seen_at is written when a minute old, as moxie's guard does;
// - login: NFC, length limits, one argon2id verify for unknown emails too, the same answers; a session made
//   (the account's expired ones dropped, its oldest ended past 10), as moxie makes it;
// - the same response headers as moxie: its security headers, X-Request-Id (an incoming sane one kept,
//   else prefix-counter), CORS for the configured origins (Vary: Origin always);
// - the same JSON: --me-keys names the fields of moxie's /auth/me (bench/run.ts reads them from moxie), and
//   when last_login_at is among them a successful login records it, as moxie does.
import { Database } from "bun:sqlite";
import { parseArgs } from "node:util";

export const TOKEN_TTL_SECONDS = 8 * 60 * 60;
const PASSWORD_MAX_LENGTH = 128;
const ARGON2 = { algorithm: "argon2id", memoryCost: 65_536, timeCost: 2 } as const;
const HEADER_SEGMENT = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BEARER = /^bearer ([^\s,]+)$/i;
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const VERIFIED_CACHE_SIZE = 10_000;
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;
const MAX_SESSIONS = 10;
const LAST_SEEN_EVERY_MS = 60_000;
export const DEFAULT_ME_KEYS = ["id", "name", "email", "role", "is_active", "created_at"];

/** moxie's src/http/security-headers.ts, copied so this process does not load Elysia; run.ts checks they match. */
const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cache-control": "no-store",
};
const JSON_HEADERS = { ...SECURITY_HEADERS, "content-type": "application/json;charset=utf-8" };
const HEALTH_BODY = JSON.stringify({ status: "ok" });
const CORS_EXPOSE = "X-Total-Count, X-Request-Id, Retry-After";
const CORS_ALLOW_HEADERS = "authorization, content-type, x-request-id";

/** An HS256 JWT with sub, iat, exp, ver and (when given) sid, as moxie issues them. */
export function signToken(
  secret: string,
  userId: number,
  tokenVersion: number,
  sessionId?: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const claims = { sub: String(userId), iat: nowSeconds, exp: nowSeconds + TOKEN_TTL_SECONDS, ver: tokenVersion, ...(sessionId && { sid: sessionId }) };
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const signature = new Bun.CryptoHasher("sha256", secret).update(`${HEADER_SEGMENT}.${payload}`).digest("base64url");
  return `${HEADER_SEGMENT}.${payload}.${signature}`;
}

function parseSegment(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Constant-time over the whole length: the signature's text says nothing through timing. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

interface Claims {
  id: number;
  ver: number;
  exp: number;
  sid: string | null;
}

/** Makes a session of `userId` in `db` as a sign-in does (8 hours, seen now); returns its id. */
export function insertSession(db: Database, userId: number, ip: string | null = "127.0.0.1", device = "Unknown device"): string {
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  const now = Date.now();
  db.query("INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, ip, device) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
    id,
    userId,
    new Date(now).toISOString(),
    new Date(now + TOKEN_TTL_SECONDS * 1000).toISOString(),
    new Date(now).toISOString(),
    ip,
    device,
  );
  return id;
}

/** Synchronous HS256 check, as strict as moxie's; returns the user id, token version and expiry, or null. */
export function verifyToken(key: Buffer, token: string, nowSeconds = Date.now() / 1000): Claims | null {
  if (token.length > 4096) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!BASE64URL.test(h) || !BASE64URL.test(p) || !BASE64URL.test(s)) return null;
  const header = parseSegment(h);
  if (!header || header.alg !== "HS256" || "crit" in header) return null;
  if (header.typ !== undefined && header.typ !== "JWT") return null;
  // Fastest measured: the digest as base64url text compared with the token's text (bench/README.md).
  if (!sameText(new Bun.CryptoHasher("sha256", key).update(`${h}.${p}`).digest("base64url"), s)) return null;
  const payload = parseSegment(p);
  if (!payload) return null;
  const { sub, iat, exp, ver = 0, sid } = payload;
  if (typeof sub !== "string" || !/^[1-9][0-9]{0,15}$/.test(sub)) return null;
  if (sid !== undefined && (typeof sid !== "string" || !SESSION_ID.test(sid))) return null;
  if (!Number.isSafeInteger(exp) || !Number.isSafeInteger(ver) || (ver as number) < 0) return null;
  if ((exp as number) <= nowSeconds) return null;
  if (iat === undefined) {
    // The Python original's tokens (sub and exp only), accepted as moxie accepts them: exp within the lifetime.
    if ((exp as number) - nowSeconds > TOKEN_TTL_SECONDS) return null;
  } else {
    if (!Number.isSafeInteger(iat) || (iat as number) > nowSeconds + 5) return null;
    if ((exp as number) - (iat as number) > TOKEN_TTL_SECONDS || (exp as number) <= (iat as number)) return null;
  }
  return { id: Number(sub), ver: ver as number, exp: exp as number, sid: (sid as string | undefined) ?? null };
}

interface LoginRow {
  id: number;
  password_hash: string;
  is_active: number;
  token_version: number;
}

type UserRow = Record<string, string | number | null> & { is_active: number; token_version: number };

export async function startBaseline(options: {
  db: string;
  port: number;
  secret: string;
  host?: string;
  corsOrigins?: string[];
  meKeys?: string[];
}) {
  const db = new Database(options.db, { strict: true });
  // moxie's pragmas (src/db/index.ts).
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA cache_size = -32000");
  db.run("PRAGMA mmap_size = 134217728");
  db.run("PRAGMA foreign_keys = ON");
  const meKeys = options.meKeys ?? DEFAULT_ME_KEYS;
  const columns = [...new Set([...meKeys, "is_active", "token_version"])];
  const byEmail = db.query<LoginRow, [string]>("SELECT id, password_hash, is_active, token_version FROM users WHERE email = ?");
  const byId = db.query<UserRow, [number]>(`SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM users WHERE id = ?`);
  // The account by its primary key and what its session says now as one small integer (NULL: none of this account;
  // bit 1: not expired; bit 2: last seen a minute ago), from the sessions_guard_idx index alone: moxie's guard read.
  const bySession = db.query<UserRow & { session: number | null }, [string, number, string, string]>(
    "SELECT (SELECT (expires_at > ?3) + 2 * (last_seen_at < ?4) FROM sessions INDEXED BY sessions_guard_idx " +
      `WHERE id = ?1 AND user_id = ?2) AS session, ${columns.map((c) => `"${c}"`).join(", ")} FROM users WHERE id = ?2`,
  );
  const touch = db.query<never, [string, string]>("UPDATE sessions SET last_seen_at = ?1 WHERE id = ?2 AND last_seen_at < ?1");
  const dropExpired = db.query<never, [number, string]>("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?");
  const liveCount = db.query<{ n: number }, [number]>("SELECT count(*) AS n FROM sessions WHERE user_id = ?");
  const endOldest = db.query<never, [number, number]>(
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE user_id = ?1 ORDER BY created_at, id LIMIT ?2)",
  );
  let clockMs = Number.NaN;
  let nowIso = "";
  let staleIso = "";
  const recordsLogin = meKeys.includes("last_login_at");
  const recordLogin = recordsLogin
    ? db.query<never, [string, number]>("UPDATE users SET last_login_at = ? WHERE id = ?")
    : undefined;
  const key = Buffer.from(options.secret, "utf8");
  const verified = new Map<string, Claims>();
  const allowed = new Set(options.corsOrigins ?? []);
  // An unknown email costs one verify too, as in moxie.
  const dummyHash = await Bun.password.hash(crypto.randomUUID(), ARGON2);
  const prefix = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex") + "-";
  let counter = 0;

  /** moxie's headers for this request: security headers, request id, CORS. */
  function headersFor(request: Request): Record<string, string> {
    const incoming = request.headers.get("x-request-id");
    const headers: Record<string, string> = {
      ...JSON_HEADERS,
      "x-request-id": incoming !== null && SANE_REQUEST_ID.test(incoming) ? incoming : prefix + (++counter).toString(36),
      vary: "Origin",
      // As @elysiajs/cors sends them on every response, allowed origin or not (they grant nothing without
      // Access-Control-Allow-Origin).
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": CORS_EXPOSE,
      "access-control-allow-headers": CORS_ALLOW_HEADERS,
      "access-control-allow-methods": request.method,
    };
    const origin = request.headers.get("origin");
    if (origin !== null && allowed.has(origin)) headers["access-control-allow-origin"] = origin;
    return headers;
  }
  const json = (request: Request, status: number, body: unknown) => Response.json(body, { status, headers: headersFor(request) });
  const unauthorized = (request: Request, detail: string) => {
    const headers = headersFor(request);
    headers["www-authenticate"] = "Bearer";
    return Response.json({ detail }, { status: 401, headers });
  };

  function claimsOf(token: string): Claims | null {
    const known = verified.get(token);
    if (known) {
      if (known.exp > Date.now() / 1000) return known;
      verified.delete(token);
      return null;
    }
    const claims = verifyToken(key, token);
    if (claims) {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
    }
    return claims;
  }

  const preflight = (request: Request) => {
    const headers = headersFor(request);
    if (headers["access-control-allow-origin"]) {
      headers["access-control-allow-methods"] = request.headers.get("access-control-request-method") ?? "GET";
      headers["access-control-allow-headers"] = request.headers.get("access-control-request-headers") ?? CORS_ALLOW_HEADERS;
      headers["access-control-max-age"] = "600";
    }
    return new Response(null, { status: 204, headers });
  };

  return Bun.serve({
    hostname: options.host ?? "127.0.0.1",
    port: options.port,
    development: false,
    routes: {
      "/health": {
        // The body never changes: written once, as moxie's fast path does (measured faster than Response.json).
        GET: (request) => new Response(HEALTH_BODY, { headers: headersFor(request) }),
        OPTIONS: preflight,
      },
      "/auth/login": {
        POST: async (request) => {
          let body: unknown;
          try {
            body = await request.json();
          } catch {
            return json(request, 400, { detail: "Request body is not valid JSON" });
          }
          const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
          if (typeof email !== "string" || email.length < 1 || email.length > 320 || typeof password !== "string") {
            return json(request, 422, { detail: "email and password are required" });
          }
          const normalized = password.normalize("NFC");
          if (normalized.length < 1 || normalized.length > PASSWORD_MAX_LENGTH) {
            return json(request, 422, { detail: `password must be 1 to ${PASSWORD_MAX_LENGTH} characters` });
          }
          const user = byEmail.get(email.trim().toLowerCase());
          let matches = false;
          try {
            matches = await Bun.password.verify(normalized, user ? user.password_hash : dummyHash);
          } catch {
            matches = false;
          }
          if (!user || !matches) return unauthorized(request, "Invalid email or password");
          if (!user.is_active) return unauthorized(request, "Account is inactive");
          const sessionId = db
            .transaction(() => {
              recordLogin?.run(new Date().toISOString(), user.id);
              dropExpired.run(user.id, new Date().toISOString());
              const excess = liveCount.get(user.id)!.n - (MAX_SESSIONS - 1);
              if (excess > 0) endOldest.run(user.id, excess);
              return insertSession(db, user.id, request.headers.get("x-forwarded-for") ?? "127.0.0.1");
            })
            .immediate();
          return json(request, 200, {
            access_token: signToken(options.secret, user.id, user.token_version, sessionId),
            token_type: "bearer",
            expires_in: TOKEN_TTL_SECONDS,
          });
        },
        OPTIONS: preflight,
      },
      "/auth/me": {
        GET: (request) => {
          const authorization = request.headers.get("authorization");
          if (authorization === null) return unauthorized(request, "Not authenticated");
          const match = BEARER.exec(authorization);
          const claims = match ? claimsOf(match[1]!) : null;
          if (!claims) return unauthorized(request, "Invalid or expired token");
          let user: UserRow | null;
          if (claims.sid === null) {
            user = byId.get(claims.id);
            if (!user) return unauthorized(request, "Account inactive or not found");
          } else {
            const ms = Date.now();
            if (ms !== clockMs) {
              clockMs = ms;
              nowIso = new Date(ms).toISOString();
              staleIso = new Date(ms - LAST_SEEN_EVERY_MS).toISOString();
            }
            const row = bySession.get(claims.sid, claims.id, nowIso, staleIso);
            if (!row || row.session === null || (row.session & 1) === 0) return unauthorized(request, "Session ended; sign in again");
            if ((row.session & 2) !== 0) touch.run(nowIso, claims.sid);
            user = row;
          }
          if (!user.is_active) return unauthorized(request, "Account inactive or not found");
          if (user.token_version !== claims.ver) return unauthorized(request, "Invalid or expired token");
          const body: Record<string, unknown> = {};
          for (const k of meKeys) body[k] = k === "is_active" ? user.is_active === 1 : user[k];
          return json(request, 200, body);
        },
        OPTIONS: preflight,
      },
    },
    fetch: (request) => json(request, 404, { detail: "Not Found" }),
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      db: { type: "string" },
      port: { type: "string" },
      secret: { type: "string" },
      host: { type: "string" },
      "cors-origins": { type: "string" },
      "me-keys": { type: "string" },
    },
    strict: true,
  });
  if (!values.db || !values.port || !values.secret) {
    console.error("usage: bun bench/baseline.ts --db PATH --port N --secret S [--host 127.0.0.1] [--cors-origins A,B] [--me-keys k1,k2]");
    process.exit(2);
  }
  const list = (value: string | undefined) => value?.split(",").map((s) => s.trim()).filter(Boolean);
  const server = await startBaseline({
    db: values.db,
    port: Number(values.port),
    secret: values.secret,
    host: values.host,
    corsOrigins: list(values["cors-origins"]),
    meKeys: list(values["me-keys"]),
  });
  console.log(`baseline listening on ${server.url.href}`);
  const stop = () => {
    void server.stop(true);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
