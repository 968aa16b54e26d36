// Sessions per device (issue 21), in process on real SQLite files through the app: a session per sign-in, signing
// out of one device (or the others, or everywhere), listing and ending one's own, an admin's view, the per-account
// bound, the guard's one read and its last-seen writes, races with requests in flight, tokens from before sessions,
// pruning, and the device label.
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ActorRevokedError } from "../src/accounts/errors.ts";
import { createUser } from "../src/accounts/service.ts";
import { endSessionsForRestore } from "../src/accounts/sessions.ts";
import { getUser } from "../src/accounts/lookup.ts";
import { hashingGate } from "../src/passwords/hashing.ts";
import { deviceLabel, UNKNOWN_DEVICE, USER_AGENT_MAX_LENGTH } from "../src/sessions/device.ts";
import { LAST_SEEN_EVERY_MS } from "../src/sessions/reader.ts";
import { countSessions, createSession, listSessions, PRUNE_BATCH, pruneExpiredSessions } from "../src/sessions/store.ts";
import { createTestApp, expectNoLeak, seedUser, TEST_SECRET, testDb, type TestContext, type TestResponse } from "./helpers.ts";

// Sign-ins hash passwords (64 MiB argon2id): a bound on a hung test, not a speed limit (test/setup.ts).
setDefaultTimeout(60_000);

const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const CHROME_ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Signs in with a User-Agent (a device); returns the token and the session it names. */
async function signInAs(ctx: TestContext, user: { email: string; password: string }, userAgent = FIREFOX_WINDOWS) {
  const response = await ctx.request("POST", "/auth/login", {
    body: { email: user.email, password: user.password },
    headers: { "user-agent": userAgent },
  });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status} ${response.text}`);
  const token = response.json.access_token as string;
  return { token, sessionId: ctx.tokens.verify(token)!.sessionId! };
}

const me = (ctx: TestContext, token: string) => ctx.request("GET", "/auth/me", { token });

function expectRefused(response: TestResponse, detail = "Session ended; sign in again"): void {
  expect({ status: response.status, body: response.json }).toEqual({ status: 401, body: { detail } });
  expect(response.headers.get("www-authenticate")).toBe("Bearer");
}

/** `session.ended` rows, oldest first: which session, why, who. */
function endedEvents(ctx: TestContext, userId: number) {
  return ctx.db.$client
    .query("SELECT session_id, reason, actor, actor_user_id FROM audit_events WHERE type = 'session.ended' AND user_id = ? ORDER BY id")
    .all(userId) as Array<{ session_id: string; reason: string; actor: string; actor_user_id: number | null }>;
}

/** A token as moxie signed them before sessions ({sub, ver, gen, iat, exp}), or as the Python original did ({sub, exp}). */
function tokenWithoutSession(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${head}.${new Bun.CryptoHasher("sha256", TEST_SECRET).update(head).digest("base64url")}`;
}
const now = () => Math.floor(Date.now() / 1000);

