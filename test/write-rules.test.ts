// Issue 11's rules for writes, in process on real SQLite files: who may act is checked again where the change
// is written (writeAs), a password set is compare-and-set on the token version, an admin's own password goes
// through PUT /auth/password, a busy database is a 503 with nothing written, emails have one spelling, and what
// is typed as an email is kept in the audit trail only when it is an address.
//
// The races are made deterministic without any timing: a service call that hashes a password yields at its
// first `await` (argon2 runs on another thread), so the change made synchronously right after it lands first,
// in every run and on every machine; the pending call then meets it in its own transaction.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { ActorForbiddenError, ActorRevokedError, PasswordRaceError } from "../src/accounts/errors.ts";
import { createUser, setPassword, updateUser } from "../src/accounts/service.ts";
import { signOut } from "../src/accounts/sessions.ts";
import { getUser } from "../src/accounts/lookup.ts";
import { normalizeStoredEmails } from "../src/accounts/stored-emails.ts";
import type { ActingUser } from "../src/accounts/write.ts";
import { hashingGate, verifyPasswordHash } from "../src/passwords/hashing.ts";
import { createTestApp, seedUser, signIn, testDb } from "./helpers.ts";

/** Each test hashes a few passwords (64 MiB argon2id): its own bound on a hung test, not a speed limit (test/setup.ts). */
const HASHING_TEST_TIMEOUT_MS = 30_000;

/** What a promise settled with: the error it threw, or "resolved". */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => "resolved",
    (error: unknown) => error,
  );
}

function actingAs(db: ReturnType<typeof testDb>["db"], id: number): ActingUser {
  return { id, tokenVersion: getUser(db, id).tokenVersion, ip: "192.0.2.1" };
}

const accountCount = (db: ReturnType<typeof testDb>["db"]) =>
  (db.$client.query("SELECT count(*) AS n FROM users").get() as { n: number }).n;
const eventCount = (db: ReturnType<typeof testDb>["db"], type: string) =>
  (db.$client.query("SELECT count(*) AS n FROM audit_events WHERE type = ?").get(type) as { n: number }).n;

describe("writes re-check the actor in the write's own transaction", () => {
  test("an admin deactivated while their create was hashing creates nothing (even when the version did not move)", async () => {
    const { db } = testDb();
    const admin = await seedUser(db, { role: "admin" });
    const actor = actingAs(db, admin.id);
    const before = accountCount(db);
    const pending = createUser(db, { name: "Queued", email: "queued-inactive@rules.test", password: "queued-password-1" }, actor);
    // A deactivation that leaves token_version alone (the Python original writing the same file, or an
    // operator's SQL): only the is_active check in writeAs stands between the queued create and the table.
    db.$client.run("UPDATE users SET is_active = 0 WHERE id = ?", [admin.id]);
    const error = await outcome(pending);
    expect(error).toBeInstanceOf(ActorRevokedError);
    expect(accountCount(db)).toBe(before);
    expect(eventCount(db, "user.created")).toBe(before);
  }, HASHING_TEST_TIMEOUT_MS);

  test("an admin demoted while their reset was hashing resets nothing (403)", async () => {
    const { db } = testDb();
    const admin = await seedUser(db, { role: "admin" });
    await seedUser(db, { role: "admin" }); // the demotion below must not be of the last admin
    const victim = await seedUser(db);
    const hashBefore = getUser(db, victim.id).passwordHash;
    const pending = setPassword(db, actingAs(db, admin.id), victim.id, "Demoted-Reset-Pass-2026");
    await updateUser(db, "cli", admin.id, { role: "agent" }); // a role change does not move the token version
    const error = await outcome(pending);
    expect(error).toBeInstanceOf(ActorForbiddenError);
    expect(getUser(db, victim.id).passwordHash).toBe(hashBefore);
    expect(eventCount(db, "password.reset")).toBe(0);
  }, HASHING_TEST_TIMEOUT_MS);

  test("an admin signed out (logout everywhere) while their create was hashing creates nothing (401)", async () => {
    const { db } = testDb();
    const admin = await seedUser(db, { role: "admin" });
    const actor = actingAs(db, admin.id);
    const before = accountCount(db);
    const pending = createUser(db, { name: "Queued", email: "queued-signed-out@rules.test", password: "queued-password-2" }, actor);
    await signOut(db, actor, "global");
    const error = await outcome(pending);
    expect(error).toBeInstanceOf(ActorRevokedError);
    expect(accountCount(db)).toBe(before);
  }, HASHING_TEST_TIMEOUT_MS);
});

