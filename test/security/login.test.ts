// Login abuse against the compiled binary: per-account and per-address throttling, X-Forwarded-For only from
// TRUSTED_PROXY, indistinguishable unknown-email and wrong-password answers, and password size limits.
// Every failed login costs an argon2 verification (~¼ s here), so the cases reuse accounts and tokens.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readExistingDb } from "../support/processes.ts";
import { ADMIN, createSuite, expect401, expectDetail, fixturePassword, type Instance, type Res } from "./harness.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const suite = createSuite();

/** Default limits (5 per account and address pair, 30 per address, 15 minutes). */
let main: Instance;
/** LOGIN_MAX_FAILURES=3, LOGIN_MAX_FAILURES_PER_ADDRESS=6, the default 15-minute window; X-Forwarded-For not trusted. */
let small: Instance;
/** TRUSTED_PROXY=127.0.0.1: X-Forwarded-For's last entry is the client, so each test can be a client of its own. */
let proxied: Instance;
/** LOGIN_MAX_FAILURES=1 with a window of WINDOW_SECONDS: the only instance whose locks run out during the run. */
let windowed: Instance;
/** The same proxy named in another spelling of its address (an IPv4 address as a dual-stack socket shows it). */
let respelled: Instance;
/** TRUSTED_PROXY=127.0.0.1, LOGIN_MAX_FAILURES_PER_ADDRESS=10, the default LOGIN_IPV6_PREFIX (64): issue 19's attack. */
let ipv6: Instance;
/** TRUSTED_PROXY=127.0.0.1 with LOGIN_IPV6_PREFIX=48: a site's whole /48 is one client. */
let ipv6Wide: Instance;

/**
 * The windowed instance's window. Only its expiry is waited for; every lock the other tests rely on lasts the
 * default 15 minutes, so no verdict depends on how fast the machine hashes.
 */
const WINDOW_SECONDS = 3;
const WRONG = suite.secret("sec-suite-not-the-password-41");

async function createAgent(server: Instance, email: string): Promise<string> {
  const password = suite.secret(fixturePassword("agent"));
  const created = await server.request("POST", "/admin/users", {
    token: server.adminToken(),
    json: { name: "Agent", email, password },
  });
  if (created.status !== 201) throw new Error(`create ${email}: ${created.status} ${created.text}`);
  return password;
}

