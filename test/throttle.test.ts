// The login throttle with an injected clock (exact windows, no waiting), and the sign-in route's use of it and
// of the hashing bound, in-process. test/security/login.test.ts checks the same promises through the binary.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { hashingGate } from "../src/passwords/hashing.ts";
import { LoginThrottle } from "../src/sign-in/throttle.ts";
import { clientAddress } from "../src/http/client-address.ts";
import { clientNetwork } from "../src/lib/ip.ts";
import { createTestApp, seedUser, signIn } from "./helpers.ts";

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

function throttle(perPair = 3, perAddress = 5, perAccount = 1_000, ipv6PrefixLength?: number) {
  let now = 1_000_000;
  const limiter = new LoginThrottle(
    { maxFailuresPerPair: perPair, maxFailuresPerAddress: perAddress, maxFailuresPerAccount: perAccount, windowMs: WINDOW_MS, ipv6PrefixLength },
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

describe("one client: an IPv4 address, or an IPv6 network (LOGIN_IPV6_PREFIX, default 64)", () => {
  const in64 = (last: number) => `2001:db8:77:1::${last.toString(16)}`;

  test("addresses rotated inside one /64 share the per-address limit; another /64 does not", () => {
    const { fail, wait } = throttle(100, 10);
    for (let i = 1; i <= 10; i++) fail(`spray-${i}@x.co`, 1, in64(i));
    for (const address of [in64(11), "2001:db8:77:1:ffff:ffff:ffff:ffff", "2001:DB8:77:1:0:0:0:E"]) {
      expect(wait("never@x.co", address)).toBe(WINDOW_MS / 1000);
    }
    expect(wait("never@x.co", "2001:db8:77:2::1")).toBe(0);
    expect(wait("never@x.co", "2001:db8:77::1")).toBe(0);
  });

  test("the (email, client) pair is one /64 too: rotating addresses does not buy one email fresh guesses", () => {
    const { fail, wait } = throttle(3, 100);
    for (let i = 1; i <= 3; i++) fail("target@x.co", 1, in64(i));
    expect(wait("target@x.co", in64(4))).toBe(WINDOW_MS / 1000);
    expect(wait("other@x.co", in64(4))).toBe(0);
    expect(wait("target@x.co", "2001:db8:77:2::1")).toBe(0);
  });

  test("an IPv4-mapped IPv6 address is its IPv4 address, and IPv4 addresses are never grouped", () => {
    const { fail, wait } = throttle(3, 100);
    fail("target@x.co", 3, "::ffff:203.0.113.9");
    expect(wait("target@x.co", "203.0.113.9")).toBe(WINDOW_MS / 1000);
    expect(wait("target@x.co", "::ffff:cb00:7109")).toBe(WINDOW_MS / 1000);
    for (const neighbour of ["203.0.113.10", "::ffff:203.0.113.10", "203.0.113.8"]) expect(wait("target@x.co", neighbour)).toBe(0);
  });

  test("the prefix length is a setting: /48 groups more, /128 counts each address", () => {
    const wide = throttle(3, 100, 1_000, 48);
    wide.fail("target@x.co", 3, "2001:db8:77:1::1");
    expect(wide.wait("target@x.co", "2001:db8:77:ff00::1")).toBe(WINDOW_MS / 1000);
    expect(wide.wait("target@x.co", "2001:db8:78::1")).toBe(0);
    const each = throttle(3, 100, 1_000, 128);
    each.fail("target@x.co", 3, in64(1));
    expect(each.wait("target@x.co", in64(1))).toBe(WINDOW_MS / 1000);
    expect(each.wait("target@x.co", in64(2))).toBe(0);
  });

  test("clientNetwork: the network in its one spelling; IPv4 and non-addresses as they are", () => {
    expect(clientNetwork("2001:DB8:77:1:ffff:1:2:3", 64)).toBe("2001:db8:77:1::/64");
    expect(clientNetwork("2001:db8:77:1::e", 56)).toBe("2001:db8:77::/56");
    expect(clientNetwork("2001:db8:77:ff:1::", 57)).toBe("2001:db8:77:80::/57");
    expect(clientNetwork("2001:db8:77:1::e", 128)).toBe("2001:db8:77:1::e");
    expect(clientNetwork("fe80::1%eth0", 64)).toBe("fe80::/64");
    expect(clientNetwork("::ffff:203.0.113.9", 64)).toBe("203.0.113.9");
    expect(clientNetwork("203.0.113.9", 64)).toBe("203.0.113.9");
    expect(clientNetwork("unknown", 64)).toBe("unknown");
  });

  test("behind TRUSTED_PROXY, a last X-Forwarded-For entry that is no IP address is no client: the socket's address stands", () => {
    const proxy = "127.0.0.1";
    const from = (forwarded: string | undefined, socket = proxy) => {
      const headers = forwarded === undefined ? undefined : { "x-forwarded-for": forwarded };
      const server = { requestIP: () => ({ address: socket, family: "IPv4", port: 1 }) } as unknown as Parameters<typeof clientAddress>[1];
      return clientAddress(new Request("http://localhost/auth/login", { headers }), server, proxy);
    };
    expect(from("203.0.113.9")).toBe("203.0.113.9");
    expect(from("198.51.100.1, ::FFFF:203.0.113.9")).toBe("203.0.113.9");
    expect(from("[2001:db8::1]")).toBe("2001:db8::1");
    for (const junk of ["not-an-ip", "unknown", "<script>alert(1)</script>", "203.0.113.9:4711", "203.0.113.9, evil", "", "999.1.1.1"]) {
      expect({ junk, address: from(junk) }).toEqual({ junk, address: proxy });
    }
    expect(from(undefined)).toBe(proxy);
    // From any other socket the header is not read at all.
    expect(from("203.0.113.9", "198.51.100.7")).toBe("198.51.100.7");
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

describe("refusals are counted by what an attacker cannot invent: the account and the address (in-process)", () => {
  const rowsOf = (ctx: ReturnType<typeof createTestApp>, type: string) =>
    ctx.db.$client
      .query("SELECT user_id, email, reason, count FROM audit_events WHERE type = ? ORDER BY id")
      .all(type) as Array<{ user_id: number | null; email: string | null; reason: string; count: number }>;

  test("2 000 refused sign-ins from one address, each typing another email, are one row; a real account's refusals keep their own", async () => {
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "3", LOGIN_MAX_FAILURES_PER_ADDRESS: "3" } });
    const admin = await seedUser(ctx.db, { role: "admin" });
    const token = await signIn(ctx.request, admin);
    const victim = await seedUser(ctx.db, { email: "victim@flood.test" });
    const login = (email: string, password = "wrong-password-1") => ctx.request("POST", "/auth/login", { body: { email, password } });
    // Three failures on unknown emails reach the address's limit: from here every sign-in is refused.
    for (const ghost of ["ghost-1@flood.test", "ghost-2@flood.test", "ghost-3@flood.test"]) expect((await login(ghost)).status).toBe(401);
    const before = rowsOf(ctx, "login.failed");
    expect(before.map((r) => r.reason)).toEqual(["unknown_email", "unknown_email", "unknown_email"]);

    // A new well-formed email each time, and now and then something that is no address at all.
    const typed = Array.from({ length: 2_000 }, (_, i) => (i % 10 === 9 ? `Typed-Secret-${i}` : `${crypto.randomUUID()}@flood${i}.test`));
    const statuses = new Set<number>();
    for (let i = 0; i < typed.length; i += 200) {
      for (const answer of await Promise.all(typed.slice(i, i + 200).map((email) => login(email)))) statuses.add(answer.status);
    }
    expect([...statuses]).toEqual([429]);
    // The account attacked from the same address: its own row, even with the right password.
    for (let i = 0; i < 7; i++) expect((await login(victim.email, victim.password)).status).toBe(429);

    expect(rowsOf(ctx, "login.failed").slice(before.length)).toEqual([
      { user_id: null, email: "(no such account)", reason: "throttled", count: 2_000 },
      { user_id: victim.id, email: victim.email, reason: "throttled", count: 7 },
    ]);
    // No typed email stands for the flood, and none reaches the trail or its reader.
    const trail = JSON.stringify(ctx.db.$client.query("SELECT * FROM audit_events").all());
    const listed = await ctx.request("GET", "/admin/audit?type=login.failed&limit=10", { token });
    expect(listed.status).toBe(200);
    for (const email of [typed[0]!, typed[9]!, typed[1_999]!]) {
      expect(trail).not.toContain(email);
      expect(listed.text).not.toContain(email);
    }
    expect(listed.json.slice(0, 2).map((e: Record<string, unknown>) => [e.user_id, e.email, e.count])).toEqual([
      [victim.id, victim.email, 7],
      [null, "(no such account)", 2_000],
    ]);
  }, 60_000);

  test("throttled password changes from one address for two accounts: one row each, under its account", async () => {
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "2" } });
    const first = await seedUser(ctx.db);
    const second = await seedUser(ctx.db);
    const tokens = new Map([
      [first.id, await signIn(ctx.request, first)],
      [second.id, await signIn(ctx.request, second)],
    ]);
    const change = (id: number) =>
      ctx.request("PUT", "/auth/password", {
        token: tokens.get(id),
        body: { current_password: "not-the-password", new_password: "a-new-password-2026" },
      });
    const statuses: Record<number, number[]> = { [first.id]: [], [second.id]: [] };
    // Interleaved, from the one address the in-process requests share: 2 × 403 each, then 429.
    for (const id of [first.id, second.id, first.id, second.id, first.id, second.id, second.id, first.id, second.id, second.id]) {
      statuses[id]!.push((await change(id)).status);
    }
    expect(statuses).toEqual({ [first.id]: [403, 403, 429, 429], [second.id]: [403, 403, 429, 429, 429, 429] });
    expect(rowsOf(ctx, "password.change_failed").filter((r) => r.reason === "throttled")).toEqual([
      { user_id: first.id, email: null, reason: "throttled", count: 2 },
      { user_id: second.id, email: null, reason: "throttled", count: 4 },
    ]);
  }, 30_000);
});