describe("setting a password is compare-and-set on the token version seen at arrival", () => {
  test("an admin's reset that meets the account's logout (or another reset) meanwhile writes nothing: 409", async () => {
    const { db } = testDb();
    const admin = await seedUser(db, { role: "admin" });
    const victim = await seedUser(db);
    const hashBefore = getUser(db, victim.id).passwordHash;
    const pending = setPassword(db, actingAs(db, admin.id), victim.id, "Lost-The-Race-Pass-2026");
    await signOut(db, actingAs(db, victim.id), "global"); // the account's sessions change while the new hash is computed
    const error = await outcome(pending);
    expect(error).toBeInstanceOf(PasswordRaceError);
    expect(getUser(db, victim.id).passwordHash).toBe(hashBefore);
    expect(await verifyPasswordHash(getUser(db, victim.id).passwordHash, victim.password)).toBe(true);
    // Repeated afterwards, it lands.
    await setPassword(db, actingAs(db, admin.id), victim.id, "Won-The-Race-Pass-2026");
    expect(await verifyPasswordHash(getUser(db, victim.id).passwordHash, "Won-The-Race-Pass-2026")).toBe(true);
  }, HASHING_TEST_TIMEOUT_MS);
});

describe("an admin's own password", () => {
  test("PUT /admin/users/{own id}/password → 403 pointing to PUT /auth/password; the password stays", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    const response = await ctx.request("PUT", `/admin/users/${admin.id}/password`, { token, body: { password: "Own-Reset-Attempt-2026" } });
    expect(response.status).toBe(403);
    expect(response.json.detail).toContain("PUT /auth/password");
    expect((await ctx.request("GET", "/auth/me", { token })).status).toBe(200);
    expect(await verifyPasswordHash(getUser(ctx.db, admin.id).passwordHash, admin.password)).toBe(true);
  }, HASHING_TEST_TIMEOUT_MS);
});