describe("a session per sign-in", () => {
  test("two devices: each sees both sessions, its own first; signing out of one leaves the other signed in", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db, { email: "two.devices@x.co" });
    const pc = await signInAs(ctx, agent, FIREFOX_WINDOWS);
    const phone = await signInAs(ctx, agent, SAFARI_IPHONE);
    expect(pc.sessionId).not.toBe(phone.sessionId);

    const fromPhone = await ctx.request("GET", "/auth/sessions", { token: phone.token });
    expect(fromPhone.status).toBe(200);
    expect(fromPhone.json.map((s: { id: string }) => s.id)).toEqual([phone.sessionId, pc.sessionId]);
    expect(fromPhone.json[0]).toEqual({
      id: phone.sessionId,
      created_at: expect.stringMatching(ISO_UTC),
      expires_at: expect.stringMatching(ISO_UTC),
      last_seen_at: expect.stringMatching(ISO_UTC),
      ip: expect.any(String),
      device: "Safari on iPhone",
      current: true,
    });
    expect(fromPhone.json[1]).toMatchObject({ device: "Firefox on Windows", current: false });
    // It lasts as long as its token: 8 hours.
    const { created_at, expires_at } = fromPhone.json[0];
    expect(Date.parse(expires_at) - Date.parse(created_at)).toBe(8 * 60 * 60 * 1000);
    // The raw User-Agent is never part of the answer.
    expect(fromPhone.text).not.toContain("AppleWebKit");
    const fromPc = await ctx.request("GET", "/auth/sessions", { token: pc.token });
    expect(fromPc.json.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([
      [pc.sessionId, true],
      [phone.sessionId, false],
    ]);

    expect((await ctx.request("POST", "/auth/logout", { token: pc.token })).status).toBe(204);
    expectRefused(await me(ctx, pc.token));
    expect((await me(ctx, phone.token)).status).toBe(200);
    const after = await ctx.request("GET", "/auth/sessions", { token: phone.token });
    expect(after.json.map((s: { id: string }) => s.id)).toEqual([phone.sessionId]);
    expect(endedEvents(ctx, agent.id)).toEqual([{ session_id: pc.sessionId, reason: "self", actor: "user", actor_user_id: agent.id }]);
  });

  test("the sign-in's audit row names the session it made", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const { sessionId } = await signInAs(ctx, agent);
    const row = ctx.db.$client.query("SELECT session_id, ip FROM audit_events WHERE type = 'login.succeeded' AND user_id = ?").get(agent.id);
    expect(row).toEqual({ session_id: sessionId, ip: expect.any(String) });
    const stored = listSessions(ctx.db, agent.id)[0]!;
    expect(stored.ip).toBe((row as { ip: string }).ip);
  });
});

describe("POST /auth/logout?scope=", () => {
  test("others: every other session of the account ends, this one stays, other accounts are untouched", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const bystander = await seedUser(ctx.db);
    const [a, b, c] = [await signInAs(ctx, agent), await signInAs(ctx, agent, SAFARI_IPHONE), await signInAs(ctx, agent, CHROME_ANDROID)];
    const theirs = await signInAs(ctx, bystander);
    expect((await ctx.request("POST", "/auth/logout?scope=others", { token: a.token })).status).toBe(204);
    expect((await me(ctx, a.token)).status).toBe(200);
    for (const other of [b, c]) expectRefused(await me(ctx, other.token));
    expect((await me(ctx, theirs.token)).status).toBe(200);
    expect(endedEvents(ctx, agent.id).map((e) => [e.session_id, e.reason]).sort()).toEqual(
      [[b.sessionId, "others"], [c.sessionId, "others"]].sort(),
    );
  });

  test("global: every session and every token of the account ends, those from before sessions too", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const a = await signInAs(ctx, agent);
    const b = await signInAs(ctx, agent, SAFARI_IPHONE);
    const older = tokenWithoutSession({ sub: String(agent.id), ver: 0, gen: ctx.generation.id, iat: now(), exp: now() + 3600 });
    expect((await me(ctx, older)).status).toBe(200);
    expect((await ctx.request("POST", "/auth/logout?scope=global", { token: b.token })).status).toBe(204);
    for (const token of [a.token, b.token, older]) expect((await me(ctx, token)).status).toBe(401);
    expect(countSessions(ctx.db)).toBe(0);
    const logout = ctx.db.$client.query("SELECT reason, actor_user_id FROM audit_events WHERE type = 'logout'").all();
    expect(logout).toEqual([{ reason: "global", actor_user_id: agent.id }]);
    expect(endedEvents(ctx, agent.id).map((e) => e.reason)).toEqual(["global", "global"]);
  });
});

