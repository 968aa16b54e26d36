// Sign-in as a service, without HTTP: src/sign-in/service.ts on a real database made by the shipped migrations,
// with a real throttle and token service. The HTTP answers for the same rules are in auth.test.ts,
// throttle.test.ts and test/security/; this file shows the rules themselves answer the same to any caller.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readGeneration } from "../src/db/generation.ts";
import { signInService, type SignInResult } from "../src/sign-in/service.ts";
import { LoginThrottle } from "../src/sign-in/throttle.ts";
import { createTokenService } from "../src/tokens/tokens.ts";
import { seedUser, TEST_SECRET, testDb } from "./helpers.ts";

// Each test checks a few passwords (64 MiB argon2id): a bound on a hung test, not a speed limit.
setDefaultTimeout(60_000);

function service(limits: Partial<ConstructorParameters<typeof LoginThrottle>[0]> = {}) {
  const { db } = testDb();
  const tokens = createTokenService(TEST_SECRET);
  const generation = readGeneration(db.$client);
  const throttle = new LoginThrottle({ maxFailuresPerPair: 5, maxFailuresPerAddress: 30, maxFailuresPerAccount: 50, windowMs: 60_000, ...limits });
  return { db, tokens, generation, ...signInService({ db, tokens, generation, throttle, refusalWindowMs: 60_000 }) };
}

function auditRows(db: ReturnType<typeof testDb>["db"]) {
  return db.$client.query("SELECT type, reason, email, ip, count FROM audit_events WHERE type LIKE 'login.%' ORDER BY id").all() as Array<{
    type: string;
    reason: string | null;
    email: string | null;
    ip: string | null;
    count: number;
  }>;
}

describe("signIn", () => {
  test("gives a token carrying the account, its token version and the database's generation, and records the sign-in", async () => {
    const s = service();
    const user = await seedUser(s.db, { email: "ana@example.com" });
    const result = await s.signIn({ email: " ANA@example.com ", password: user.password, address: "203.0.113.7" });
    expect(result.outcome).toBe("signed-in");
    const token = (result as Extract<SignInResult, { outcome: "signed-in" }>).token;
    expect(s.tokens.verify(token.token)).toMatchObject({ userId: user.id, tokenVersion: 0, generation: s.generation.id });
    expect(token.expiresInSeconds).toBe(8 * 60 * 60);
    expect(auditRows(s.db)).toEqual([{ type: "login.succeeded", reason: null, email: "ana@example.com", ip: "203.0.113.7", count: 1 }]);
  });

  test("an unknown email and a wrong password get the same refusal; each is recorded, an email that is no address never as typed", async () => {
    const s = service();
    const user = await seedUser(s.db, { email: "ben@example.com" });
    const wrong = await s.signIn({ email: user.email, password: "not the password", address: "203.0.113.7" });
    const unknown = await s.signIn({ email: "nobody@example.com", password: user.password, address: "203.0.113.7" });
    const typedPassword = await s.signIn({ email: "P@ssw0rd.2024", password: user.password, address: "203.0.113.7" });
    expect([wrong, unknown, typedPassword]).toEqual([
      { outcome: "refused", reason: "wrong" },
      { outcome: "refused", reason: "wrong" },
      { outcome: "refused", reason: "wrong" },
    ]);
    expect(auditRows(s.db).map((row) => [row.reason, row.email])).toEqual([
      ["wrong_password", "ben@example.com"],
      ["unknown_email", "nobody@example.com"],
      ["unknown_email", "(not an email address)"],
    ]);
  });

  test("each attempt takes its place on arrival: of a burst of wrong guesses past the limit, only the limit is checked", async () => {
    const s = service({ maxFailuresPerPair: 2 });
    const user = await seedUser(s.db, { email: "cleo@example.com" });
    const burst = await Promise.all(
      Array.from({ length: 5 }, () => s.signIn({ email: user.email, password: "a wrong guess", address: "2001:db8:77:1::9" })),
    );
    expect(burst.filter((r) => r.outcome === "refused")).toHaveLength(2);
    expect(burst.filter((r) => r.outcome === "throttled")).toHaveLength(3);
    // The right password is refused too while the pair is over its limit, and counted, not checked.
    expect((await s.signIn({ email: user.email, password: user.password, address: "2001:db8:77:1::10" })).outcome).toBe("throttled");
    // The refusals are counted into one row, under the client as the throttle counts it: the /64.
    expect(auditRows(s.db).filter((row) => row.reason === "throttled")).toEqual([
      { type: "login.failed", reason: "throttled", email: "cleo@example.com", ip: "2001:db8:77:1::/64", count: 4 },
    ]);
  });

  test("an account the original stored with an email that is no address signs in as typed", async () => {
    const s = service();
    const user = await seedUser(s.db, { email: "dora@example.com" });
    s.db.$client.query("UPDATE users SET email = 'front desk' WHERE id = ?").run(user.id);
    expect((await s.signIn({ email: "Front Desk", password: user.password, address: "203.0.113.7" })).outcome).toBe("signed-in");
  });

  test("a password longer than any sign-in accepts is invalid before anything is looked up or counted", async () => {
    const s = service();
    const result = await s.signIn({ email: "eve@example.com", password: "x".repeat(1025), address: "203.0.113.7" });
    expect(result).toEqual({ outcome: "invalid", detail: "password must be 1 to 1024 characters" });
    expect(auditRows(s.db)).toEqual([]);
  });
});