describe("a busy database", () => {
  test("a change while another connection holds the write lock: 503 with Retry-After, nothing written", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const agent = await seedUser(ctx.db, { name: "Before Busy" });
    const token = await signIn(ctx.request, admin);
    // The app's connection gives up at once instead of after BUSY_TIMEOUT_MS: the same error, sooner.
    ctx.db.$client.run("PRAGMA busy_timeout = 0");
    const events = eventCount(ctx.db, "user.updated");
    const holder = new Database(ctx.dbPath);
    holder.run("BEGIN IMMEDIATE");
    try {
      const response = await ctx.request("PATCH", `/admin/users/${agent.id}`, { token, body: { name: "During Busy" } });
      expect(response.status).toBe(503);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(response.json.detail).toContain("busy");
      expect(response.text).not.toMatch(/SQLITE|Internal server error/);
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    expect(getUser(ctx.db, agent.id).name).toBe("Before Busy");
    expect(eventCount(ctx.db, "user.updated")).toBe(events);
  }, HASHING_TEST_TIMEOUT_MS);

  test("the right password answered 503 (busy) is no failed sign-in: once the lock goes it signs in; a wrong one still counts", async () => {
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "2" } });
    const user = await seedUser(ctx.db, { email: "busy-right@rules.test", password: "busy-right-password-1" });
    const other = await seedUser(ctx.db, { email: "busy-wrong@rules.test", password: "busy-wrong-password-1" });
    const login = (email: string, password: string) => ctx.request("POST", "/auth/login", { body: { email, password } });
    // The app's connection gives up at once instead of after BUSY_TIMEOUT_MS: the same error, sooner.
    ctx.db.$client.run("PRAGMA busy_timeout = 0");
    const holder = new Database(ctx.dbPath);
    holder.run("BEGIN IMMEDIATE");
    try {
      // More than LOGIN_MAX_FAILURES: counted as failures, the last of them would already be 429.
      for (let i = 0; i < 3; i++) {
        const answer = await login(user.email, user.password);
        expect(answer.status).toBe(503);
        expect(answer.json.detail).toContain("busy");
        expect(answer.text).not.toContain("access_token");
      }
      // A wrong password was checked, and is a failed guess whatever the answer: its audit row could not be
      // written either (503), but it counts.
      for (let i = 0; i < 2; i++) expect((await login(other.email, `wrong-during-lock-${i}`)).status).toBe(503);
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    expect((await login(user.email, user.password)).status).toBe(200);
    expect((await login(other.email, other.password)).status).toBe(429);
    expect(ctx.db.$client.query("SELECT type, user_id AS user FROM audit_events WHERE type LIKE 'login.%' ORDER BY id").all()).toEqual([
      { type: "login.succeeded", user: user.id },
      { type: "login.failed", user: other.id },
    ]);
  }, HASHING_TEST_TIMEOUT_MS);

  test("refused sign-ins waiting for the lock are counted once it goes: one row, each refusal once", async () => {
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "1" } });
    const user = await seedUser(ctx.db, { email: "waiting@rules.test", password: "waiting-password-1" });
    const login = () => ctx.request("POST", "/auth/login", { body: { email: user.email, password: "wrong-password-1" } });
    expect((await login()).status).toBe(401); // the one failure allowed: from now on each attempt is refused
    const holder = new Database(ctx.dbPath);
    holder.run("BEGIN IMMEDIATE");
    let answered = 0;
    const refused = [login(), login(), login()].map((pending) => pending.finally(() => answered++));
    try {
      // /ready waits for the lock as well (between attempts): meanwhile the refusals reach theirs and wait too.
      const ready = await ctx.request("GET", "/ready");
      expect(ready.json).toEqual({ status: "unavailable", detail: expect.stringContaining("locked") });
      expect(answered).toBe(0);
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    for (const answer of await Promise.all(refused)) expect(answer.status).toBe(429);
    // Each retry looks for the open counting row again: the first to get the lock writes it, the others add to it.
    const rows = ctx.db.$client.query("SELECT reason, count FROM audit_events WHERE type = 'login.failed' ORDER BY id").all();
    expect(rows).toEqual([
      { reason: "wrong_password", count: 1 },
      { reason: "throttled", count: 3 },
    ]);
  }, HASHING_TEST_TIMEOUT_MS);
  test("a wrong password during the lock holds up nothing: /ready and /health answer while its audit row waits; recorded once the lock goes", async () => {
    const saved = { concurrency: hashingGate.concurrency, maxQueue: hashingGate.maxQueue };
    const ctx = createTestApp();
    const user = await seedUser(ctx.db, { email: "wrong-during-lock@rules.test", password: "right-password-1" });
    const holder = new Database(ctx.dbPath);
    const order: string[] = [];
    // One hash at a time and no queue: "saturated" then means exactly "the sign-in's hash is running".
    hashingGate.configure(1, 0);
    holder.run("BEGIN IMMEDIATE");
    let wrong: ReturnType<typeof ctx.request> | undefined;
    try {
      wrong = ctx.request("POST", "/auth/login", { body: { email: user.email, password: "wrong-password-1" } });
      void wrong.then(() => order.push("wrong password"));
      // Bounded only to notice a hang: the sign-in's hash starts, then this waits its turn behind it, so the
      // sign-in has its answer (401) and is writing its audit row when the probes go out.
      for (let i = 0; i < 10_000 && !hashingGate.saturated; i++) await Bun.sleep(1);
      expect(hashingGate.saturated).toBe(true);
      await hashingGate.run(async () => {}, "operator");
      const ready = await ctx.request("GET", "/ready");
      order.push("ready");
      const health = await ctx.request("GET", "/health");
      order.push("health");
      expect(ready.json).toEqual({ status: "unavailable", detail: expect.stringContaining("locked") });
      expect(health.status).toBe(200);
      expect(order).toEqual(["ready", "health"]);
    } finally {
      holder.run("ROLLBACK");
      holder.close();
      hashingGate.configure(saved.concurrency, saved.maxQueue);
    }
    expect((await wrong!).status).toBe(401);
    expect(order).toEqual(["ready", "health", "wrong password"]);
    expect(ctx.db.$client.query("SELECT reason, count FROM audit_events WHERE type = 'login.failed'").all()).toEqual([
      { reason: "wrong_password", count: 1 },
    ]);
  }, HASHING_TEST_TIMEOUT_MS);
});