function expectTooMany(response: Res): void {
  expectDetail(response, 429, "Too many login attempts");
  expect(response.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
}

function expectWrong(response: Res): void {
  expect401(response, "Invalid email or password");
}

beforeAll(async () => {
  [main, small, proxied, windowed, respelled, ipv6, ipv6Wide] = await Promise.all([
    suite.start("login-main"),
    suite.start("login-small", { env: { LOGIN_MAX_FAILURES: "3", LOGIN_MAX_FAILURES_PER_ADDRESS: "6" } }),
    suite.start("login-proxied", {
      env: { TRUSTED_PROXY: "127.0.0.1", LOGIN_MAX_FAILURES: "3", LOGIN_MAX_FAILURES_PER_ADDRESS: "5" },
    }),
    suite.start("login-window", { env: { LOGIN_MAX_FAILURES: "1", LOGIN_WINDOW_SECONDS: String(WINDOW_SECONDS) } }),
    suite.start("login-respelled", {
      env: { TRUSTED_PROXY: "::ffff:7f00:1", LOGIN_MAX_FAILURES: "3", LOGIN_MAX_FAILURES_PER_ADDRESS: "5" },
    }),
    suite.start("login-ipv6", { env: { TRUSTED_PROXY: "127.0.0.1", LOGIN_MAX_FAILURES_PER_ADDRESS: "10" } }),
    suite.start("login-ipv6-wide", { env: { TRUSTED_PROXY: "127.0.0.1", LOGIN_IPV6_PREFIX: "48" } }),
  ]);
}, 60_000);

describe("default limits", () => {
  const agent = "agent@sec.example.com";
  let agentPassword = "";

  test("empty and over-1024-character passwords are 422 and never count as failures", async () => {
    agentPassword = await createAgent(main, agent);
    const long = suite.secret("L".repeat(1025));
    for (let i = 0; i < 3; i++) {
      expectDetail(await main.login(agent, ""), 422);
      expectDetail(await main.login(agent, long), 422);
    }
    // Six refusals, none counted (5 failures would lock the pair): the right password still signs in.
    expect((await main.login(agent, agentPassword)).status).toBe(200);
  });

  test("5 failures for one email → the 6th gets 429 with a numeric Retry-After, even with the right password", async () => {
    // Sent at once: each is checked against the throttle on arrival (none locked yet), so all five are hashed.
    for (const response of await Promise.all([0, 1, 2, 3, 4].map(() => main.login(agent, WRONG)))) expectWrong(response);
    expectTooMany(await main.login(agent, agentPassword));
    expectTooMany(await main.login(` ${agent.toUpperCase()} `, agentPassword)); // the same account, spelled differently
    // Another account from the same address is not locked by it.
    expect((await main.login(ADMIN.email, ADMIN.password)).status).toBe(200);
  });

  test("unknown email and wrong password get the same status, body and header names", async () => {
    const unknown = await main.login("nobody-here@sec.example.com", WRONG);
    const wrong = await main.login(ADMIN.email, WRONG);
    expectWrong(unknown);
    expectWrong(wrong);
    expect(unknown.text).toBe(wrong.text);
    const names = (response: Res) => [...response.headers.keys()].sort();
    expect(names(unknown)).toEqual(names(wrong));
    expect(unknown.headers.get("content-length")).toBe(wrong.headers.get("content-length"));
  });

  test("a 100 KB password is 413, and is not echoed", async () => {
    const huge = suite.secret("P".repeat(100 * 1024));
    const response = await main.login(ADMIN.email, huge);
    expectDetail(response, 413);
    expect(response.text).not.toContain("PPPP");
  });

  test("a missing, numeric or null password is 422, no token", async () => {
    for (const body of [{ email: ADMIN.email }, { email: ADMIN.email, password: 12345678 }, { email: ADMIN.email, password: null }]) {
      const response = await main.request("POST", "/auth/login", { json: body });
      expectDetail(response, 422);
      expect(response.text).not.toContain("access_token");
    }
  });
});

describe("LOGIN_MAX_FAILURES=3, LOGIN_MAX_FAILURES_PER_ADDRESS=6 (15-minute window)", () => {
  // The first admin is the victim here: its tokens are forged with the key, so the lockout costs nothing.
  test("3 failures lock the pair (the right password gets 429), and X-Forwarded-For from an untrusted socket does not escape it", async () => {
    // Sent at once: each is checked against the throttle on arrival (none locked yet), so all three are hashed.
    for (const response of await Promise.all([0, 1, 2].map(() => small.login(ADMIN.email, WRONG)))) expectWrong(response);
    expectTooMany(await small.login(ADMIN.email, ADMIN.password));
    for (const xff of ["203.0.113.7", "198.51.100.2, 203.0.113.9", "127.0.0.2", "::1"]) {
      expectTooMany(await small.login(ADMIN.email, ADMIN.password, { "x-forwarded-for": xff }));
    }
    expectTooMany(
      await small.login(ADMIN.email, ADMIN.password, { forwarded: "for=203.0.113.7", "x-real-ip": "203.0.113.7" }),
    );
  });

  test("6 failures across emails lock the address: a never-tried email gets 429, spoofed X-Forwarded-For or not", async () => {
    // Six new emails, one failure each (no pair reaches 3); the address's count reaches 6 whatever came before.
    for (let i = 0; i < 6; i++) {
      const response = await small.login(`spray-${i}@sec.example.com`, WRONG);
      expect([401, 429]).toContain(response.status);
    }
    expectTooMany(await small.login("never-tried@sec.example.com", WRONG));
    // Spoofing X-Forwarded-For does not make a new address either.
    expectTooMany(await small.login("never-tried-either@sec.example.com", WRONG, { "x-forwarded-for": "203.0.113.8" }));
  });
});

describe("TRUSTED_PROXY=127.0.0.1: the last X-Forwarded-For entry is the client (LOGIN_MAX_FAILURES=3, per address 5)", () => {
  const from = (client: string) => ({ "x-forwarded-for": client });

  test("failures from one forwarded client lock that client, judged by the last entry", async () => {
    const failures = await Promise.all([0, 1, 2].map(() => proxied.login(ADMIN.email, WRONG, from("10.1.1.1"))));
    for (const response of failures) expectWrong(response);
    expectTooMany(await proxied.login(ADMIN.email, ADMIN.password, from("10.1.1.1")));
    // A client cannot prepend its way out: the proxy appends the real address last.
    expectTooMany(await proxied.login(ADMIN.email, ADMIN.password, from("10.9.9.9, 10.1.1.1")));
  });

  test("a different forwarded client is a different client (and the first stays locked)", async () => {
    expect((await proxied.login(ADMIN.email, ADMIN.password, from("10.1.1.1, 10.1.1.2"))).status).toBe(200);
    expectTooMany(await proxied.login(ADMIN.email, ADMIN.password, from("10.1.1.1")));
  });

  test("a success resets the pair's count", async () => {
    const client = from("10.2.2.2");
    expectWrong(await proxied.login(ADMIN.email, WRONG, client));
    expect((await proxied.login(ADMIN.email, ADMIN.password, client)).status).toBe(200);
    // Without the reset these would make 3 failures in the window and lock the pair.
    for (let i = 0; i < 2; i++) expectWrong(await proxied.login(ADMIN.email, WRONG, client));
    expect((await proxied.login(ADMIN.email, ADMIN.password, client)).status).toBe(200);
  });

  test("a success does not clear the address's count: one good account does not launder spraying", async () => {
    const client = from("10.3.3.3");
    for (let i = 0; i < 4; i++) expectWrong(await proxied.login(`launder-${i}@sec.example.com`, WRONG, client));
    expect((await proxied.login(ADMIN.email, ADMIN.password, client)).status).toBe(200);
    // The fifth failure from this address reaches the per-address limit, success or not in between.
    expectWrong(await proxied.login("launder-4@sec.example.com", WRONG, client));
    expectTooMany(await proxied.login("launder-never-tried@sec.example.com", WRONG, client));
    // Other clients are not affected.
    expectWrong(await proxied.login("launder-never-tried@sec.example.com", WRONG, from("10.3.3.4")));
  });

  test("2 000 refused sign-ins from one locked client, a new email each, write one audit row; the admin's keep their own", async () => {
    const client = from("10.4.4.4");
    for (let i = 0; i < 5; i++) expectWrong(await proxied.login(`flood-before-${i}@sec.example.com`, WRONG, client));
    const rowsFrom = () =>
      readExistingDb(proxied.dbPath, (db) =>
        db.query("SELECT type, reason, user_id, email, count FROM audit_events WHERE ip = '10.4.4.4' ORDER BY id").all(),
      ) as Array<Record<string, unknown>>;
    expect(rowsFrom().map((r) => r.reason)).toEqual(Array(5).fill("unknown_email"));
    const typed = Array.from({ length: 2_000 }, (_, i) => `${crypto.randomUUID()}@flood-${i}.example.com`);
    const statuses = new Set<number>();
    for (let i = 0; i < typed.length; i += 200) {
      for (const answer of await Promise.all(typed.slice(i, i + 200).map((email) => proxied.login(email, WRONG, client)))) statuses.add(answer.status);
    }
    expect([...statuses]).toEqual([429]);
    for (let i = 0; i < 3; i++) expectTooMany(await proxied.login(ADMIN.email, ADMIN.password, client));
    const rows = rowsFrom();
    const adminId = readExistingDb(proxied.dbPath, (db) => db.query("SELECT id FROM users WHERE email = ?").get(ADMIN.email) as { id: number }).id;
    expect(rows.slice(5)).toEqual([
      { type: "login.failed", reason: "throttled", user_id: null, email: "(no such account)", count: 2_000 },
      { type: "login.failed", reason: "throttled", user_id: adminId, email: ADMIN.email, count: 3 },
    ]);
    const trail = JSON.stringify(rows);
    for (const email of [typed[0]!, typed[1_999]!]) expect(trail).not.toContain(email);
  }, 60_000);
});

describe("TRUSTED_PROXY=::ffff:7f00:1 (127.0.0.1 spelled as a dual-stack socket shows it): the same proxy", () => {
  const from = (client: string) => ({ "x-forwarded-for": client });

  test("the proxy is recognised, so forwarded clients are told apart; one client in two spellings is one client", async () => {
    for (let i = 0; i < 3; i++) expectWrong(await respelled.login(ADMIN.email, WRONG, from("10.4.4.4")));
    expectTooMany(await respelled.login(ADMIN.email, ADMIN.password, from("10.4.4.4")));
    // The same client as its IPv4-mapped IPv6 spelling: still locked.
    expectTooMany(await respelled.login(ADMIN.email, ADMIN.password, from("::ffff:10.4.4.4")));
    // Another client behind the proxy is not (were the proxy not recognised, every client would be 127.0.0.1).
    expect((await respelled.login(ADMIN.email, ADMIN.password, from("10.4.4.5"))).status).toBe(200);
  });
});

describe("one client is one client in IPv6: counted by its /64 (TRUSTED_PROXY=127.0.0.1, LOGIN_MAX_FAILURES_PER_ADDRESS=10)", () => {
  const from = (client: string) => ({ "x-forwarded-for": client });
  const in64 = (last: number) => `2001:db8:77:1::${last.toString(16)}`;
  const auditFrom = (server: Instance, where: string) =>
    readExistingDb(server.dbPath, (db) =>
      db.query(`SELECT type, reason, user_id, email, ip, count FROM audit_events WHERE ${where} ORDER BY id`).all(),
    ) as Array<Record<string, unknown>>;

  test("14 emails from 2001:db8:77:1::1…::e: 10 are checked (401), the other 4 refused before any hashing (429); another /64 is not affected", async () => {
    const answers: Res[] = [];
    for (let i = 1; i <= 14; i++) answers.push(await ipv6.login(`spray-${i}@v6.example.com`, WRONG, from(in64(i))));
    for (const answer of answers.slice(0, 10)) expectWrong(answer);
    for (const answer of answers.slice(10)) expectTooMany(answer);
    // Anywhere in that /64, in any spelling, even the admin with the right password: refused.
    for (const address of ["2001:db8:77:1:ffff:ffff:ffff:ffff", "2001:DB8:77:1:0:0:0:1"]) {
      expectTooMany(await ipv6.login(ADMIN.email, ADMIN.password, from(address)));
    }
    // The next /64 and the previous one are other clients.
    expectWrong(await ipv6.login("spray-15@v6.example.com", WRONG, from("2001:db8:77:2::1")));
    expect((await ipv6.login(ADMIN.email, ADMIN.password, from("2001:db8:77:0:ffff::1"))).status).toBe(200);
    // Each checked attempt is its own row, under the full address it came from.
    expect(auditFrom(ipv6, "reason = 'unknown_email' AND ip LIKE '2001:db8:77:1:%'").map((row) => row.ip)).toEqual(
      Array.from({ length: 10 }, (_, i) => in64(i + 1)),
    );
  });

  test("1 000 refused sign-ins from 1 000 addresses of that /64 are one counted row, under the /64", async () => {
    const addresses = Array.from({ length: 1_000 }, (_, i) => `2001:db8:77:1:${(i + 1).toString(16)}:${((i * 7919) % 0x10000).toString(16)}::${i.toString(16)}`);
    expect(new Set(addresses).size).toBe(1_000);
    const statuses = new Set<number>();
    for (let i = 0; i < addresses.length; i += 100) {
      const batch = addresses.slice(i, i + 100).map((address, j) => ipv6.login(`rotate-${i + j}@v6.example.com`, WRONG, from(address)));
      for (const answer of await Promise.all(batch)) statuses.add(answer.status);
    }
    expect([...statuses]).toEqual([429]);
    // The 4 refusals of the test above, the admin's 2 under its own row, then these 1 000.
    const adminId = readExistingDb(ipv6.dbPath, (db) => (db.query("SELECT id FROM users WHERE email = ?").get(ADMIN.email) as { id: number }).id);
    expect(auditFrom(ipv6, "reason = 'throttled'")).toEqual([
      { type: "login.failed", reason: "throttled", user_id: null, email: "(no such account)", ip: "2001:db8:77:1::/64", count: 1_004 },
      { type: "login.failed", reason: "throttled", user_id: adminId, email: ADMIN.email, ip: "2001:db8:77:1::/64", count: 2 },
    ]);
    const trail = JSON.stringify(auditFrom(ipv6, "1 = 1"));
    expect(trail).not.toContain(addresses[500]!);
  }, 60_000);

  test("an IPv4-mapped address is its IPv4 address: one client in both spellings, and its IPv4 neighbours are others", async () => {
    for (let i = 0; i < 5; i++) expectWrong(await ipv6.login(ADMIN.email, WRONG, from("::ffff:203.0.113.9")));
    expectTooMany(await ipv6.login(ADMIN.email, ADMIN.password, from("203.0.113.9")));
    expectTooMany(await ipv6.login(ADMIN.email, ADMIN.password, from("::ffff:203.0.113.9")));
    expect((await ipv6.login(ADMIN.email, ADMIN.password, from("203.0.113.10"))).status).toBe(200);
    expect((await ipv6.login(ADMIN.email, ADMIN.password, from("::ffff:203.0.113.8"))).status).toBe(200);
    expect(auditFrom(ipv6, "reason = 'wrong_password' AND ip LIKE '%203.0.113.9'").map((row) => row.ip)).toEqual(Array(5).fill("203.0.113.9"));
  });

  test("a last X-Forwarded-For entry that is no IP address names no client: the proxy's own address is recorded and counted", async () => {
    const junk = ["not-an-ip", "unknown", "<script>alert(1)</script>", "203.0.113.77:4711", "203.0.113.77, evil-host"];
    for (const [i, entry] of junk.entries()) expectWrong(await ipv6.login(`junk-${i}@v6.example.com`, WRONG, from(entry)));
    const rows = auditFrom(ipv6, "email LIKE 'junk-%'");
    expect(rows.map((row) => row.ip)).toEqual(Array(junk.length).fill("127.0.0.1"));
    expect(JSON.stringify(auditFrom(ipv6, "1 = 1"))).not.toMatch(/not-an-ip|script|evil-host|4711|203\.0\.113\.77/);
    // A bracketed IPv6 address is an address.
    expectWrong(await ipv6.login("junk-bracketed@v6.example.com", WRONG, from("[2001:db8:99::1]")));
    expect(auditFrom(ipv6, "email = 'junk-bracketed@v6.example.com'").map((row) => row.ip)).toEqual(["2001:db8:99::1"]);
  });

  test("LOGIN_IPV6_PREFIX=48: another /64 of the same /48 is the same client; the next /48 is not", async () => {
    for (let i = 0; i < 5; i++) expectWrong(await ipv6Wide.login(ADMIN.email, WRONG, from(`2001:db8:aa:${i + 1}::1`)));
    expectTooMany(await ipv6Wide.login(ADMIN.email, ADMIN.password, from("2001:db8:aa:ffff::1")));
    expect((await ipv6Wide.login(ADMIN.email, ADMIN.password, from("2001:db8:ab::1"))).status).toBe(200);
    expect(auditFrom(ipv6Wide, "reason = 'throttled'").map((row) => [row.ip, row.count])).toEqual([["2001:db8:aa::/48", 1]]);
  });
});

describe(`LOGIN_MAX_FAILURES=1, LOGIN_WINDOW_SECONDS=${WINDOW_SECONDS}`, () => {
  test("a lock lasts the window and no longer: Retry-After within it, then the right password works again", async () => {
    expectWrong(await windowed.login(ADMIN.email, WRONG));
    // The failure was counted before its answer was sent, so the lock holds now, for at most the window.
    const locked = await windowed.login(ADMIN.email, ADMIN.password);
    expectTooMany(locked);
    expect(Number(locked.headers.get("retry-after"))).toBeLessThanOrEqual(WINDOW_SECONDS);
    // Bounded polling with the right password: while locked it is refused before any hashing and not counted.
    // The bound is the window plus a margin for a loaded machine; the verdict does not depend on it.
    const deadline = Date.now() + WINDOW_SECONDS * 1000 + 30_000;
    let response = locked;
    while (response.status === 429 && Date.now() < deadline) {
      await Bun.sleep(150);
      response = await windowed.login(ADMIN.email, ADMIN.password);
    }
    expect(response.status).toBe(200);
    expect(typeof response.json.access_token).toBe("string");
  }, 60_000);
});

suite.sweep();
