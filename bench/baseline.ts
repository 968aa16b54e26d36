// The comparison point for bench/run.ts: the same three endpoints as moxie with no framework and no ORM,
// only Bun.serve, bun:sqlite prepared statements, Bun.password and node:crypto.
//
//   bun bench/baseline.ts --db PATH --port N --secret S [--host 127.0.0.1]
//
// It opens the SQLite file moxie created (table `users`) and signs with the same secret, so a token from
// either server works on the other. It never writes to the database.
import { Database } from "bun:sqlite";
import { createHmac, timingSafeEqual } from "node:crypto";
import { parseArgs } from "node:util";

export const TOKEN_TTL_SECONDS = 8 * 60 * 60;
const PASSWORD_MAX_LENGTH = 128;
const ARGON2 = { algorithm: "argon2id", memoryCost: 65_536, timeCost: 2 } as const;
const HEADER_SEGMENT = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BEARER = /^bearer ([^\s,]+)$/i;

/** An HS256 JWT with sub, iat, exp and ver, as moxie issues them. */
export function signToken(secret: string, userId: number, tokenVersion: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const payload = Buffer.from(
    JSON.stringify({ sub: String(userId), iat: nowSeconds, exp: nowSeconds + TOKEN_TTL_SECONDS, ver: tokenVersion }),
  ).toString("base64url");
  const signature = createHmac("sha256", secret).update(`${HEADER_SEGMENT}.${payload}`).digest("base64url");
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

/** Synchronous HS256 check; returns the user id and token version, or null. */
export function verifyToken(key: Buffer, token: string, nowSeconds = Date.now() / 1000): { id: number; ver: number } | null {
  if (token.length > 4096) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!BASE64URL.test(h) || !BASE64URL.test(p) || !BASE64URL.test(s)) return null;
  const header = parseSegment(h);
  if (!header || header.alg !== "HS256" || "crit" in header) return null;
  const expected = createHmac("sha256", key).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const payload = parseSegment(p);
  if (!payload) return null;
  const { sub, iat, exp, ver = 0 } = payload;
  if (typeof sub !== "string" || !/^[1-9][0-9]{0,15}$/.test(sub)) return null;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || !Number.isSafeInteger(ver)) return null;
  if ((exp as number) <= nowSeconds || (iat as number) > nowSeconds + 5) return null;
  if ((exp as number) - (iat as number) > TOKEN_TTL_SECONDS) return null;
  return { id: Number(sub), ver: ver as number };
}

interface LoginRow {
  id: number;
  password_hash: string;
  is_active: number;
  token_version: number;
}

interface UserRow {
  id: number;
  name: string;
  email: string;
  role: string;
  is_active: number;
  created_at: string;
  last_login_at: string | null;
  token_version: number;
}

const json = (status: number, body: unknown, headers?: Record<string, string>) => Response.json(body, { status, headers });
const unauthorized = (detail: string) => json(401, { detail }, { "www-authenticate": "Bearer" });

export async function startBaseline(options: { db: string; port: number; secret: string; host?: string }) {
  const db = new Database(options.db, { strict: true });
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA synchronous = NORMAL");
  const byEmail = db.query<LoginRow, [string]>(
    "SELECT id, password_hash, is_active, token_version FROM users WHERE email = ?",
  );
  const byId = db.query<UserRow, [number]>(
    "SELECT id, name, email, role, is_active, created_at, last_login_at, token_version FROM users WHERE id = ?",
  );
  // The contract records each successful sign-in (users.last_login_at).
  const signedIn = db.query<unknown, [number]>("UPDATE users SET last_login_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?");
  const key = Buffer.from(options.secret, "utf8");
  // An unknown email costs one verify too, as in moxie.
  const dummyHash = await Bun.password.hash(crypto.randomUUID(), ARGON2);

  return Bun.serve({
    hostname: options.host ?? "127.0.0.1",
    port: options.port,
    development: false,
    routes: {
      "/health": { GET: () => Response.json({ status: "ok" }) },
      "/auth/login": {
        POST: async (request) => {
          let body: unknown;
          try {
            body = await request.json();
          } catch {
            return json(400, { detail: "Request body is not valid JSON" });
          }
          const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
          if (typeof email !== "string" || email.length < 1 || email.length > 320 || typeof password !== "string") {
            return json(422, { detail: "email and password are required" });
          }
          const normalized = password.normalize("NFC");
          if (normalized.length < 1 || normalized.length > PASSWORD_MAX_LENGTH) {
            return json(422, { detail: `password must be 1 to ${PASSWORD_MAX_LENGTH} characters` });
          }
          const user = byEmail.get(email.trim().toLowerCase());
          let matches = false;
          try {
            matches = await Bun.password.verify(normalized, user ? user.password_hash : dummyHash);
          } catch {
            matches = false;
          }
          if (!user || !matches) return unauthorized("Invalid email or password");
          if (!user.is_active) return unauthorized("Account is inactive");
          signedIn.run(user.id);
          return Response.json({
            access_token: signToken(options.secret, user.id, user.token_version),
            token_type: "bearer",
            expires_in: TOKEN_TTL_SECONDS,
          });
        },
      },
      "/auth/me": {
        GET: (request) => {
          const authorization = request.headers.get("authorization");
          if (authorization === null) return unauthorized("Not authenticated");
          const match = BEARER.exec(authorization);
          const claims = match ? verifyToken(key, match[1]!) : null;
          if (!claims) return unauthorized("Invalid or expired token");
          const user = byId.get(claims.id);
          if (!user || !user.is_active) return unauthorized("Account inactive or not found");
          if (user.token_version !== claims.ver) return unauthorized("Invalid or expired token");
          return Response.json({
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            is_active: user.is_active === 1,
            created_at: user.created_at,
            last_login_at: user.last_login_at,
          });
        },
      },
    },
    fetch: () => json(404, { detail: "Not Found" }),
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { db: { type: "string" }, port: { type: "string" }, secret: { type: "string" }, host: { type: "string" } },
    strict: true,
  });
  if (!values.db || !values.port || !values.secret) {
    console.error("usage: bun bench/baseline.ts --db PATH --port N --secret S [--host 127.0.0.1]");
    process.exit(2);
  }
  const server = await startBaseline({ db: values.db, port: Number(values.port), secret: values.secret, host: values.host });
  console.log(`baseline listening on ${server.url.href}`);
  const stop = () => {
    void server.stop(true);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
