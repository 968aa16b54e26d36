// Sign-in, "who am I" and the guards, through the app in-process on a real SQLite file.
import { beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { authGuard } from "../src/http/guard.ts";
import { createTokenService } from "../src/tokens/tokens.ts";
import { createApp } from "../src/http/app.ts";
import { beginRestoredGeneration, newGenerationId } from "../src/db/generation.ts";
import { users } from "../src/db/schema.ts";
import { errorHandling } from "../src/http/errors.ts";
import { silentLogger } from "../src/lib/log.ts";
import {
  createTestApp,
  expectNoLeak,
  TEST_SECRET,
  testSettings,
  PWDLIB_HASH,
  PWDLIB_PASSWORD,
  requester,
  seedUser,
  sessionToken,
  signIn,
  type SeededUser,
} from "./helpers.ts";
import { createSession, newSessionId } from "../src/sessions/store.ts";

const ctx = createTestApp();
const { request, db } = ctx;
let admin: SeededUser;
let agent: SeededUser;

beforeAll(async () => {
  admin = await seedUser(db, { role: "admin", email: "admin@test.com", password: "admin-password-1" });
  agent = await seedUser(db, { role: "agent" });
});

describe("POST /auth/login", () => {
  test("right password → a bearer token good for 8 hours", async () => {
    const response = await request("POST", "/auth/login", { body: { email: admin.email, password: admin.password } });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ access_token: expect.any(String), token_type: "bearer", expires_in: 28800 });
    expect(ctx.tokens.verify(response.json.access_token)?.userId).toBe(admin.id);
    expectNoLeak(response.text, [admin.password]);
  });

  test("email is matched trimmed and case-insensitively", async () => {
    const response = await request("POST", "/auth/login", { body: { email: "  Admin@Test.COM ", password: admin.password } });
    expect(response.status).toBe(200);
  });

  test("wrong password and unknown email get the identical 401", async () => {
    const wrong = await request("POST", "/auth/login", { body: { email: admin.email, password: "not-the-password" } });
    const unknown = await request("POST", "/auth/login", { body: { email: "nobody@test.com", password: "not-the-password" } });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ detail: "Invalid email or password" });
      expect(response.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(unknown.text).toBe(wrong.text);
    expect([...unknown.headers.keys()].sort()).toEqual([...wrong.headers.keys()].sort());
  });

  test("an inactive account with the right password is told so; with a wrong one it is not", async () => {
    const inactive = await seedUser(db);
    db.update(users).set({ isActive: false }).where(eq(users.id, inactive.id)).run();
    const right = await request("POST", "/auth/login", { body: { email: inactive.email, password: inactive.password } });
    expect(right.status).toBe(401);
    expect(right.json).toEqual({ detail: "Account is inactive" });
    const wrong = await request("POST", "/auth/login", { body: { email: inactive.email, password: "wrong-password" } });
    expect(wrong.json).toEqual({ detail: "Invalid email or password" });
  });

  test("the right password of a deactivated account, repeated, meets the throttle like any refused sign-in", async () => {
    const former = await seedUser(db);
    db.update(users).set({ isActive: false }).where(eq(users.id, former.id)).run();
    const answers: number[] = [];
    for (let i = 0; i < 8; i++) {
      answers.push((await request("POST", "/auth/login", { body: { email: former.email, password: former.password } })).status);
    }
    // LOGIN_MAX_FAILURES (5) per email and address, then 429 without a hash or a row each.
    expect(answers).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const rows = db.$client
      .query("SELECT reason, count(*) AS rows, sum(count) AS attempts FROM audit_events WHERE user_id = ? AND type = 'login.failed' GROUP BY reason ORDER BY reason")
      .all(former.id);
    expect(rows).toEqual([
      { reason: "inactive", rows: 5, attempts: 5 },
      { reason: "throttled", rows: 1, attempts: 3 },
    ]);
  });

  test("a hash made by the Python original (pwdlib argon2id m=65536,t=3,p=4) still signs in", async () => {
    const legacy = await seedUser(db);
    db.update(users).set({ passwordHash: PWDLIB_HASH }).where(eq(users.id, legacy.id)).run();
    const ok = await request("POST", "/auth/login", { body: { email: legacy.email, password: PWDLIB_PASSWORD } });
    expect(ok.status).toBe(200);
    const bad = await request("POST", "/auth/login", { body: { email: legacy.email, password: legacy.password } });
    expect(bad.status).toBe(401);
  });

  test("a password longer than the 8-128 rule, set before it (the original had no upper bound), signs in and can be changed", async () => {
    const legacy = await seedUser(db);
    const long = "Long-pass-".repeat(20); // 200 characters
    db.update(users).set({ passwordHash: await Bun.password.hash(long, { algorithm: "argon2id", memoryCost: 65536, timeCost: 2 }) }).where(eq(users.id, legacy.id)).run();
    const signedIn = await request("POST", "/auth/login", { body: { email: legacy.email, password: long } });
    expect(signedIn.status).toBe(200);
    const changed = await request("PUT", "/auth/password", {
      token: signedIn.json.access_token,
      body: { current_password: long, new_password: "a-shorter-new-passphrase" },
    });
    expect(changed.status).toBe(200);
    expect((await request("POST", "/auth/login", { body: { email: legacy.email, password: "a-shorter-new-passphrase" } })).status).toBe(200);
  });

  test("missing password → 422 saying it is required", async () => {
    const response = await request("POST", "/auth/login", { body: { email: admin.email } });
    expect(response.status).toBe(422);
    expect(response.json).toEqual({ detail: "password is required" });
  });

  test("missing fields → 422 naming the field, without echoing what was sent", async () => {
    const secret = "hunter2-the-secret";
    const response = await request("POST", "/auth/login", { body: { password: secret } });
    expect(response.status).toBe(422);
    expect(response.json.detail).toContain("email");
    expectNoLeak(response.text, [secret]);
  });

  test("an empty or over-long password is refused before any hashing", async () => {
    for (const password of ["", "x".repeat(1025), "x".repeat(60_000)]) {
      const response = await request("POST", "/auth/login", { body: { email: admin.email, password } });
      expect(response.status).toBe(422);
      expect(response.json).toEqual({ detail: "password must be 1 to 1024 characters" });
    }
  });

  test("a 100 KB password is over the body limit: 413 before anything else", async () => {
    const response = await request("POST", "/auth/login", { body: { email: admin.email, password: "x".repeat(100_000) } });
    expect(response.status).toBe(413);
    expect(response.json).toEqual({ detail: expect.stringContaining("larger than") });
  });

  test("malformed JSON → 400 with a detail", async () => {
    const response = await request("POST", "/auth/login", {
      rawBody: '{"email": "admin@test.com", "password": ',
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ detail: expect.any(String) });
    expectNoLeak(response.text);
  });
});