describe("GET and DELETE /auth/sessions", () => {
  test("ending another of your sessions: 204, its very next request is refused; ending your current one signs you out", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const a = await signInAs(ctx, agent);
    const b = await signInAs(ctx, agent, SAFARI_IPHONE);
    const response = await ctx.request("DELETE", `/auth/sessions/${b.sessionId}`, { token: a.token });
    expect({ status: response.status, text: response.text }).toEqual({ status: 204, text: "" });
    expectRefused(await me(ctx, b.token));
    expect((await me(ctx, a.token)).status).toBe(200);
    expect((await ctx.request("DELETE", `/auth/sessions/${a.sessionId}`, { token: a.token })).status).toBe(204);
    expectRefused(await me(ctx, a.token));
  });

  test("another account's session id is 404 like one that never existed, and that session goes on", async () => {
    const ctx = createTestApp();
    const mallory = await seedUser(ctx.db);
    const victim = await seedUser(ctx.db);
    const m = await signInAs(ctx, mallory);
    const v = await signInAs(ctx, victim);
    const theirs = await ctx.request("DELETE", `/auth/sessions/${v.sessionId}`, { token: m.token });
    const nobody = await ctx.request("DELETE", "/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA", { token: m.token });
    for (const answer of [theirs, nobody]) expect({ status: answer.status, body: answer.json }).toEqual({ status: 404, body: { detail: "Session not found" } });
    expect(theirs.text).toBe(nobody.text);
    expect((await me(ctx, v.token)).status).toBe(200);
    const malformed = await ctx.request("DELETE", "/auth/sessions/..%2F..%2Fadmin", { token: m.token });
    expect(malformed.status).toBe(422);
    expect(malformed.text).not.toContain("admin");
    // Nobody else's sessions show in your list.
    const listed = await ctx.request("GET", "/auth/sessions", { token: m.token });
    expect(listed.json.map((s: { id: string }) => s.id)).toEqual([m.sessionId]);
  });
});

describe("an admin and an account's sessions", () => {
  test("lists them (current only for the admin's own), ends one (its very next request is refused) and all ({ended: n})", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const agent = await seedUser(ctx.db);
    const adminSession = await signInAs(ctx, admin);
    const a = await signInAs(ctx, agent);
    const b = await signInAs(ctx, agent, CHROME_ANDROID);
    const older = tokenWithoutSession({ sub: String(agent.id), exp: now() + 3600 });

    const listed = await ctx.request("GET", `/admin/users/${agent.id}/sessions`, { token: adminSession.token });
    expect(listed.status).toBe(200);
    expect(listed.json.map((s: { id: string; current: boolean }) => [s.id, s.current]).sort()).toEqual([[a.sessionId, false], [b.sessionId, false]].sort());
    const own = await ctx.request("GET", `/admin/users/${admin.id}/sessions`, { token: adminSession.token });
    expect(own.json.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([[adminSession.sessionId, true]]);

    expect((await ctx.request("DELETE", `/admin/users/${agent.id}/sessions/${a.sessionId}`, { token: adminSession.token })).status).toBe(204);
    expectRefused(await me(ctx, a.token));
    expect((await me(ctx, b.token)).status).toBe(200);
    // A session of another account under this account's path is not found, and nothing ends.
    const elsewhere = await ctx.request("DELETE", `/admin/users/${agent.id}/sessions/${adminSession.sessionId}`, { token: adminSession.token });
    expect({ status: elsewhere.status, body: elsewhere.json }).toEqual({ status: 404, body: { detail: "Session not found" } });
    expect((await me(ctx, adminSession.token)).status).toBe(200);

    const all = await ctx.request("DELETE", `/admin/users/${agent.id}/sessions`, { token: adminSession.token });
    expect({ status: all.status, body: all.json }).toEqual({ status: 200, body: { ended: 1 } });
    for (const token of [b.token, older]) expect((await me(ctx, token)).status).toBe(401);
    expect((await me(ctx, adminSession.token)).status).toBe(200);
    expect(endedEvents(ctx, agent.id).map((e) => [e.reason, e.actor_user_id])).toEqual([["admin", admin.id], ["admin", admin.id]]);

    const missing = await ctx.request("GET", "/admin/users/424242/sessions", { token: adminSession.token });
    expect({ status: missing.status, body: missing.json }).toEqual({ status: 404, body: { detail: "User not found" } });
    // Agents may not.
    const fresh = await signInAs(ctx, agent);
    for (const [method, path] of [
      ["GET", `/admin/users/${admin.id}/sessions`],
      ["DELETE", `/admin/users/${admin.id}/sessions/${adminSession.sessionId}`],
      ["DELETE", `/admin/users/${admin.id}/sessions`],
    ] as const) {
      expect((await ctx.request(method, path, { token: fresh.token })).status).toBe(403);
    }
    expect((await me(ctx, adminSession.token)).status).toBe(200);
  });

  test("deactivation, an admin's reset and the account's own password change end sessions, each recorded with its reason", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const agent = await seedUser(ctx.db, { password: "agent-password-1" });
    const adminSession = await signInAs(ctx, admin);

    const kept = await signInAs(ctx, agent);
    const other = await signInAs(ctx, agent, SAFARI_IPHONE);
    const changed = await ctx.request("PUT", "/auth/password", {
      token: kept.token,
      body: { current_password: "agent-password-1", new_password: "agent-password-2" },
    });
    expect(changed.status).toBe(200);
    const fresh = changed.json.access_token as string;
    expect(ctx.tokens.verify(fresh)?.sessionId).toBe(kept.sessionId);
    expect((await me(ctx, fresh)).status).toBe(200);
    expectRefused(await me(ctx, other.token));
    const listed = await ctx.request("GET", "/auth/sessions", { token: fresh });
    expect(listed.json.map((s: { id: string }) => s.id)).toEqual([kept.sessionId]);

    await ctx.request("PUT", `/admin/users/${agent.id}/password`, { token: adminSession.token, body: { password: "agent-password-3" } });
    expectRefused(await me(ctx, fresh));
    const again = await signInAs(ctx, { email: agent.email, password: "agent-password-3" });
    await ctx.request("PATCH", `/admin/users/${agent.id}/deactivate`, { token: adminSession.token });
    // A deactivated account hears that, not just that its session ended (the console tells the two apart).
    expectRefused(await me(ctx, again.token), "Account inactive or not found");
    expect(listSessions(ctx.db, agent.id)).toEqual([]);

    expect(endedEvents(ctx, agent.id).map((e) => [e.session_id, e.reason])).toEqual([
      [other.sessionId, "password_change"],
      [kept.sessionId, "reset"],
      [again.sessionId, "deactivation"],
    ]);
  });
});