describe("one spelling per email address", () => {
  test("composed/decomposed, fullwidth and upper-case spellings are one address (409); invisible characters are 422 naming email", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    const create = (email: string) =>
      ctx.request("POST", "/admin/users", { token, body: { name: "Look Alike", email, password: "look-alike-password-1" } });
    expect((await create("jos\u00e9@rules.test")).status).toBe(201);
    expect((await create("jose\u0301@rules.test")).status).toBe(409);
    expect((await create("JOS\u00c9@rules.test")).status).toBe(409);
    expect((await create("\uff41gent@rules.test")).status).toBe(201);
    expect((await create("agent@rules.test")).status).toBe(409);
    const accounts = accountCount(ctx.db);
    // Zero-width space, soft hyphen, word joiner, bidi override; combining grapheme joiner, variation selector-16,
    // the Hangul fillers and the braille blank, which render as nothing (or an empty cell) too.
    const hiddenOnes = ["\u200b", "\u00ad", "\u2060", "\u202e", "\u034f", "\ufe0f", "\u3164", "\u115f", "\u1160", "\uffa0", "\u2800"];
    for (const hidden of hiddenOnes) {
      for (const email of [`ag${hidden}ent2@rules.test`, `agent${hidden}@rules.test`]) {
        const answer = await create(email);
        expect({ email, status: answer.status, detail: answer.json.detail }).toEqual({
          email,
          status: 422,
          detail: "email must not contain spaces, control or invisible characters",
        });
      }
    }
    expect(accountCount(ctx.db)).toBe(accounts);
    // Another spelling of the same address signs in.
    expect((await ctx.request("POST", "/auth/login", { body: { email: "jose\u0301@rules.test", password: "look-alike-password-1" } })).status).toBe(200);
  }, HASHING_TEST_TIMEOUT_MS);
});