describe("GET /auth/me", () => {
  test("returns the signed-in account and never the hash", async () => {
    const token = await signIn(request, admin);
    const response = await request("GET", "/auth/me", { token });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      id: admin.id,
      name: expect.any(String),
      email: "admin@test.com",
      role: "admin",
      is_active: true,
      last_login_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    });
    expectNoLeak(response.text);
  });

  test("no header → 401 Not authenticated with a Bearer challenge", async () => {
    const response = await request("GET", "/auth/me");
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ detail: "Not authenticated" });
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });

  test("a garbage, foreign or malformed bearer → 401 Invalid or expired token", async () => {
    const token = await signIn(request, agent);
    for (const authorization of ["Bearer nonsense", `Bearer ${token}x`, `Bearer  ${token}`, `BearerX${token}`, `Bearer ${token} ${token}`, "Basic YTpi"]) {
      const response = await request("GET", "/auth/me", { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ detail: "Invalid or expired token" });
      expect(response.headers.get("www-authenticate")).toBe("Bearer");
    }
  });

  test("the scheme is case-insensitive", async () => {
    const token = await signIn(request, agent);
    const response = await request("GET", "/auth/me", { headers: { authorization: `bEaReR ${token}` } });
    expect(response.status).toBe(200);
  });

  test("a token in the query string, a cookie or the body authenticates nothing", async () => {
    const token = await signIn(request, agent);
    const viaQuery = await request("GET", `/auth/me?access_token=${token}`);
    const viaCookie = await request("GET", "/auth/me", { headers: { cookie: `access_token=${token}` } });
    for (const response of [viaQuery, viaCookie]) {
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ detail: "Not authenticated" });
    }
  });

  test("disabling an account revokes its tokens on the next request", async () => {
    const soonGone = await seedUser(db);
    const token = await signIn(request, soonGone);
    expect((await request("GET", "/auth/me", { token })).status).toBe(200);
    db.update(users).set({ isActive: false }).where(eq(users.id, soonGone.id)).run();
    const response = await request("GET", "/auth/me", { token });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ detail: "Account inactive or not found" });
  });

  test("a valid token for a user that no longer exists → 401 Account inactive or not found", async () => {
    // A token from before sessions (none to read): the account alone decides.
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const iat = Math.floor(Date.now() / 1000);
    const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "987654", ver: 0, gen: ctx.generation.id, iat, exp: iat + 60 })}`;
    const token = `${head}.${new Bun.CryptoHasher("sha256", TEST_SECRET).update(head).digest("base64url")}`;
    const response = await request("GET", "/auth/me", { token });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ detail: "Account inactive or not found" });
  });

  test("a valid token whose session does not exist → 401 Session ended", async () => {
    const token = await ctx.tokens.issue({ userId: agent.id, tokenVersion: 0, generation: ctx.generation.id, sessionId: newSessionId() });
    const response = await request("GET", "/auth/me", { token });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ detail: "Session ended; sign in again" });
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });
});

describe("guards decide before the body is validated", () => {
  // A probe route behind each guard, with a strict body, on the same database and key as the app.
  const probe = requester((r) =>
    new Elysia()
      .use(errorHandling(silentLogger))
      .use(authGuard({ db, tokens: ctx.tokens, generation: ctx.generation }))
      .post("/admin-probe", ({ user }) => ({ id: user.id }), { admin: true, body: t.Object({ n: t.Integer() }) })
      .post("/user-probe", ({ user }) => ({ id: user.id }), { auth: true, body: t.Object({ n: t.Integer() }) })
      .handle(r),
  );

  test("anonymous with a bad body → 401, not 422", async () => {
    for (const path of ["/admin-probe", "/user-probe"]) {
      const response = await probe("POST", path, { body: { n: "not a number" } });
      expect(response.status).toBe(401);
    }
  });

  test("an agent on an admin route with a bad body → 403 Admin access required", async () => {
    const token = await signIn(request, agent);
    const response = await probe("POST", "/admin-probe", { token, body: { wrong: true } });
    expect(response.status).toBe(403);
    expect(response.json).toEqual({ detail: "Admin access required" });
  });

  test("an admin with a bad body → 422; with a good one → 200", async () => {
    const token = await signIn(request, admin);
    expect((await probe("POST", "/admin-probe", { token, body: { n: "x" } })).status).toBe(422);
    const ok = await probe("POST", "/admin-probe", { token, body: { n: 1 } });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ id: admin.id });
  });

  test("the role is read from the database on every request, not from the token", async () => {
    const promoted = await seedUser(db);
    const token = await signIn(request, promoted);
    expect((await probe("POST", "/admin-probe", { token, body: { n: 1 } })).status).toBe(403);
    db.update(users).set({ role: "admin" }).where(eq(users.id, promoted.id)).run();
    expect((await probe("POST", "/admin-probe", { token, body: { n: 1 } })).status).toBe(200);
    db.update(users).set({ role: "agent" }).where(eq(users.id, promoted.id)).run();
    expect((await probe("POST", "/admin-probe", { token, body: { n: 1 } })).status).toBe(403);
  });
});

describe("the database's generation (issue 19: tokens tied to the database's lifetime)", () => {
  const forged = (claims: Record<string, unknown>) => {
    // Signed with the app's key through the token service's own rules: only the claims differ.
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
    return `${head}.${new Bun.CryptoHasher("sha256", TEST_SECRET).update(head).digest("base64url")}`;
  };
  const now = () => Math.floor(Date.now() / 1000);

  test("a sign-in's token carries the generation; a token of another generation is refused whatever its id and version", async () => {
    const signedIn = await signIn(request, agent);
    expect(ctx.tokens.verify(signedIn)?.generation).toBe(ctx.generation.id);
    expect((await request("GET", "/auth/me", { token: signedIn })).status).toBe(200);
    const session = ctx.tokens.verify(signedIn)!.sessionId!;
    const other = await ctx.tokens.issue({ userId: agent.id, tokenVersion: 0, generation: newGenerationId(), sessionId: session });
    const refused = await request("GET", "/auth/me", { token: other });
    expect({ status: refused.status, body: refused.json }).toEqual({ status: 401, body: { detail: "Invalid or expired token" } });
    expect(refused.headers.get("www-authenticate")).toBe("Bearer");
  });

  test("tokens without one (the original's {sub, exp}, moxie's older shape) work until the database is restored, never after", async () => {
    const fresh = createTestApp();
    const user = await seedUser(fresh.db, { email: "generation@test.com" });
    const original = forged({ sub: String(user.id), exp: now() + 3600 });
    const older = forged({ sub: String(user.id), ver: 0, iat: now(), exp: now() + 3600 });
    const { token: current } = await sessionToken(fresh, user.id);
    expect(fresh.generation.restored).toBe(false);
    for (const token of [original, older, current]) expect((await fresh.request("GET", "/auth/me", { token })).status).toBe(200);

    // What restore does to its copy, then a server started on it: every token above is refused.
    const restored = beginRestoredGeneration(fresh.db.$client);
    expect(restored.id).not.toBe(fresh.generation.id);
    const tokens = createTokenService(TEST_SECRET);
    const after = createApp({ db: fresh.db, settings: { ...testSettings(), databasePath: fresh.dbPath }, tokens });
    const requestAfter = requester((r) => after.handle(r));
    for (const token of [original, older, current]) {
      expect((await requestAfter("GET", "/auth/me", { token })).json).toEqual({ detail: "Invalid or expired token" });
    }
    // A token of the new generation is admitted: the refusals are the generation's doing.
    const kept = createSession(fresh.db, { userId: user.id, ip: null, userAgent: null, lifetimeMs: 60_000 });
    const renewed = await tokens.issue({ userId: user.id, tokenVersion: 0, generation: restored.id, sessionId: kept.id });
    expect((await requestAfter("GET", "/auth/me", { token: renewed })).json.id).toBe(user.id);
  });
});