describe("the bound: MAX_SESSIONS_PER_ACCOUNT", () => {
  test("10 by default: the 11th sign-in ends the oldest session, and the audit trail says so", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const signIns = [];
    for (let i = 0; i < 10; i++) signIns.push(await signInAs(ctx, agent));
    expect(listSessions(ctx.db, agent.id)).toHaveLength(10);
    for (const { token } of signIns) expect((await me(ctx, token)).status).toBe(200);

    const eleventh = await signInAs(ctx, agent);
    expect(listSessions(ctx.db, agent.id)).toHaveLength(10);
    expectRefused(await me(ctx, signIns[0]!.token));
    for (const { token } of [...signIns.slice(1), eleventh]) expect((await me(ctx, token)).status).toBe(200);
    expect(endedEvents(ctx, agent.id)).toEqual([{ session_id: signIns[0]!.sessionId, reason: "limit", actor: "user", actor_user_id: agent.id }]);
  });

  test("the setting is honoured; a loop of sign-ins never grows the account's sessions past it", async () => {
    const ctx = createTestApp({ env: { MAX_SESSIONS_PER_ACCOUNT: "2" } });
    const agent = await seedUser(ctx.db);
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await signInAs(ctx, agent));
      expect(listSessions(ctx.db, agent.id).length).toBeLessThanOrEqual(2);
    }
    expect(listSessions(ctx.db, agent.id).map((s) => s.id).sort()).toEqual([made[3]!.sessionId, made[4]!.sessionId].sort());
    expect(endedEvents(ctx, agent.id).map((e) => e.session_id)).toEqual(made.slice(0, 3).map((m) => m.sessionId));
  });
});