describe("what is typed as an email", () => {
  test("is kept in the audit trail only when it is an address; otherwise a fixed marker, never the text", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    const typed = "Typed-A-Password-Into-Email-42";
    const failed = await ctx.request("POST", "/auth/login", { body: { email: typed, password: "whatever-it-was" } });
    expect(failed.status).toBe(401);
    const rows = ctx.db.$client.query("SELECT email FROM audit_events WHERE type = 'login.failed'").all() as Array<{ email: string }>;
    expect(rows).toEqual([{ email: "(not an email address)" }]);
    const listed = await ctx.request("GET", "/admin/audit?limit=1000", { token });
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(typed);
    expect(JSON.stringify(ctx.db.$client.query("SELECT * FROM audit_events").all())).not.toContain(typed);
  }, HASHING_TEST_TIMEOUT_MS);

  test("an address has an address's shape: a password or markup with an @ in it is recorded as the marker, and no account's email", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    const accounts = accountCount(ctx.db);
    for (const typed of ["P@ssw0rd.2024", "<script>@x.y", "a..b@rules.test", ".a@rules.test", "a@-rules.test", "a@rules.t", "a@rules.123"]) {
      const failed = await ctx.request("POST", "/auth/login", { body: { email: typed, password: "whatever-it-was" } });
      expect({ typed, status: failed.status }).toEqual({ typed, status: 401 });
      const created = await ctx.request("POST", "/admin/users", { token, body: { name: "Shape", email: typed, password: "shape-password-2026" } });
      expect({ typed, status: created.status, detail: created.json.detail }).toEqual({ typed, status: 422, detail: "email must be a valid email address" });
    }
    expect(accountCount(ctx.db)).toBe(accounts);
    const rows = ctx.db.$client.query("SELECT email FROM audit_events WHERE type = 'login.failed'").all() as Array<{ email: string }>;
    expect(rows.map((r) => r.email)).toEqual(Array(7).fill("(not an email address)"));
    const trail = JSON.stringify(ctx.db.$client.query("SELECT * FROM audit_events").all());
    expect(trail).not.toMatch(/ssw0rd|script/i);
    // Addresses people have are still addresses, and are kept as typed (normalized).
    for (const email of ["o'brien+leases@mail.example.co.uk", "J\u00f6rg@m\u00fcller.de", "user_1{x}@xn--80ak6aa92e.com", "x@d\u00f6main.\u0440\u0444"]) {
      const created = await ctx.request("POST", "/admin/users", { token, body: { name: "Shape", email, password: "shape-password-2026" } });
      expect({ email, status: created.status }).toEqual({ email, status: 201 });
    }
    expect((await ctx.request("POST", "/auth/login", { body: { email: "nobody@real.example", password: "whatever-it-was" } })).status).toBe(401);
    expect(ctx.db.$client.query("SELECT email FROM audit_events WHERE type = 'login.failed' ORDER BY id DESC LIMIT 1").get()).toEqual({
      email: "nobody@real.example",
    });
  }, HASHING_TEST_TIMEOUT_MS);

  test("an internationalized domain is one address whether it comes as punycode (a browser's email field) or as typed", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    // Chromium's <input type=email> sends anna@exämple.de as anna@xn--exmple-cua.de.
    const created = await ctx.request("POST", "/admin/users", { token, body: { name: "Anna", email: "anna@xn--exmple-cua.de", password: "anna-password-2026" } });
    expect({ status: created.status, email: created.json.email }).toEqual({ status: 201, email: "anna@ex\u00e4mple.de" });
    const twin = await ctx.request("POST", "/admin/users", { token, body: { name: "Anna Again", email: "Anna@Ex\u00e4mple.de", password: "anna-password-2026" } });
    expect(twin.status).toBe(409);
    for (const email of ["anna@xn--exmple-cua.de", "anna@ex\u00e4mple.de", "ANNA@XN--EXMPLE-CUA.DE"]) {
      const signedIn = await ctx.request("POST", "/auth/login", { body: { email, password: "anna-password-2026" } });
      expect({ email, status: signedIn.status }).toEqual({ email, status: 200 });
    }
    // One stored before this rule in its punycode spelling is brought to the Unicode one at start.
    ctx.db.$client.query("UPDATE users SET email = 'anna@xn--exmple-cua.de' WHERE id = ?").run(created.json.id);
    expect(normalizeStoredEmails(ctx.db)).toEqual([{ id: created.json.id, from: "anna@xn--exmple-cua.de", to: "anna@ex\u00e4mple.de" }]);
    expect(ctx.db.$client.query("SELECT email FROM users WHERE id = ?").get(created.json.id)).toEqual({ email: "anna@ex\u00e4mple.de" });
  }, HASHING_TEST_TIMEOUT_MS);

  test("an account stored with an email of another shape (before the rule) still signs in, and may keep it", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    const legacy = await seedUser(ctx.db, { email: "legacy@rules.test", password: "legacy-password-1" });
    ctx.db.$client.query("UPDATE users SET email = 'legacy@intranet.1' WHERE id = ?").run(legacy.id);
    expect((await ctx.request("POST", "/auth/login", { body: { email: "Legacy@Intranet.1", password: legacy.password } })).status).toBe(200);
    const same = await ctx.request("PATCH", `/admin/users/${legacy.id}`, { token, body: { name: "Still Legacy", email: "legacy@intranet.1" } });
    expect({ status: same.status, email: same.json.email }).toEqual({ status: 200, email: "legacy@intranet.1" });
    const other = await ctx.request("PATCH", `/admin/users/${legacy.id}`, { token, body: { email: "legacy@intranet.2" } });
    expect({ status: other.status, detail: other.json.detail }).toEqual({ status: 422, detail: "email must be a valid email address" });
    // Its wrong passwords are recorded under the account.
    expect((await ctx.request("POST", "/auth/login", { body: { email: "legacy@intranet.1", password: "wrong-password-1" } })).status).toBe(401);
    expect(ctx.db.$client.query("SELECT user_id, email FROM audit_events WHERE type = 'login.failed'").all()).toEqual([
      { user_id: legacy.id, email: "legacy@intranet.1" },
    ]);
  }, HASHING_TEST_TIMEOUT_MS);
});