describe("PUT /auth/password and sign-in count on one (email, address) pair (in-process; LOGIN_MAX_FAILURES=3, the other limits out of reach)", () => {
  const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "3", LOGIN_MAX_FAILURES_PER_ADDRESS: "1000", LOGIN_MAX_FAILURES_PER_ACCOUNT: "1000" } });
  const login = (email: string, password: string) => ctx.request("POST", "/auth/login", { body: { email, password } });
  const change = (token: string, current: string) =>
    ctx.request("PUT", "/auth/password", { token, body: { current_password: current, new_password: "Shared-Pair-New-2026" } });

  test("wrong sign-ins, then a wrong current password: the pair is full, sign-in and the change both 429", async () => {
    const user = await seedUser(ctx.db, { email: "pair-signin-first@throttle.test", password: "pair-password-1" });
    const token = await signIn(ctx.request, user);
    for (let i = 0; i < 2; i++) expect((await login(user.email, `wrong-sign-in-${i}`)).status).toBe(401);
    expect((await change(token, "wrong-current-0")).status).toBe(403);
    // Only the pair's limit (3) can refuse here: were the change counted under another key, sign-in would be 200.
    expect((await login(user.email, user.password)).status).toBe(429);
    const refused = await change(token, user.password);
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ detail: "Too many wrong passwords; try again later" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  }, 30_000);

  test("wrong current passwords, then a wrong sign-in: the pair is full, the change and sign-in both 429", async () => {
    const user = await seedUser(ctx.db, { email: "pair-change-first@throttle.test", password: "pair-password-2" });
    const token = await signIn(ctx.request, user);
    for (let i = 0; i < 2; i++) expect((await change(token, `wrong-current-${i}`)).status).toBe(403);
    expect((await login(user.email, "wrong-sign-in-0")).status).toBe(401);
    expect((await change(token, user.password)).status).toBe(429);
    expect((await login(user.email, user.password)).status).toBe(429);
  }, 30_000);
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

  test("busy refusals typing a new email each are one row, under no account's email", async () => {
    const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "1000" } });
    hashingGate.configure(1, 0);
    const typed = Array.from({ length: 5 }, (_, i) => `busy-${i}-${crypto.randomUUID()}@throttle.test`);
    const answers = await Promise.all(typed.map((email) => ctx.request("POST", "/auth/login", { body: { email, password: "wrong-password" } })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([401, 503, 503, 503, 503]);
    const rows = ctx.db.$client
      .query("SELECT user_id, email, reason, count FROM audit_events WHERE type = 'login.failed' AND reason = 'busy'")
      .all();
    expect(rows).toEqual([{ user_id: null, email: "(no such account)", reason: "busy", count: 4 }]);
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
    // Like the early refusal: one counted "busy" row for the account, one for emails of no account, and the
    // throttle was given its places back.
    const rows = ctx.db.$client
      .query("SELECT user_id, email, reason, count FROM audit_events WHERE type = 'login.failed' ORDER BY id")
      .all();
    expect(rows).toEqual([
      { user_id: user.id, email: user.email, reason: "busy", count: 1 },
      { user_id: null, email: "(no such account)", reason: "busy", count: 1 },
    ]);
    const next = await ctx.request("POST", "/auth/login", { body: { email: user.email, password: "wrong-password-1" } });
    expect(next.status).toBe(401);
  }, 30_000);
});