describe("the guard's read", () => {
  test("a session ended from another connection (as the CLI's sign-out, another process, ends it) is refused at the very next request", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const a = await signInAs(ctx, agent);
    expect((await me(ctx, a.token)).status).toBe(200);
    const other = new Database(ctx.dbPath);
    other.run("DELETE FROM sessions WHERE id = ?", [a.sessionId]);
    other.close();
    expectRefused(await me(ctx, a.token));
  });

  test("a session past its expiry is refused even while its token is still valid", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const a = await signInAs(ctx, agent);
    const past = new Date(Date.now() - 1000).toISOString();
    ctx.db.$client.run("UPDATE sessions SET expires_at = ? WHERE id = ?", [past, a.sessionId]);
    expectRefused(await me(ctx, a.token));
    expect((await ctx.request("GET", "/auth/sessions", { token: (await signInAs(ctx, agent)).token })).json).toHaveLength(1);
  });

  test("a token naming another account's session is refused", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const other = await seedUser(ctx.db);
    const theirs = await signInAs(ctx, other);
    const forged = await ctx.tokens.issue({ userId: agent.id, tokenVersion: 0, generation: ctx.generation.id, sessionId: theirs.sessionId });
    expectRefused(await me(ctx, forged));
  });

  test("last_seen_at is written when it is a minute old, and not again on the requests that follow", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const a = await signInAs(ctx, agent);
    const lastSeen = () => (ctx.db.$client.query("SELECT last_seen_at FROM sessions WHERE id = ?").get(a.sessionId) as { last_seen_at: string }).last_seen_at;
    const stale = new Date(Date.now() - LAST_SEEN_EVERY_MS - 5000).toISOString();
    ctx.db.$client.run("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [stale, a.sessionId]);
    const before = Date.now();
    expect((await me(ctx, a.token)).status).toBe(200);
    await settle(() => lastSeen() !== stale);
    const seen = lastSeen();
    expect(Date.parse(seen)).toBeGreaterThanOrEqual(before - 1);
    // Within the minute, requests write nothing: not a write per request.
    const changes = () => (ctx.db.$client.query("SELECT total_changes() AS n").get() as { n: number }).n;
    const writes = changes();
    for (let i = 0; i < 20; i++) expect((await me(ctx, a.token)).status).toBe(200);
    await Bun.sleep(0);
    expect(lastSeen()).toBe(seen);
    expect(changes()).toBe(writes);
    const listed = await ctx.request("GET", "/auth/sessions", { token: a.token });
    expect(listed.json[0].last_seen_at).toBe(seen);
  });
});

describe("a session ended while its request is in flight", () => {
  test("an admin's create waiting for argon2 when the admin's session is ended elsewhere writes nothing: 401", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const laptop = await signInAs(ctx, admin);
    const phone = await signInAs(ctx, admin, SAFARI_IPHONE);
    const accounts = () => (ctx.db.$client.query("SELECT count(*) AS n FROM users").get() as { n: number }).n;
    const before = accounts();
    const pending = ctx.request("POST", "/admin/users", {
      token: laptop.token,
      body: { name: "In Flight", email: "in.flight@x.co", password: "in-flight-password-1" },
    });
    // The create is past the guard and hashing (its account's one password operation under way) ...
    await settle(() => hashingGate.operationsOf(admin.id) === 1);
    // ... when the laptop's session is ended from the phone.
    expect((await ctx.request("DELETE", `/auth/sessions/${laptop.sessionId}`, { token: phone.token })).status).toBe(204);
    const answer = await pending;
    expect({ status: answer.status, body: answer.json }).toEqual({ status: 401, body: { detail: "Session ended; sign in again" } });
    expect(accounts()).toBe(before);
    expect(ctx.db.$client.query("SELECT count(*) AS n FROM audit_events WHERE type = 'user.created' AND actor_user_id = ?").get(admin.id)).toEqual({ n: 0 });
  });

  test("the service refuses the write when the actor's session ended after its check at arrival (writeAs)", async () => {
    const { db } = testDb();
    const admin = await seedUser(db, { role: "admin" });
    const session = createSession(db, { userId: admin.id, ip: null, userAgent: null, lifetimeMs: 60_000 });
    const actor = { id: admin.id, tokenVersion: getUser(db, admin.id).tokenVersion, sessionId: session.id, ip: "192.0.2.1" };
    const pending = createUser(db, { name: "Queued", email: "queued@x.co", password: "queued-password-1" }, actor);
    // argon2 runs on another thread: this lands before the pending create reaches its write.
    db.$client.run("DELETE FROM sessions WHERE id = ?", [session.id]);
    const error = await pending.then(
      () => "resolved",
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActorRevokedError);
    expect(db.$client.query("SELECT count(*) AS n FROM users WHERE email = 'queued@x.co'").get()).toEqual({ n: 0 });
  });
});

