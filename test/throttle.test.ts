// The login throttle with an injected clock (exact windows, no waiting), and the sign-in route's use of it and
// of the hashing bound, in-process. test/security/login.test.ts checks the same promises through the binary.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { hashingGate } from "../src/auth/password.ts";
import { LoginThrottle } from "../src/auth/throttle.ts";
import { createTestApp, seedUser } from "./helpers.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const WINDOW_MS = 60_000;
const IP = "203.0.113.5";

/** `promise`, or a test failure once `ms` have passed without an answer (instead of a hung run). */
async function answeredWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: the request waited for hashing`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function throttle(perPair = 3, perAddress = 5, perAccount = 1_000) {
  let now = 1_000_000;
  const limiter = new LoginThrottle(
    { maxFailuresPerPair: perPair, maxFailuresPerAddress: perAddress, maxFailuresPerAccount: perAccount, windowMs: WINDOW_MS },
    () => now,
  );
  return {
    limiter,
    advance: (ms: number) => (now += ms),
    /** Attempts that are let in and never given back: failures. */
    fail: (email: string, times = 1, address = IP) => {
      for (let i = 0; i < times; i++) {
        const attempt = limiter.reserve(email, address);
        if (attempt.refused) throw new Error(`attempt ${i + 1} for ${email} was refused`);
      }
    },
    succeed: (email: string, address = IP) => {
      const attempt = limiter.reserve(email, address);
      if (attempt.refused) throw new Error(`the successful attempt for ${email} was refused`);
      attempt.succeeded();
    },
    /** Seconds an attempt would be told to wait now (0: let in; the probe gives its place back). */
    wait: (email: string, address = IP, clearedAt = 0) => {
      const attempt = limiter.reserve(email, address, clearedAt);
      if (attempt.refused) return attempt.retryAfterSeconds;
      attempt.withdrawn();
      return 0;
    },
  };
}

describe("LoginThrottle (per account and address pair, per address, per account, sliding window)", () => {
  test("the pair is refused at exactly LOGIN_MAX_FAILURES failures, for the rest of the window", () => {
    const { advance, fail, wait } = throttle(3, 100);
    fail("a@x.co", 2);
    expect(wait("a@x.co")).toBe(0);
    fail("a@x.co");
    expect(wait("a@x.co")).toBe(WINDOW_MS / 1000);
    advance(WINDOW_MS - 1_000);
    expect(wait("a@x.co")).toBe(1);
    // Other emails and other addresses are not this pair.
    expect(wait("b@x.co")).toBe(0);
    expect(wait("a@x.co", "198.51.100.1")).toBe(0);
    advance(1_000);
    expect(wait("a@x.co")).toBe(0);
  });

  test("an attempt counts when it arrives: the limit-th concurrent attempt is let in, the next refused", () => {
    const { limiter } = throttle(3, 100);
    const inFlight = [limiter.reserve("a@x.co", IP), limiter.reserve("a@x.co", IP), limiter.reserve("a@x.co", IP)];
    expect(inFlight.map((attempt) => attempt.refused)).toEqual([false, false, false]);
    expect(limiter.reserve("a@x.co", IP).refused).toBe(true);
    // A withdrawn attempt (no password was checked) gives its place back.
    const first = inFlight[0]!;
    if (first.refused) throw new Error("unreachable");
    first.withdrawn();
    expect(limiter.reserve("a@x.co", IP).refused).toBe(false);
  });

  test("the window slides: failures older than it stop counting one by one", () => {
    const { advance, fail, wait } = throttle(3, 100);
    fail("a@x.co");
    advance(30_000);
    fail("a@x.co", 2);
    expect(wait("a@x.co")).toBe(30);
    advance(30_000); // the first failure has aged out; two remain
    expect(wait("a@x.co")).toBe(0);
  });

  test("the address is refused at LOGIN_MAX_FAILURES_PER_ADDRESS failures across emails, for every email", () => {
    const { fail, wait } = throttle(3, 5);
    for (let i = 0; i < 4; i++) fail(`spray-${i}@x.co`);
    expect(wait("never@x.co")).toBe(0);
    fail("spray-4@x.co");
    expect(wait("never@x.co")).toBe(WINDOW_MS / 1000);
    expect(wait("never@x.co", "198.51.100.1")).toBe(0);
  });

  test("the account is refused at LOGIN_MAX_FAILURES_PER_ACCOUNT failures across addresses; an unlock after them clears it", () => {
    const { advance, fail, wait } = throttle(100, 100, 4);
    for (let i = 0; i < 4; i++) fail("target@x.co", 1, `198.51.100.${i + 1}`);
    expect(wait("target@x.co", "192.0.2.77")).toBe(WINDOW_MS / 1000);
    expect(wait("other@x.co", "192.0.2.77")).toBe(0);
    // An unlock, password reset or activation recorded after the failures: they no longer count for the account.
    advance(1_000);
    expect(wait("target@x.co", "192.0.2.77", 1_000_000 + 500)).toBe(0);
  });

  test("a success clears the pair, and only the pair: the address keeps its count", () => {
    const { fail, succeed, wait } = throttle(3, 5);
    fail("a@x.co", 2);
    for (let i = 0; i < 2; i++) fail(`spray-${i}@x.co`);
    succeed("a@x.co");
    fail("a@x.co", 1); // 1 on the pair again (not 3), and 5 on the address
    expect(wait("a@x.co")).toBe(WINDOW_MS / 1000); // the address's limit, not the pair's
    const other = throttle(3, 100);
    other.fail("a@x.co", 2);
    other.succeed("a@x.co");
    other.fail("a@x.co", 2);
    expect(other.wait("a@x.co")).toBe(0);
  });
});

describe("POST /auth/login uses the throttle (in-process, LOGIN_MAX_FAILURES=2, per address 4)", () => {
  const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "2", LOGIN_MAX_FAILURES_PER_ADDRESS: "4" } });
  const login = (email: string, password: string, headers: Record<string, string> = {}) =>
    ctx.request("POST", "/auth/login", { body: { email, password }, headers });
  // Refused attempts are counted into one row (its `count`), not written one by one.
  const events = (reason: string) =>
    ctx.db.$client.query("SELECT coalesce(sum(count), 0) AS n FROM audit_events WHERE type = 'login.failed' AND reason = ?").get(reason) as { n: number };

  test("failures lock the account (the right password, any spelling of the email); unknown emails count too", async () => {
    const user = await seedUser(ctx.db, { email: "locked@throttle.test", password: "locked-password-1" });
    expect((await login(user.email, "wrong-password-1")).status).toBe(401);
    expect((await login(user.email, "wrong-password-2")).status).toBe(401);
    const refused = await login(user.email, user.password);
    expect({ status: refused.status, body: refused.json }).toEqual({ status: 429, body: { detail: "Too many login attempts" } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await login(" LOCKED@Throttle.Test ", user.password)).status).toBe(429);
    expect(events("throttled").n).toBe(2);
    expect(events("wrong_password").n).toBe(2);
    // Two failures on unknown emails reach the address's 4: now every email from here is refused.
    expect((await login("ghost-1@throttle.test", "wrong-password-3")).status).toBe(401);
    expect((await login("ghost-2@throttle.test", "wrong-password-4")).status).toBe(401);
    expect(events("unknown_email").n).toBe(2);
    expect((await login("never-tried@throttle.test", "anything-at-all")).status).toBe(429);
  });
});

describe("POST /auth/login past the hashing bound (in-process)", () => {
  const saved = { concurrency: hashingGate.concurrency, maxQueue: hashingGate.maxQueue };
  afterEach(() => hashingGate.configure(saved.concurrency, saved.maxQueue));

  test("with one hash at a time and no queue, concurrent sign-ins beyond the first are 503 with Retry-After", async () => {
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "1000" } });
    const user = await seedUser(ctx.db, { email: "busy@throttle.test", password: "busy-password-1" });
    hashingGate.configure(1, 0);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => ctx.request("POST", "/auth/login", { body: { email: user.email, password: "wrong-password" } })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([401, 503, 503, 503]);
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(answer.json).toEqual({ detail: "Server is busy, try again shortly" });
      expect(answer.headers.get("retry-after")).toBe("1");
    }
    // Refused before any password work: not counted as failures, and recorded as one counted row, not three.
    const rows = ctx.db.$client
      .query("SELECT reason, count FROM audit_events WHERE type = 'login.failed' ORDER BY reason")
      .all() as Array<{ reason: string; count: number }>;
    expect(rows).toEqual([
      { reason: "busy", count: 3 },
      { reason: "wrong_password", count: 1 },
    ]);
  });

  test("a sign-in that passes the early check but finds the gate full (a race) is still 503, never 500; recorded as busy, not counted as a failure", async () => {
    // One failure locks the pair: a busy refusal wrongly counted as a failure would show as a 429 below.
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "1" } });
    const user = await seedUser(ctx.db, { email: "race@throttle.test", password: "race-password-1" });
    hashingGate.configure(1, 0);
    // Occupy the only slot, and hide it from the route's early check, as a request arriving between that
    // check and the gate would see it.
    let release = () => {};
    const occupant = hashingGate.run(() => new Promise<void>((resolve) => (release = resolve)), "operator");
    Object.defineProperty(hashingGate, "saturated", { get: () => false, configurable: true });
    try {
      for (const email of [user.email, "unknown@throttle.test"]) {
        // Bounded: with a gate that queues instead of refusing, this request would wait for the occupant, which
        // is only released below; the answer needs no hashing, so the bound says nothing about machine speed.
        const answer = await answeredWithin(ctx.request("POST", "/auth/login", { body: { email, password: "any-password-1" } }), 10_000);
        expect({ email, status: answer.status, body: answer.json }).toEqual({
          email,
          status: 503,
          body: { detail: "Server is busy, try again shortly" },
        });
        expect(answer.headers.get("retry-after")).toBe("1");
      }
    } finally {
      delete (hashingGate as { saturated?: boolean }).saturated;
      release();
      await occupant;
    }
    expect(hashingGate.saturated).toBe(false);
    // Like the early refusal: one counted "busy" row per email, and the throttle was given its places back.
    const rows = ctx.db.$client
      .query("SELECT email, reason, count FROM audit_events WHERE type = 'login.failed' ORDER BY email")
      .all();
    expect(rows).toEqual([
      { email: user.email, reason: "busy", count: 1 },
      { email: "unknown@throttle.test", reason: "busy", count: 1 },
    ]);
    const next = await ctx.request("POST", "/auth/login", { body: { email: user.email, password: "wrong-password-1" } });
    expect(next.status).toBe(401);
  }, 30_000);
});