describe("tokens from before sessions", () => {
  test("moxie's older tokens and the original's {sub, exp} keep working, list no session, and end with scope=global", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const older = tokenWithoutSession({ sub: String(agent.id), ver: 0, gen: ctx.generation.id, iat: now(), exp: now() + 3600 });
    const original = tokenWithoutSession({ sub: String(agent.id), exp: now() + 3600 });
    for (const token of [older, original]) expect((await me(ctx, token)).status).toBe(200);
    expect((await ctx.request("GET", "/auth/sessions", { token: older })).json).toEqual([]);

    // Signing out one session, or the others, does not reach them: they have no session.
    const a = await signInAs(ctx, agent);
    const b = await signInAs(ctx, agent, SAFARI_IPHONE);
    const listed = await ctx.request("GET", "/auth/sessions", { token: original });
    expect(listed.json.map((s: { current: boolean }) => s.current)).toEqual([false, false]);
    await ctx.request("POST", "/auth/logout", { token: a.token });
    await ctx.request("POST", "/auth/logout?scope=others", { token: b.token });
    for (const token of [older, original, b.token]) expect((await me(ctx, token)).status).toBe(200);

    expect((await ctx.request("POST", "/auth/logout?scope=global", { token: b.token })).status).toBe(204);
    for (const token of [older, original, b.token]) expect((await me(ctx, token)).status).toBe(401);
  });

  test("for a token without a session, logout (local) is global; a password change gives it a session", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db, { password: "agent-password-1" });
    const a = await signInAs(ctx, agent);
    const original = tokenWithoutSession({ sub: String(agent.id), exp: now() + 3600 });
    expect((await ctx.request("POST", "/auth/logout", { token: original })).status).toBe(204);
    for (const token of [original, a.token]) expect((await me(ctx, token)).status).toBe(401);

    const b = await signInAs(ctx, agent);
    const older = tokenWithoutSession({ sub: String(agent.id), ver: getUser(ctx.db, agent.id).tokenVersion, iat: now(), exp: now() + 3600 });
    const changed = await ctx.request("PUT", "/auth/password", {
      token: older,
      body: { current_password: "agent-password-1", new_password: "agent-password-2" },
    });
    expect(changed.status).toBe(200);
    const fresh = changed.json.access_token as string;
    const sessionId = ctx.tokens.verify(fresh)?.sessionId;
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const mine = await ctx.request("GET", "/auth/sessions", { token: fresh });
    expect(mine.json.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([[sessionId, true]]);
    for (const token of [older, b.token]) expect((await me(ctx, token)).status).toBe(401);
  });
});

describe("expired sessions", () => {
  test("are pruned in bounded batches; live ones stay", async () => {
    const { db } = testDb();
    const agent = await seedUser(db);
    const live = createSession(db, { userId: agent.id, ip: null, userAgent: null, lifetimeMs: 60_000 });
    const expired = PRUNE_BATCH + 3;
    const past = Date.now() - 120_000;
    for (let i = 0; i < expired; i++) createSession(db, { userId: agent.id, ip: null, userAgent: null, lifetimeMs: 1000 }, past);
    expect(countSessions(db)).toBe(expired + 1);
    expect(pruneExpiredSessions(db)).toBe(PRUNE_BATCH);
    expect(pruneExpiredSessions(db)).toBe(3);
    expect(pruneExpiredSessions(db)).toBe(0);
    expect(listSessions(db, agent.id).map((s) => s.id)).toEqual([live.id]);
    expect(countSessions(db)).toBe(1);
  });

  test("a sign-in drops the account's expired sessions, and they never count toward the bound", async () => {
    const ctx = createTestApp({ env: { MAX_SESSIONS_PER_ACCOUNT: "2" } });
    const agent = await seedUser(ctx.db);
    const past = Date.now() - 120_000;
    for (let i = 0; i < 4; i++) createSession(ctx.db, { userId: agent.id, ip: null, userAgent: null, lifetimeMs: 1000 }, past);
    const a = await signInAs(ctx, agent);
    const b = await signInAs(ctx, agent);
    expect(countSessions(ctx.db)).toBe(2);
    for (const token of [a.token, b.token]) expect((await me(ctx, token)).status).toBe(200);
    // Nothing live was ended for room: expired sessions are no "limit".
    expect(endedEvents(ctx, agent.id)).toEqual([]);
  });

  test("a restore's copy keeps none: each is ended and recorded (reason restore, by the operator)", async () => {
    const { db } = testDb();
    const agent = await seedUser(db);
    const made = [0, 1].map(() => createSession(db, { userId: agent.id, ip: null, userAgent: null, lifetimeMs: 60_000 }).id);
    createSession(db, { userId: agent.id, ip: null, userAgent: null, lifetimeMs: 1000 }, Date.now() - 120_000);
    expect(endSessionsForRestore(db)).toBe(2);
    expect(countSessions(db)).toBe(0);
    const rows = db.$client.query("SELECT session_id, reason, actor FROM audit_events WHERE type = 'session.ended' ORDER BY id").all();
    expect(rows).toEqual(made.map((id) => ({ session_id: id, reason: "restore", actor: "cli" })));
  });
});

describe("the device label", () => {
  const cases: Array<[string | null, string]> = [
    [FIREFOX_WINDOWS, "Firefox on Windows"],
    [SAFARI_IPHONE, "Safari on iPhone"],
    [CHROME_ANDROID, "Chrome on Android"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on macOS"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome on Linux"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", "Chrome on iPhone"],
    ["Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15", "Firefox on iPad"],
    ["Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"],
    ["Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome on ChromeOS"],
    ["curl/8.5.0", "curl"],
    ["Wget/1.21.4", "Wget"],
    ["python-requests/2.32.3", "Python"],
    ["", UNKNOWN_DEVICE],
    [null, UNKNOWN_DEVICE],
    ["<script>alert(1)</script>", UNKNOWN_DEVICE],
    ["x".repeat(100_000), UNKNOWN_DEVICE],
  ];
  for (const [userAgent, label] of cases) {
    test(`${JSON.stringify(userAgent?.slice(0, 60) ?? null)} → ${label}`, () => {
      expect(deviceLabel(userAgent)).toBe(label);
    });
  }

  test("a User-Agent of markup and terminal escapes is never echoed: not in the list, not in the log; it is stored cut short", async () => {
    const ctx = createTestApp();
    const agent = await seedUser(ctx.db);
    const junk = `Mozilla/5.0 (Windows NT 10.0) <img src=x onerror=alert(1)> \u001b[31mRED\u001b[0m "quoted" ${"A".repeat(2000)}`;
    const { token, sessionId } = await signInAs(ctx, agent, junk);
    const listed = await ctx.request("GET", "/auth/sessions", { token });
    expect(listed.json[0].device).toBe("Browser on Windows");
    for (const piece of ["<img", "onerror", "RED", "quoted", "\u001b", "AAAA"]) {
      expect(listed.text).not.toContain(piece);
      for (const line of ctx.logLines) expect(line).not.toContain(piece);
    }
    expectNoLeak(listed.text);
    const stored = ctx.db.$client.query("SELECT user_agent FROM sessions WHERE id = ?").get(sessionId) as { user_agent: string };
    expect(stored.user_agent).toBe(junk.slice(0, USER_AGENT_MAX_LENGTH));
  });
});

/** Waits (bounded) for `condition`, which other work on the event loop makes true. */
async function settle(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await Bun.sleep(1);
  expect(condition()).toBe(true);
}
