// The "Accounts" API: /admin/users under the admin guard, the last-admin rule, own password and logout.
// In-process through app.handle, on a real SQLite file built by the shipped migrations; nothing mocked.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { eq } from "drizzle-orm";
import { ACCOUNT_OPERATIONS_MAX, hashingGate } from "../src/passwords/hashing.ts";
import { users, type User } from "../src/db/schema.ts";
import { AdminLockoutError } from "../src/accounts/errors.ts";
import { setActive, updateUser } from "../src/accounts/service.ts";
import { refreshSearchKeys, searchFold } from "../src/accounts/search.ts";
import {
  createTestApp,
  expectNoLeak,
  PWDLIB_HASH,
  seedUser,
  sessionToken,
  signIn,
  type Requester,
  type RequestOptions,
  type SeededUser,
  type TestContext,
  type TestResponse,
} from "./helpers.ts";
import { waitUntil } from "./support/processes.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const PUBLIC_KEYS = ["created_at", "email", "id", "is_active", "last_login_at", "name", "role"];
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Every response any test here receives is checked for leaks (hashes, traces, SQL), plus the given secrets. */
function leakChecked(ctx: TestContext, secrets: string[] = []): Requester {
  return async (method: string, path: string, options?: RequestOptions): Promise<TestResponse> => {
    const response = await ctx.request(method, path, options);
    expectNoLeak(response.text, secrets);
    return response;
  };
}

function rowOf(ctx: TestContext, id: number): User | undefined {
  return ctx.db.select().from(users).where(eq(users.id, id)).get();
}

/** The public shape, exactly: these six keys and nothing else. */
function expectPublicUser(body: unknown, expected: Partial<Record<string, unknown>> = {}): void {
  expect(body).toBeObject();
  expect(Object.keys(body as object).sort()).toEqual(PUBLIC_KEYS);
  const user = body as Record<string, unknown>;
  expect(user.id).toBeInteger();
  expect(user.created_at).toMatch(ISO_UTC);
  expect(["admin", "agent"]).toContain(user.role as string);
  expect(user.is_active).toBeBoolean();
  expect(user).toMatchObject(expected);
}

function expectDetail(response: TestResponse, status: number, detail?: string | RegExp): void {
  expect({ status: response.status, text: response.text }).toMatchObject({ status });
  expect(Object.keys(response.json ?? {})).toEqual(["detail"]);
  expect(response.json.detail).toBeString();
  if (typeof detail === "string") expect(response.json.detail).toBe(detail);
  else if (detail) expect(response.json.detail).toMatch(detail);
}

function expectEmpty204(response: TestResponse): void {
  expect(response.status).toBe(204);
  expect(response.text).toBe("");
}

// ---------------------------------------------------------------------------------------------------------
// The guards on every admin route.

describe("admin routes: guards", () => {
  const ctx = createTestApp();
  const request = leakChecked(ctx);
  let admin: SeededUser;
  let agent: SeededUser;
  let agentToken: string;
  let adminToken: string;

  beforeAll(async () => {
    admin = await seedUser(ctx.db, { role: "admin" });
    agent = await seedUser(ctx.db, { role: "agent" });
    [adminToken, agentToken] = await Promise.all([signIn(ctx.request, admin), signIn(ctx.request, agent)]);
  });

  // [method, path, a valid body, an invalid body]
  const routes = (): Array<[string, string, unknown, unknown]> => [
    ["GET", "/admin/users", undefined, undefined],
    ["GET", "/admin/users?limit=0", undefined, undefined],
    ["POST", "/admin/users", { name: "N", email: "n@guard.test", password: "password-ok-1" }, { email: "nope", password: "x" }],
    ["GET", `/admin/users/${admin.id}`, undefined, undefined],
    ["GET", "/admin/users/abc", undefined, undefined],
    ["PATCH", `/admin/users/${admin.id}`, { role: "agent" }, {}],
    ["PATCH", `/admin/users/${admin.id}/deactivate`, undefined, undefined],
    ["PATCH", `/admin/users/${admin.id}/activate`, undefined, undefined],
    ["PUT", `/admin/users/${admin.id}/password`, { password: "new-password-9" }, { password: "x" }],
    ["PATCH", "/admin/users/0/deactivate", undefined, undefined],
  ];

  test("anonymous → 401 Not authenticated with a Bearer challenge, whatever the body", async () => {
    for (const [method, path, valid, invalid] of routes()) {
      for (const body of [valid, invalid]) {
        const response = await request(method, path, { body });
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
        expectDetail(response, 401, "Not authenticated");
        expect(response.headers.get("www-authenticate")).toBe("Bearer");
      }
    }
  });

  test("an agent's valid token → 403 Admin access required, even with an invalid body or id (403, not 422)", async () => {
    for (const [method, path, valid, invalid] of routes()) {
      for (const body of [valid, invalid]) {
        const response = await request(method, path, { body, token: agentToken });
        expect({ method, path, body, status: response.status }).toEqual({ method, path, body, status: 403 });
        expectDetail(response, 403, "Admin access required");
      }
    }
    // Nothing the agent sent had an effect.
    expect(rowOf(ctx, admin.id)).toMatchObject({ role: "admin", isActive: true, tokenVersion: 0 });
    expect(ctx.db.select().from(users).all()).toHaveLength(2);
  });

  test("a garbage token → 401 Invalid or expired token", async () => {
    const response = await request("GET", "/admin/users", { token: `${adminToken}x` });
    expectDetail(response, 401, "Invalid or expired token");
  });

  test("the same requests with the admin's token are admitted (the guard is not refusing everyone)", async () => {
    const list = await request("GET", "/admin/users", { token: adminToken });
    expect(list.status).toBe(200);
    const one = await request("GET", `/admin/users/${agent.id}`, { token: adminToken });
    expect(one.status).toBe(200);
    expectPublicUser(one.json, { id: agent.id, email: agent.email, role: "agent" });
  });

  test("there is no DELETE: 404 or 405 for admin and anonymous alike, and the row is still there", async () => {
    for (const token of [adminToken, undefined]) {
      const response = await request("DELETE", `/admin/users/${agent.id}`, { token });
      expect([404, 405]).toContain(response.status);
      expect(response.json).toEqual({ detail: expect.any(String) });
    }
    expect(rowOf(ctx, agent.id)).toMatchObject({ id: agent.id, isActive: true });
    const after = await request("GET", `/admin/users/${agent.id}`, { token: adminToken });
    expect(after.status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------------
// GET /admin/users: order, filters, paging, X-Total-Count. Rows are inserted directly (no hashing cost).

describe("GET /admin/users", () => {
  const ctx = createTestApp();
  const request = leakChecked(ctx);
  let adminToken: string;
  let admin: SeededUser;
  /** Every row in the database, as [id, name, email, role, is_active, created_at]. */
  let all: User[] = [];

  const inserted: Array<Pick<User, "name" | "email" | "role" | "isActive" | "createdAt">> = [
    { name: "Zed Last", email: "zed@list.test", role: "agent", isActive: true, createdAt: "2021-03-01T00:00:00.000Z" },
    // The next two share created_at: the smaller id comes first.
    { name: "Tie Two", email: "smithers@list.test", role: "admin", isActive: true, createdAt: "2020-01-01T00:00:00.000Z" },
    { name: "Jane SMITH", email: "jane@list.test", role: "agent", isActive: false, createdAt: "2020-01-01T00:00:00.000Z" },
    { name: "Old Timer", email: "old@list.test", role: "agent", isActive: true, createdAt: "2019-06-01T00:00:00.000Z" },
    { name: "Percent 100% off", email: "pct@list.test", role: "agent", isActive: true, createdAt: "2020-06-01T00:00:00.000Z" },
    { name: "Under_score", email: "under_score@list.test", role: "admin", isActive: false, createdAt: "2020-07-01T00:00:00.000Z" },
    { name: "Zoë Unicode", email: "zoe@list.test", role: "agent", isActive: true, createdAt: "2020-07-01T00:00:00.500Z" },
  ];

  beforeAll(async () => {
    admin = await seedUser(ctx.db, { role: "admin", name: "The Admin", email: "boss@example.org" });
    ctx.db.update(users).set({ createdAt: "2022-01-01T00:00:00.000Z" }).where(eq(users.id, admin.id)).run();
    for (const row of inserted) ctx.db.insert(users).values({ ...row, passwordHash: PWDLIB_HASH }).run();
    all = ctx.db.select().from(users).all();
    adminToken = await signIn(ctx.request, admin);
  });

  /** The expected answer computed from the rows: filter, then oldest first (created_at, then id). */
  function expected(filter: (u: User) => boolean = () => true): number[] {
    return all
      .filter(filter)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id - b.id))
      .map((u) => u.id);
  }

  async function list(query = ""): Promise<{ ids: number[]; total: string | null; response: TestResponse }> {
    const response = await request("GET", `/admin/users${query}`, { token: adminToken });
    expect({ query, status: response.status }).toEqual({ query, status: 200 });
    expect(response.json).toBeArray();
    return { ids: (response.json as Array<{ id: number }>).map((u) => u.id), total: response.headers.get("x-total-count"), response };
  }

  test("no query: every account, oldest first by created_at then id, each in the public shape", async () => {
    const { ids, total, response } = await list();
    expect(all).toHaveLength(inserted.length + 1);
    expect(ids).toEqual(expected());
    // The insertion order differs from the answer's order, so an id-ordered list would fail here.
    expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
    expect(total).toBe(String(all.length));
    for (const user of response.json as unknown[]) expectPublicUser(user);
    const zed = (response.json as Array<Record<string, unknown>>).find((u) => u.email === "zed@list.test");
    expect(zed).toEqual({
      id: expect.any(Number),
      name: "Zed Last",
      email: "zed@list.test",
      role: "agent",
      is_active: true,
      created_at: "2021-03-01T00:00:00.000Z",
      last_login_at: null,
    });
  });

  test("role filter", async () => {
    for (const role of ["admin", "agent"] as const) {
      const { ids, total } = await list(`?role=${role}`);
      const want = expected((u) => u.role === role);
      expect(ids).toEqual(want);
      expect(total).toBe(String(want.length));
    }
  });

  test("is_active filter, alone and with role", async () => {
    for (const active of [true, false]) {
      const { ids, total } = await list(`?is_active=${active}`);
      const want = expected((u) => u.isActive === active);
      expect(want.length).toBeGreaterThan(0);
      expect(ids).toEqual(want);
      expect(total).toBe(String(want.length));
    }
    const { ids } = await list("?is_active=true&role=agent");
    expect(ids).toEqual(expected((u) => u.isActive && u.role === "agent"));
  });

  test("q: case-insensitive substring of name or email", async () => {
    const smith = expected((u) => /smith/i.test(u.name) || /smith/i.test(u.email));
    expect(smith).toHaveLength(2); // one by name (Jane SMITH), one by email (smithers@)
    for (const q of ["smith", "SMITH", "SmItH"]) {
      const { ids, total } = await list(`?q=${q}`);
      expect(ids).toEqual(smith);
      expect(total).toBe("2");
    }
    const { ids: byDomain } = await list("?q=LIST.TEST");
    expect(byDomain).toEqual(expected((u) => u.email.endsWith("@list.test")));
    const { ids: none, total: zero } = await list("?q=no-such-person");
    expect(none).toEqual([]);
    expect(zero).toBe("0");
  });

  test("q: % and _ are literal characters, not wildcards", async () => {
    const { ids: percent } = await list(`?q=${encodeURIComponent("%")}`);
    expect(percent).toEqual(expected((u) => u.name.includes("%") || u.email.includes("%")));
    expect(percent).toHaveLength(1);
    const { ids: underscore } = await list("?q=_");
    expect(underscore).toEqual(expected((u) => u.name.includes("_") || u.email.includes("_")));
    expect(underscore).toHaveLength(1);
  });

  test("q combined with role and is_active", async () => {
    const { ids, total } = await list("?q=list.test&role=admin&is_active=true");
    expect(ids).toEqual(expected((u) => u.email.includes("list.test") && u.role === "admin" && u.isActive));
    expect(total).toBe("1");
  });

  test("limit and offset page the ordered list; X-Total-Count is every match, not the page size", async () => {
    const order = expected();
    const first = await list("?limit=2");
    expect(first.ids).toEqual(order.slice(0, 2));
    expect(first.total).toBe(String(order.length));
    const second = await list("?limit=2&offset=2");
    expect(second.ids).toEqual(order.slice(2, 4));
    expect(second.total).toBe(String(order.length));
    const tail = await list(`?offset=${order.length - 1}`);
    expect(tail.ids).toEqual(order.slice(-1));
    const beyond = await list("?offset=500&limit=1000");
    expect(beyond.ids).toEqual([]);
    expect(beyond.total).toBe(String(order.length));
    const agents = expected((u) => u.role === "agent");
    const agentPage = await list("?role=agent&limit=1&offset=1");
    expect(agentPage.ids).toEqual(agents.slice(1, 2));
    expect(agentPage.total).toBe(String(agents.length));
    const one = await list("?limit=1");
    expect(one.ids).toEqual(order.slice(0, 1));
  });

  const bad: Array<[string, string, string?]> = [
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=-5", "limit"],
    ["limit=abc", "limit", "abc"],
    ["limit=1.5", "limit"],
    ["offset=-1", "offset"],
    ["offset=lots", "offset", "lots"],
    ["is_active=maybe", "is_active", "maybe"],
    ["role=root", "role", "root"],
    ["role=ADMIN", "role", "ADMIN"],
    [`q=${"q".repeat(101)}`, "q", "q".repeat(101)],
  ];
  test("?offset past the largest safe integer → 422 saying the whole range", async () => {
    const response = await request("GET", "/admin/users?offset=9007199254740992", { token: adminToken });
    expect(response.status).toBe(422);
    expect(response.json).toEqual({ detail: "offset must be a whole number from 0 to 9007199254740991" });
  });

  for (const [query, field, value] of bad) {
    test(`?${query.slice(0, 30)} → 422 naming ${field}, without echoing the value`, async () => {
      const response = await request("GET", `/admin/users?${query}`, { token: adminToken });
      expectDetail(response, 422);
      expect(response.json.detail).toContain(field);
      if (value) expect(response.json.detail).not.toContain(value);
      expect(response.headers.get("x-total-count")).toBeNull();
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// ?q= across scripts: case and accents ignored, on accounts moxie wrote and on rows the Python original wrote
// (no search key), before and after a start gives them theirs, and after a name changes behind moxie's back.

describe("GET /admin/users?q= ignores case and accents in every script", () => {
  const ctx = createTestApp();
  const request = leakChecked(ctx);
  let adminToken: string;
  const ids = new Map<string, number>();

  /** Made through the API, as an admin does: each row's search key is written with it. */
  const created = [
    { name: "Sofía Núñez", email: "sofia.n@x.es" },
    { name: "Nguyễn Văn An", email: "an@x.vn" },
    { name: "Jens Straße", email: "jens@x.de" },
    { name: "Οδυσσέας Ελύτης", email: "odysseas@x.gr" },
  ];
  /** Inserted with SQL as the Python original inserts them: no search key at all. */
  const original = [
    { name: "Åsa Öberg", email: "a.o@x.se" },
    { name: "Zoë Saldaña", email: "zs@x.com" },
    { name: "Søren Kierkegård", email: "sk@x.dk" },
    { name: "Łukasz Żółć", email: "lz@x.pl" },
    { name: "Đặng Thu Thảo", email: "dtt@x.vn" },
    { name: "İlkay Işık", email: "ii@x.tr" },
    { name: "김민준", email: "kim@x.kr" },
    { name: "東京 太郎", email: "taro@x.jp" },
    { name: "Sophia Lee", email: "sophia@x.com" },
    { name: "Ana Müller", email: "josé.müller@x.de" },
  ];

  beforeAll(async () => {
    const admin = await seedUser(ctx.db, { role: "admin", name: "The Admin", email: "boss@x.org" });
    adminToken = await signIn(ctx.request, admin);
    for (const account of created) {
      const response = await request("POST", "/admin/users", { token: adminToken, body: { ...account, password: "a long passphrase" } });
      expect(response.status).toBe(201);
      ids.set(account.name, response.json.id);
    }
    const insert = ctx.db.$client.query(
      "INSERT INTO users (name, email, password_hash, role, is_active, created_at) VALUES (?, ?, ?, 'agent', 1, '2026-01-05 09:00:00.000000')",
    );
    for (const account of original) ids.set(account.name, Number(insert.run(account.name, account.email, PWDLIB_HASH).lastInsertRowid));
  });

  async function found(q: string): Promise<string[]> {
    const response = await request("GET", `/admin/users?q=${encodeURIComponent(q)}`, { token: adminToken });
    expect({ q, status: response.status }).toEqual({ q, status: 200 });
    const names = (response.json as Array<{ name: string }>).map((user) => user.name);
    expect({ q, total: response.headers.get("x-total-count") }).toEqual({ q, total: String(names.length) });
    for (const user of response.json as unknown[]) expectPublicUser(user);
    return names.sort();
  }

  /** Each query and exactly the names it must find (nothing else). */
  const CASES: Array<[string, string[]]> = [
    // The issue's examples.
    ["åsa", ["Åsa Öberg"]],
    ["ZOË", ["Zoë Saldaña"]],
    ["SOFÍA", ["Sofía Núñez"]],
    ["nguyen", ["Nguyễn Văn An"]],
    // Greek: accents (tonos) and the final sigma, typed in capitals or in small letters with ς at the end.
    ["ΟΔΥΣΣΕΑΣ", ["Οδυσσέας Ελύτης"]],
    ["ελυτης", ["Οδυσσέας Ελύτης"]],
    ["οδυσσεας", ["Οδυσσέας Ελύτης"]],
    // German: ß is ss, umlauts are their letter.
    ["STRASSE", ["Jens Straße"]],
    ["straße", ["Jens Straße"]],
    ["muller", ["Ana Müller"]],
    // Letters with a stroke, Turkish İ and ı, Vietnamese Đ.
    ["soren", ["Søren Kierkegård"]],
    ["LUKASZ ZOLC", ["Łukasz Żółć"]],
    ["dang thu thao", ["Đặng Thu Thảo"]],
    ["ilkay isik", ["İlkay Işık"]],
    // Hangul and CJK match themselves.
    ["민준", ["김민준"]],
    ["東京", ["東京 太郎"]],
    // The email too, accents and all.
    ["JOSE.MULLER@", ["Ana Müller"]],
    // Accents typed where the name has none.
    ["sóphía", ["Sophia Lee"]],
    // Negative: nothing that only looks or sounds alike.
    ["sofia", ["Sofía Núñez"]],
    ["mueller", []],
    ["oeberg", []],
    ["no such person", []],
  ];

  test("the issue's examples, Greek, German, strokes, Turkish, Hangul and CJK find exactly their accounts, before any start", async () => {
    // The original's rows have no key yet: they are found all the same.
    const unkeyed = ctx.db.$client.query("SELECT count(*) AS n FROM users WHERE search_key IS NULL").get() as { n: number };
    expect(unkeyed.n).toBe(original.length);
    for (const [q, names] of CASES) expect({ q, found: await found(q) }).toEqual({ q, found: [...names].sort() });
  });

  test("a start gives the original's rows their keys; the answers stay the same", async () => {
    expect(refreshSearchKeys(ctx.db)).toBe(original.length);
    const rows = ctx.db.$client.query("SELECT name, email, search_key, search_key_of FROM users").all() as Array<Record<string, string>>;
    for (const row of rows) {
      expect(row.search_key).toBe(`${searchFold(row.name!)}\n${searchFold(row.email!)}`);
      expect(row.search_key_of).toBe(`${row.name}\n${row.email}`);
    }
    expect(refreshSearchKeys(ctx.db)).toBe(0);
    for (const [q, names] of CASES) expect({ q, found: await found(q) }).toEqual({ q, found: [...names].sort() });
  });

  test("a name changed behind moxie's back (SQL, another program) is found by its new spelling, not its old one", async () => {
    ctx.db.$client.query("UPDATE users SET name = 'Åsa Lindqvist' WHERE id = ?").run(ids.get("Åsa Öberg")!);
    expect(await found("oberg")).toEqual([]);
    expect(await found("LINDQVIST")).toEqual(["Åsa Lindqvist"]);
  });

  test("a name edited through the API is found by its new spelling at once, not its old one", async () => {
    const id = ids.get("Sophia Lee")!;
    expect((await request("PATCH", `/admin/users/${id}`, { token: adminToken, body: { name: "Sophia Ångström" } })).status).toBe(200);
    expect(await found("lee")).toEqual([]);
    expect(await found("angstrom")).toEqual(["Sophia Ångström"]);
    expect(ctx.db.$client.query("SELECT search_key FROM users WHERE id = ?").get(id)).toEqual({ search_key: "sophia angstrom\nsophia@x.com" });
  });

  test("q combines with the other filters and pages; X-Total-Count counts every match", async () => {
    const page = await request("GET", "/admin/users?q=%C3%85&limit=1", { token: adminToken });
    // "Å" folds to "a": every name or email with an a.
    expect(Number(page.headers.get("x-total-count"))).toBeGreaterThan(1);
    expect(page.json).toHaveLength(1);
    const inactive = await request("GET", "/admin/users?q=nguyen&is_active=false", { token: adminToken });
    expect(inactive.json).toEqual([]);
    expect(inactive.headers.get("x-total-count")).toBe("0");
  });
});

// ---------------------------------------------------------------------------------------------------------
// One account: read, create, change, activate, password. One admin, a few agents, reused.

describe("admin: one account", () => {
  const ctx = createTestApp();
  const request = leakChecked(ctx);
  let admin: SeededUser;
  let agent: SeededUser;
  let adminToken: string;

  beforeAll(async () => {
    admin = await seedUser(ctx.db, { role: "admin", email: "chief@x.co" });
    agent = await seedUser(ctx.db, { role: "agent", email: "agent@x.co", name: "Agent Smith" });
    adminToken = await signIn(ctx.request, admin);
  });

  describe("GET /admin/users/{id}", () => {
    test("an existing id → that account", async () => {
      const response = await request("GET", `/admin/users/${agent.id}`, { token: adminToken });
      expect(response.status).toBe(200);
      const row = rowOf(ctx, agent.id)!;
      expect(response.json).toEqual({
        id: agent.id,
        name: "Agent Smith",
        email: "agent@x.co",
        role: "agent",
        is_active: true,
        created_at: row.createdAt,
        last_login_at: null,
      });
    });

    test("an unknown id → 404 User not found", async () => {
      for (const id of [999_999, Number.MAX_SAFE_INTEGER]) {
        const response = await request("GET", `/admin/users/${id}`, { token: adminToken });
        expectDetail(response, 404, "User not found");
      }
    });

    for (const id of ["abc", "1.5", "-1", "0", "99999999999999999999999", "1abc", "%20", "0x1", "1e0", "+1", "01"]) {
      test(`id ${JSON.stringify(id)} → 422 naming id`, async () => {
        const response = await request("GET", `/admin/users/${id}`, { token: adminToken });
        expectDetail(response, 422);
        expect(response.json.detail).toContain("id");
        if (id.length > 3) expect(response.json.detail).not.toContain(id);
      });
    }

    test("bad ids are refused on every {id} route, not only GET", async () => {
      for (const [method, suffix, body] of [
        ["PATCH", "", { name: "X" }],
        ["PATCH", "/deactivate", undefined],
        ["PATCH", "/activate", undefined],
        ["PUT", "/password", { password: "password-long-enough" }],
      ] as const) {
        for (const id of ["abc", "0", "-1", "1.5", "99999999999999999999999"]) {
          const response = await request(method, `/admin/users/${id}${suffix}`, { token: adminToken, body });
          expect({ method, id, suffix, status: response.status }).toEqual({ method, id, suffix, status: 422 });
        }
      }
    });
  });

  describe("POST /admin/users", () => {
    test("one admin's creates wait their turn: eight under way are all made; a ninth meanwhile is 429 naming the signed-in account's operations, and makes nothing", async () => {
      // One hashing slot, held by other work until every request has arrived: whatever the machine's speed, the
      // eight are under way at once when the ninth comes.
      const saved = [hashingGate.concurrency, hashingGate.maxQueue] as const;
      hashingGate.configure(1, 64);
      let release = () => {};
      const held = hashingGate.run(() => new Promise<void>((resolve) => (release = resolve)), "operator");
      try {
        const creates = Array.from({ length: ACCOUNT_OPERATIONS_MAX }, (_, i) =>
          request("POST", "/admin/users", { token: adminToken, body: { name: `Bulk ${i}`, email: `bulk-${i}@x.co`, password: "bulk-Pass-2026" } }),
        );
        await waitUntil("the admin's eight creates under way", () => (hashingGate.operationsOf(admin.id) === ACCOUNT_OPERATIONS_MAX ? true : undefined));
        const ninth = await request("POST", "/admin/users", { token: adminToken, body: { name: "Ninth", email: "ninth@x.co", password: "bulk-Pass-2026" } });
        expectDetail(
          ninth,
          429,
          "Your account already has 8 password operations under way (creating accounts, setting or changing passwords: one at a " +
            "time, the rest queued); try again when one has finished",
        );
        expect(ninth.headers.get("retry-after")).toBe("1");
        expect(ninth.text).not.toContain("ninth@x.co");
        release();
        expect((await Promise.all(creates)).map((response) => response.status)).toEqual(Array(ACCOUNT_OPERATIONS_MAX).fill(201));
        expect(ctx.db.$client.query("SELECT count(*) AS n FROM users WHERE email LIKE 'bulk-%' OR email = 'ninth@x.co'").get()).toEqual({
          n: ACCOUNT_OPERATIONS_MAX,
        });
        expect(hashingGate.operationsOf(admin.id)).toBe(0);
      } finally {
        release();
        await held;
        hashingGate.configure(...saved);
      }
    });

    test("creates an active agent (role omitted → agent, never admin) that can sign in", async () => {
      const password = "first-password-1";
      const response = await request("POST", "/admin/users", {
        token: adminToken,
        body: { name: "New Agent", email: "new.agent@x.co", password },
      });
      expect(response.status).toBe(201);
      expectPublicUser(response.json, { name: "New Agent", email: "new.agent@x.co", role: "agent", is_active: true });
      expectNoLeak(response.text, [password]);
      const row = rowOf(ctx, response.json.id)!;
      expect(row.role).toBe("agent");
      expect(row.isActive).toBe(true);
      expect(row.createdAt).toBe(response.json.created_at);
      expect(row.passwordHash).toStartWith("$argon2id$");
      expect(await Bun.password.verify(password, row.passwordHash)).toBe(true);
      const token = await signIn(ctx.request, { email: "new.agent@x.co", password });
      const me = await request("GET", "/auth/me", { token });
      expect(me.json).toMatchObject({ id: response.json.id, role: "agent" });
      // An agent it is: the admin routes refuse it.
      const admin403 = await request("GET", "/admin/users", { token });
      expectDetail(admin403, 403, "Admin access required");
    });

    test("role admin creates an admin; role agent an agent", async () => {
      for (const role of ["admin", "agent"] as const) {
        const response = await request("POST", "/admin/users", {
          token: adminToken,
          body: { name: `Made ${role}`, email: `made.${role}@x.co`, password: "password-ok-22", role },
        });
        expect(response.status).toBe(201);
        expectPublicUser(response.json, { role });
        expect(rowOf(ctx, response.json.id)?.role).toBe(role);
      }
    });

    test("email is stored trimmed and lower-cased, name trimmed", async () => {
      const response = await request("POST", "/admin/users", {
        token: adminToken,
        body: { name: "  Spacey Name  ", email: "  Mixed.Case@X.CO ", password: "password-ok-33" },
      });
      expect(response.status).toBe(201);
      expectPublicUser(response.json, { name: "Spacey Name", email: "mixed.case@x.co" });
      expect(rowOf(ctx, response.json.id)).toMatchObject({ name: "Spacey Name", email: "mixed.case@x.co" });
    });

    test("a duplicate email, compared trimmed and lower-cased → 409 Email already registered, nothing written", async () => {
      const before = ctx.db.select().from(users).all().length;
      for (const email of ["agent@x.co", " Agent@X.co ", "AGENT@X.CO"]) {
        const response = await request("POST", "/admin/users", {
          token: adminToken,
          body: { name: "Dup", email, password: "password-ok-44" },
        });
        expectDetail(response, 409, "Email already registered");
      }
      expect(ctx.db.select().from(users).all()).toHaveLength(before);
      expect(rowOf(ctx, agent.id)).toMatchObject({ name: "Agent Smith", email: "agent@x.co" });
    });

    const valid = { name: "Valid Name", email: "valid@x.co", password: "password-ok-55" };
    const invalid: Array<[string, Record<string, unknown>, string, string | undefined]> = [
      ["password of 7 characters", { password: "seven77" }, "password", "seven77"],
      ["password of 129 characters", { password: "p".repeat(129) }, "password", "p".repeat(129)],
      ["password not a string", { password: 12345678 }, "password", undefined],
      ["email without @", { email: "not-an-email" }, "email", "not-an-email"],
      ["email without a dot in the domain", { email: "someone@localhost" }, "email", "someone@localhost"],
      ["email with a space inside", { email: "some one@x.co" }, "email", "some one@x.co"],
      ["email with two @", { email: "a@b@x.co" }, "email", "a@b@x.co"],
      ["empty email", { email: "" }, "email", undefined],
      ["email over 254 characters", { email: `${"e".repeat(250)}@x.co` }, "email", "e".repeat(250)],
      ["empty name", { name: "" }, "name", undefined],
      ["blank name", { name: "    " }, "name", undefined],
      ["name of 101 characters", { name: "n".repeat(101) }, "name", "n".repeat(101)],
      ["unknown role", { role: "root" }, "role", "root"],
      ["role in capitals", { role: "ADMIN" }, "role", "ADMIN"],
      ["missing name", { name: undefined }, "name", undefined],
      ["missing email", { email: undefined }, "email", undefined],
      ["missing password", { password: undefined }, "password", undefined],
    ];
    for (const [label, change, field, value] of invalid) {
      test(`${label} → 422 naming ${field}, without the value; nothing written`, async () => {
        const before = ctx.db.select().from(users).all().length;
        const body = { ...valid, ...change };
        const response = await request("POST", "/admin/users", { token: adminToken, body });
        expectDetail(response, 422);
        expect(response.json.detail).toContain(field);
        if (value !== undefined) expect(response.json.detail).not.toContain(value);
        // The password is never repeated, whatever field was wrong.
        expectNoLeak(response.text, typeof body.password === "string" ? [body.password] : []);
        expect(ctx.db.select().from(users).all()).toHaveLength(before);
      });
    }

    test("the limits themselves are accepted: 8- and 128-character passwords, a 100-character name", async () => {
      const cases = [
        { name: "n".repeat(100), email: "limits1@x.co", password: "p".repeat(8) },
        { name: "Limits Two", email: "limits2@x.co", password: "p".repeat(128) },
      ];
      for (const body of cases) {
        const response = await request("POST", "/admin/users", { token: adminToken, body });
        expect(response.status).toBe(201);
        expectPublicUser(response.json, { name: body.name, email: body.email });
        expect(await Bun.password.verify(body.password, rowOf(ctx, response.json.id)!.passwordHash)).toBe(true);
      }
    });

    // Passwords are NFC-normalized before hashing and before sign-in's 1-128 check, so the 8-128 rule must
    // count the same characters: "é" typed as e + U+0301 is the same password as the single code point.
    test("the 8-character minimum counts characters after NFC normalization, like sign-in does", async () => {
      const composed = "\u00e9".repeat(4); // 4 code units, 4 characters
      const decomposed = "e\u0301".repeat(4); // 8 code units, the same 4 characters after NFC
      expect(decomposed.normalize("NFC")).toBe(composed);
      const results: Record<string, number> = {};
      for (const [label, password] of [["composed", composed], ["decomposed", decomposed]] as const) {
        const response = await request("POST", "/admin/users", {
          token: adminToken,
          body: { name: "Short Unicode", email: `short.${label}@x.co`, password },
        });
        results[label] = response.status;
      }
      // The same 4-character password must get the same answer in either form: 422.
      expect(results).toEqual({ composed: 422, decomposed: 422 });
    });

    // U+0958 is a composition exclusion: NFC turns each one into two code points (U+0915 U+093C). Creation counts
    // after NFC, so what it accepts signs in.
    test("NFC expansion: 64 × U+0958 (128 after NFC) is accepted and signs in; 65 (130 after NFC) is refused as a new password", async () => {
      const fits = "\u0958".repeat(64);
      expect([fits.length, fits.normalize("NFC").length]).toEqual([64, 128]);
      const created = await request("POST", "/admin/users", {
        token: adminToken,
        body: { name: "Expanding", email: "expanding@x.co", password: fits },
      });
      expect(created.status).toBe(201);
      const login = await request("POST", "/auth/login", { body: { email: "expanding@x.co", password: fits } });
      expect(login.status).toBe(200);
      expect(typeof login.json.access_token).toBe("string");

      const over = "\u0958".repeat(65);
      expect([over.length, over.normalize("NFC").length]).toEqual([65, 130]);
      const refused = await request("POST", "/admin/users", {
        token: adminToken,
        body: { name: "Expanding Too Far", email: "expanding.over@x.co", password: over },
      });
      expectDetail(refused, 422, /password/);
      expect(ctx.db.select().from(users).where(eq(users.email, "expanding.over@x.co")).all()).toEqual([]);
      // Sign-in takes longer passwords (ones set before the rule must still work): it is just the wrong one.
      expect((await request("POST", "/auth/login", { body: { email: "expanding@x.co", password: over } })).status).toBe(401);
    });

    test("lengths are characters (code points) after NFC, not UTF-16 units: emoji and combining accents count once", async () => {
      const cases: Array<[string, string, number]> = [
        ["100 emoji (200 UTF-16 units)", "\u{1F600}".repeat(100), 201],
        ["5 emoji (10 units, 5 characters)", "\u{1F600}\u{1F511}\u{1F3E0}\u{1F333}\u{1F6AA}", 422],
        ["e + combining acute × 100 (100 after NFC, 200 before)", "e\u0301".repeat(100), 201],
        ["129 emoji", "\u{1F511}".repeat(129), 422],
      ];
      for (const [what, password, expected] of cases) {
        const created = await request("POST", "/admin/users", {
          token: adminToken,
          body: { name: "Counted", email: `counted.${cases.findIndex((c) => c[0] === what)}@x.co`, password },
        });
        expect({ what, status: created.status }).toEqual({ what, status: expected });
        if (expected === 422) expect(created.json).toEqual({ detail: "password must be 8 to 128 characters" });
        if (expected === 201) {
          const signedIn = await request("POST", "/auth/login", { body: { email: created.json.email, password } });
          expect({ what, status: signedIn.status }).toEqual({ what, status: 200 });
        }
      }
      // Sign-in counts the same way: 600 emoji (1 200 units) are 600 characters, under its 1 024.
      const long = "\u{1F511}".repeat(600);
      const holder = await request("POST", "/admin/users", { token: adminToken, body: { name: "Long Key", email: "long.key@x.co", password: "placeholder-pass-1" } });
      ctx.db.update(users).set({ passwordHash: await Bun.password.hash(long, { algorithm: "argon2id", memoryCost: 65536, timeCost: 2 }) }).where(eq(users.id, holder.json.id)).run();
      expect((await request("POST", "/auth/login", { body: { email: "long.key@x.co", password: long } })).status).toBe(200);
      expect((await request("POST", "/auth/login", { body: { email: "long.key@x.co", password: "\u{1F511}".repeat(1025) } })).json).toEqual({
        detail: "password must be 1 to 1024 characters",
      });
    });

    test("a body that is not an object → 422", async () => {
      for (const body of [[], "text", null, 42]) {
        const response = await request("POST", "/admin/users", { token: adminToken, body });
        expectDetail(response, 422);
      }
    });

    test("id, password_hash, created_at, token_version (and their camelCase) in the body never reach the database", async () => {
      const password = "extra-fields-pass";
      const forgedHash = await Bun.password.hash("forged-password-1");
      const sneaky = {
        name: "Sneaky",
        email: "sneaky@x.co",
        password,
        id: 4242,
        password_hash: forgedHash,
        passwordHash: forgedHash,
        // Not the API's spelling: ignored like any unknown field (is_active is the field, tested below).
        isActive: false,
        created_at: "2000-01-01T00:00:00.000Z",
        createdAt: "2000-01-01T00:00:00.000Z",
        token_version: 99,
        tokenVersion: 99,
      };
      const response = await request("POST", "/admin/users", { token: adminToken, body: sneaky });
      // Refusing the extras or ignoring them are both fine; storing them is not.
      expect([201, 422]).toContain(response.status);
      const stored = ctx.db.select().from(users).where(eq(users.email, "sneaky@x.co")).get();
      expect(rowOf(ctx, 4242)).toBeUndefined();
      if (response.status === 422) {
        expect(stored).toBeUndefined();
        return;
      }
      expect(stored).toBeDefined();
      expect(stored!.id).not.toBe(4242);
      expect(response.json.id).toBe(stored!.id);
      expect(stored!.isActive).toBe(true);
      expect(stored!.createdAt).not.toStartWith("2000-");
      expect(stored!.tokenVersion).toBe(0);
      expect(stored!.passwordHash).not.toBe(forgedHash);
      expect(await Bun.password.verify(password, stored!.passwordHash)).toBe(true);
      expect(await Bun.password.verify("forged-password-1", stored!.passwordHash)).toBe(false);
      expectPublicUser(response.json, { is_active: true, email: "sneaky@x.co" });
    });

    test("is_active false creates an inactive account (201), which cannot sign in; the trail says it was created inactive", async () => {
      const response = await request("POST", "/admin/users", {
        token: adminToken,
        body: { name: "Dormant", email: "dormant@x.co", password: "a long passphrase", is_active: false },
      });
      expect(response.status).toBe(201);
      expectPublicUser(response.json, { email: "dormant@x.co", is_active: false });
      expect(rowOf(ctx, response.json.id)).toMatchObject({ isActive: false, tokenVersion: 0 });
      const login = await request("POST", "/auth/login", { body: { email: "dormant@x.co", password: "a long passphrase" } });
      expectDetail(login, 401, "Account is inactive");
      const trail = await request("GET", `/admin/audit?user_id=${response.json.id}&type=user.created`, { token: adminToken });
      expect(trail.json.map((event: { type: string; changes: unknown }) => [event.type, event.changes])).toEqual([
        ["user.created", { is_active: { from: null, to: false } }],
      ]);
      // Activated later, it signs in.
      expect((await request("PATCH", `/admin/users/${response.json.id}/activate`, { token: adminToken })).json.is_active).toBe(true);
      expect((await request("POST", "/auth/login", { body: { email: "dormant@x.co", password: "a long passphrase" } })).status).toBe(200);
    });

    test("is_active true, or left out, creates an active account whose trail says nothing more", async () => {
      for (const [email, body] of [["awake@x.co", { is_active: true }], ["default@x.co", {}]] as const) {
        const response = await request("POST", "/admin/users", { token: adminToken, body: { name: "Awake", email, password: "a long passphrase", ...body } });
        expect({ email, status: response.status, active: response.json.is_active }).toEqual({ email, status: 201, active: true });
        const trail = await request("GET", `/admin/audit?user_id=${response.json.id}`, { token: adminToken });
        expect(trail.json.map((event: { type: string; changes: unknown }) => [event.type, event.changes])).toEqual([["user.created", null]]);
      }
    });

    test("is_active that is not true or false → 422 naming it, nothing created", async () => {
      for (const value of ["false", 0, null]) {
        const response = await request("POST", "/admin/users", {
          token: adminToken,
          body: { name: "Typed", email: "typed@x.co", password: "a long passphrase", is_active: value },
        });
        expectDetail(response, 422, "is_active must be true or false");
      }
      expect(ctx.db.select().from(users).where(eq(users.email, "typed@x.co")).get()).toBeUndefined();
    });
  });

  describe("PATCH /admin/users/{id}", () => {
    let target: SeededUser;
    beforeAll(async () => {
      target = await seedUser(ctx.db, { email: "patch.me@x.co", name: "Patch Me" });
    });

    test("changes the name (trimmed) and nothing else", async () => {
      const before = rowOf(ctx, target.id)!;
      const response = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body: { name: "  Renamed  " } });
      expect(response.status).toBe(200);
      expectPublicUser(response.json, { id: target.id, name: "Renamed", email: "patch.me@x.co", role: "agent", is_active: true });
      // Its search key follows, in the same write.
      expect(rowOf(ctx, target.id)).toEqual({ ...before, name: "Renamed", searchKey: "renamed\npatch.me@x.co", searchKeyOf: "Renamed\npatch.me@x.co" });
    });

    test("changes the email, stored trimmed and lower-cased; sign-in uses the new one", async () => {
      const response = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body: { email: " Patched@X.CO " } });
      expect(response.status).toBe(200);
      expectPublicUser(response.json, { id: target.id, email: "patched@x.co" });
      expect(rowOf(ctx, target.id)?.email).toBe("patched@x.co");
      await signIn(ctx.request, { email: "patched@x.co", password: target.password });
      const old = await request("POST", "/auth/login", { body: { email: "patch.me@x.co", password: target.password } });
      expect(old.status).toBe(401);
    });

    test("the account's own email in another case is not a duplicate", async () => {
      const response = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body: { email: "PATCHED@x.co" } });
      expect(response.status).toBe(200);
      expect(response.json.email).toBe("patched@x.co");
    });

    test("another account's email → 409 Email already registered, nothing changed", async () => {
      const before = rowOf(ctx, target.id)!;
      for (const email of ["agent@x.co", " Agent@X.co "]) {
        const response = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body: { email, name: "Should Not Stick" } });
        expectDetail(response, 409, "Email already registered");
      }
      expect(rowOf(ctx, target.id)).toEqual(before);
    });

    test("name, email and role together", async () => {
      const response = await request("PATCH", `/admin/users/${target.id}`, {
        token: adminToken,
        body: { name: "All Three", email: "all.three@x.co", role: "admin" },
      });
      expect(response.status).toBe(200);
      expectPublicUser(response.json, { name: "All Three", email: "all.three@x.co", role: "admin" });
      expect(rowOf(ctx, target.id)).toMatchObject({ name: "All Three", email: "all.three@x.co", role: "admin" });
      // Back to agent (two active admins exist, so this is allowed).
      const back = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body: { role: "agent" } });
      expect(back.status).toBe(200);
      expect(back.json.role).toBe("agent");
    });

    test("{} → 422 and nothing changes", async () => {
      const before = rowOf(ctx, target.id)!;
      const response = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body: {} });
      expectDetail(response, 422);
      expect(rowOf(ctx, target.id)).toEqual(before);
    });

    test("invalid fields → 422 naming the field, without the value", async () => {
      const cases: Array<[Record<string, unknown>, string, string?]> = [
        [{ email: "bogus-address" }, "email", "bogus-address"],
        [{ name: "   " }, "name"],
        [{ name: "n".repeat(101) }, "name", "n".repeat(101)],
        [{ role: "superuser" }, "role", "superuser"],
      ];
      const before = rowOf(ctx, target.id)!;
      for (const [body, field, value] of cases) {
        const response = await request("PATCH", `/admin/users/${target.id}`, { token: adminToken, body });
        expectDetail(response, 422);
        expect(response.json.detail).toContain(field);
        if (value) expect(response.json.detail).not.toContain(value);
      }
      expect(rowOf(ctx, target.id)).toEqual(before);
    });

    test("password_hash, id, created_at, last_login_at, token_version cannot be changed through PATCH", async () => {
      const before = rowOf(ctx, target.id)!;
      const response = await request("PATCH", `/admin/users/${target.id}`, {
        token: adminToken,
        body: {
          name: "Still Active",
          password_hash: PWDLIB_HASH,
          passwordHash: PWDLIB_HASH,
          id: 777,
          created_at: "2000-01-01T00:00:00.000Z",
          last_login_at: "2000-01-01T00:00:00.000Z",
          token_version: 50,
          isActive: false,
        },
      });
      expect([200, 422]).toContain(response.status);
      const after = rowOf(ctx, target.id)!;
      expect(after).toMatchObject({
        id: target.id,
        isActive: true,
        passwordHash: before.passwordHash,
        createdAt: before.createdAt,
        lastLoginAt: before.lastLoginAt,
        tokenVersion: before.tokenVersion,
      });
      expect(rowOf(ctx, 777)).toBeUndefined();
    });

    test("a password in a PATCH → 422 naming the route for it; nothing else in the body is written either", async () => {
      const before = rowOf(ctx, target.id)!;
      const response = await request("PATCH", `/admin/users/${target.id}`, {
        token: adminToken,
        body: { name: "Not Renamed", password: "a brand new passphrase" },
      });
      expectDetail(response, 422, "password cannot be changed here: use PUT /admin/users/{id}/password");
      expect(response.text).not.toContain("a brand new passphrase");
      expect(rowOf(ctx, target.id)).toEqual(before);
    });

    test("is_active false deactivates as /deactivate does (the token stops, the trail says so); true reactivates", async () => {
      const user = await seedUser(ctx.db, { email: "patched.off@x.co" });
      const token = await signIn(ctx.request, user);
      const off = await request("PATCH", `/admin/users/${user.id}`, { token: adminToken, body: { is_active: false, name: "Patched Off" } });
      expect(off.status).toBe(200);
      expectPublicUser(off.json, { id: user.id, is_active: false, name: "Patched Off" });
      expect((await request("GET", "/auth/me", { token })).status).toBe(401);
      const again = await request("PATCH", `/admin/users/${user.id}`, { token: adminToken, body: { is_active: false } });
      expect(again.json).toEqual(off.json);
      const on = await request("PATCH", `/admin/users/${user.id}`, { token: adminToken, body: { is_active: true } });
      expectPublicUser(on.json, { id: user.id, is_active: true });
      // The old token stays revoked; a new sign-in works.
      expect((await request("GET", "/auth/me", { token })).status).toBe(401);
      await signIn(ctx.request, user);
      const trail = await request("GET", `/admin/audit?user_id=${user.id}&limit=10`, { token: adminToken });
      const events = trail.json
        .filter((event: { type: string }) => event.type !== "login.succeeded")
        .map((event: { type: string; reason: string | null }) => (event.type === "session.ended" ? `${event.type}:${event.reason}` : event.type));
      // Newest first; the deactivation ended the session the token named; the repeated deactivation recorded nothing.
      expect(events).toEqual(["user.activated", "user.deactivated", "session.ended:deactivation", "user.updated", "user.created"]);
    });

    test("is_active false on yourself through PATCH → 409, nothing written (not even the name sent with it)", async () => {
      const before = rowOf(ctx, admin.id)!;
      const response = await request("PATCH", `/admin/users/${admin.id}`, { token: adminToken, body: { is_active: false, name: "Gone Admin" } });
      expectDetail(response, 409, "You cannot deactivate your own account; ask another admin");
      expect(rowOf(ctx, admin.id)).toEqual(before);
    });

    test("an unknown id → 404 User not found", async () => {
      const response = await request("PATCH", "/admin/users/987654", { token: adminToken, body: { name: "Ghost" } });
      expectDetail(response, 404, "User not found");
    });
  });

  describe("deactivate / activate", () => {
    test("deactivate → 200 inactive; twice → 200 and the same, recorded once; the account's token stops at once; activate restores", async () => {
      const user = await seedUser(ctx.db, { email: "toggle@x.co" });
      const token = await signIn(ctx.request, user);
      expect((await request("GET", "/auth/me", { token })).status).toBe(200);

      const first = await request("PATCH", `/admin/users/${user.id}/deactivate`, { token: adminToken });
      expect(first.status).toBe(200);
      expectPublicUser(first.json, { id: user.id, is_active: false });
      const second = await request("PATCH", `/admin/users/${user.id}/deactivate`, { token: adminToken });
      expect(second.status).toBe(200);
      expect(second.json).toEqual(first.json);
      expect(rowOf(ctx, user.id)?.isActive).toBe(false);
      // The repeat changed nothing, so it recorded nothing.
      const events = () =>
        (ctx.db.$client.query("SELECT type FROM audit_events WHERE user_id = ? AND type LIKE 'user.%activated' ORDER BY id").all(user.id) as Array<{ type: string }>).map((e) => e.type);
      expect(events()).toEqual(["user.deactivated"]);

      const me = await request("GET", "/auth/me", { token });
      expectDetail(me, 401);
      const login = await request("POST", "/auth/login", { body: { email: user.email, password: user.password } });
      expectDetail(login, 401, "Account is inactive");
      const listed = await request("GET", "/admin/users?is_active=false", { token: adminToken });
      expect((listed.json as Array<{ id: number }>).map((u) => u.id)).toContain(user.id);

      const on = await request("PATCH", `/admin/users/${user.id}/activate`, { token: adminToken });
      expect(on.status).toBe(200);
      expectPublicUser(on.json, { id: user.id, is_active: true });
      const onAgain = await request("PATCH", `/admin/users/${user.id}/activate`, { token: adminToken });
      expect(onAgain.status).toBe(200);
      expect(onAgain.json).toEqual(on.json);
      expect(rowOf(ctx, user.id)?.isActive).toBe(true);
      expect(events()).toEqual(["user.deactivated", "user.activated"]);
      // Reactivation does not bring the token from before the deactivation back (its session was ended); a new
      // sign-in works.
      expectDetail(await request("GET", "/auth/me", { token }), 401, "Session ended; sign in again");
      const fresh = await signIn(ctx.request, user);
      expect((await request("GET", "/auth/me", { token: fresh })).status).toBe(200);
    });

    test("an unknown id → 404 User not found", async () => {
      for (const action of ["deactivate", "activate"]) {
        const response = await request("PATCH", `/admin/users/876543/${action}`, { token: adminToken });
        expectDetail(response, 404, "User not found");
      }
    });
  });

  describe("PUT /admin/users/{id}/password", () => {
    test("→ 204 empty; the old token is refused, the old password no longer signs in, the new one does", async () => {
      const user = await seedUser(ctx.db, { email: "reset.me@x.co" });
      const oldToken = await signIn(ctx.request, user);
      const newPassword = "brand-new-password-1";
      const response = await request("PUT", `/admin/users/${user.id}/password`, { token: adminToken, body: { password: newPassword } });
      expectEmpty204(response);

      const me = await request("GET", "/auth/me", { token: oldToken });
      expect(me.status).toBe(401);
      expect(me.json).toEqual({ detail: "Session ended; sign in again" });
      const oldLogin = await request("POST", "/auth/login", { body: { email: user.email, password: user.password } });
      expectDetail(oldLogin, 401, "Invalid email or password");
      const fresh = await signIn(ctx.request, { email: user.email, password: newPassword });
      const freshMe = await request("GET", "/auth/me", { token: fresh });
      expect(freshMe.status).toBe(200);
      expect(freshMe.json.id).toBe(user.id);
      expect(rowOf(ctx, user.id)?.passwordChangedAt).toMatch(ISO_UTC);
      // The admin who did it is not signed out.
      expect((await request("GET", "/admin/users", { token: adminToken })).status).toBe(200);
    });

    test("a too-short or too-long password → 422 naming password, without it; nothing changes", async () => {
      const before = rowOf(ctx, agent.id)!;
      for (const password of ["short", "x".repeat(129)]) {
        const response = await request("PUT", `/admin/users/${agent.id}/password`, { token: adminToken, body: { password } });
        expectDetail(response, 422);
        expect(response.json.detail).toContain("password");
        expect(response.json.detail).not.toContain(password);
      }
      const missing = await request("PUT", `/admin/users/${agent.id}/password`, { token: adminToken, body: {} });
      expectDetail(missing, 422);
      expect(rowOf(ctx, agent.id)).toEqual(before);
    });

    test("an unknown id → 404 User not found", async () => {
      const response = await request("PUT", "/admin/users/765432/password", { token: adminToken, body: { password: "long-enough-pass" } });
      expectDetail(response, 404, "User not found");
    });
  });

  test("a role change takes effect on the next request with the same token, both ways", async () => {
    const user = await seedUser(ctx.db, { email: "promote.me@x.co" });
    const token = await signIn(ctx.request, user);
    expectDetail(await request("GET", "/admin/users", { token }), 403, "Admin access required");

    const promote = await request("PATCH", `/admin/users/${user.id}`, { token: adminToken, body: { role: "admin" } });
    expect(promote.status).toBe(200);
    const asAdmin = await request("GET", "/admin/users", { token });
    expect(asAdmin.status).toBe(200);
    expect((await request("GET", "/auth/me", { token })).json.role).toBe("admin");

    const demote = await request("PATCH", `/admin/users/${user.id}`, { token: adminToken, body: { role: "agent" } });
    expect(demote.status).toBe(200);
    expectDetail(await request("GET", "/admin/users", { token }), 403, "Admin access required");
  });
});

// ---------------------------------------------------------------------------------------------------------
// The last-admin rule and self-lockout, each 409 set up so it can only be for the reason it names.

describe("admin lockout rules", () => {
  // Each test sets up its own scene on a fresh database, so one broken rule fails the tests about that rule
  // and no others. Tokens are issued directly (no sign-in): the rules, not argon2, are under test here.
  async function scene(options: { bActive?: boolean } = {}) {
    const ctx = createTestApp();
    const request = leakChecked(ctx);
    const a = await seedUser(ctx.db, { role: "admin", email: "a@lock.test" });
    const b = await seedUser(ctx.db, { role: "admin", email: "b@lock.test" });
    if (options.bActive === false) ctx.db.update(users).set({ isActive: false }).where(eq(users.id, b.id)).run();
    const issue = async (userId: number) => (await sessionToken(ctx, userId)).token;
    const [aToken, bToken] = await Promise.all([issue(a.id), issue(b.id)]);
    const snapshot = () => ctx.db.select().from(users).all();
    return { ctx, request, a, b, aToken, bToken, snapshot };
  }

  test("with two active admins, self-deactivation → 409 naming your own account; nothing changes", async () => {
    const { request, a, aToken, snapshot } = await scene();
    const before = snapshot();
    const response = await request("PATCH", `/admin/users/${a.id}/deactivate`, { token: aToken });
    expectDetail(response, 409, /own account/i);
    expect(response.json.detail).toMatch(/^[A-Z].*[a-z]/); // a sentence, not a code
    expect(snapshot()).toEqual(before);
    expect((await request("GET", "/auth/me", { token: aToken })).status).toBe(200);
  });

  test("with two active admins, self-demotion → 409 naming your own account; nothing changes, not even the name", async () => {
    const { request, a, aToken, snapshot } = await scene();
    const before = snapshot();
    for (const body of [{ role: "agent" }, { role: "agent", name: "Renamed In Same Patch" }]) {
      const response = await request("PATCH", `/admin/users/${a.id}`, { token: aToken, body });
      expectDetail(response, 409, /own account/i);
    }
    expect(snapshot()).toEqual(before);
    expect((await request("GET", "/admin/users", { token: aToken })).status).toBe(200);
  });

  test("an admin may rename themselves and 'promote' themselves to admin (no demotion involved)", async () => {
    const { request, a, aToken } = await scene();
    const response = await request("PATCH", `/admin/users/${a.id}`, { token: aToken, body: { name: "Admin A", role: "admin" } });
    expect(response.status).toBe(200);
    expectPublicUser(response.json, { name: "Admin A", role: "admin", is_active: true });
  });

  test("A deactivates B → 200; B's token stops; B cannot act", async () => {
    const { ctx, request, a, b, aToken, bToken } = await scene();
    const response = await request("PATCH", `/admin/users/${b.id}/deactivate`, { token: aToken });
    expect(response.status).toBe(200);
    expectPublicUser(response.json, { id: b.id, role: "admin", is_active: false });
    expectDetail(await request("GET", "/admin/users", { token: bToken }), 401);
    expectDetail(await request("PATCH", `/admin/users/${a.id}/deactivate`, { token: bToken }), 401);
    expect(rowOf(ctx, a.id)?.isActive).toBe(true);
  });

  test("A, the last active admin (B inactive), still cannot deactivate or demote themselves", async () => {
    const { request, a, aToken, snapshot } = await scene({ bActive: false });
    const before = snapshot();
    expectDetail(await request("PATCH", `/admin/users/${a.id}/deactivate`, { token: aToken }), 409);
    expectDetail(await request("PATCH", `/admin/users/${a.id}`, { token: aToken, body: { role: "agent" } }), 409);
    expect(snapshot()).toEqual(before);
  });

  test("the last-admin rule itself: with one active admin left, nobody (the CLI, another actor) may remove them", async () => {
    // Through the API the actor is always an active admin, so the self rule answers first; the count rule is
    // what guards the CLI and any other caller of the service.
    const { ctx, a, snapshot } = await scene({ bActive: false });
    const before = snapshot();
    await expect(setActive(ctx.db, "cli", a.id, false)).rejects.toThrow(AdminLockoutError);
    await expect(setActive(ctx.db, "cli", a.id, false)).rejects.toThrow(/last active admin/);
    await expect(updateUser(ctx.db, "cli", a.id, { role: "agent" })).rejects.toThrow(/last active admin/);
    await expect(updateUser(ctx.db, "cli", a.id, { role: "agent", name: "Nope" })).rejects.toThrow(/last active admin/);
    expect(snapshot()).toEqual(before);
  });

  test("an inactive admin does not count, and may be demoted (they are not an active admin)", async () => {
    const { request, b, aToken } = await scene({ bActive: false });
    const response = await request("PATCH", `/admin/users/${b.id}`, { token: aToken, body: { role: "agent" } });
    expect(response.status).toBe(200);
    expectPublicUser(response.json, { id: b.id, role: "agent", is_active: false });
    // Deactivating an already-inactive account is idempotent.
    expect((await request("PATCH", `/admin/users/${b.id}/deactivate`, { token: aToken })).status).toBe(200);
  });

  test("A creates admin C; C may demote A (two active admins); then C is last and cannot remove themselves", async () => {
    const { ctx, request, a, aToken } = await scene({ bActive: false });
    const password = "c-admin-password";
    const created = await request("POST", "/admin/users", {
      token: aToken,
      body: { name: "Admin C", email: "c@lock.test", password, role: "admin" },
    });
    expect(created.status).toBe(201);
    expectPublicUser(created.json, { role: "admin", is_active: true });
    const c = { id: created.json.id as number, email: "c@lock.test", password };
    const cToken = await signIn(ctx.request, c);

    const demoteA = await request("PATCH", `/admin/users/${a.id}`, { token: cToken, body: { role: "agent" } });
    expect(demoteA.status).toBe(200);
    expectPublicUser(demoteA.json, { id: a.id, role: "agent", is_active: true });
    // A's existing token loses admin on the next request.
    expectDetail(await request("GET", "/admin/users", { token: aToken }), 403, "Admin access required");
    expectDetail(await request("PATCH", `/admin/users/${c.id}/deactivate`, { token: aToken }), 403, "Admin access required");

    const before = ctx.db.select().from(users).all();
    expectDetail(await request("PATCH", `/admin/users/${c.id}/deactivate`, { token: cToken }), 409);
    expectDetail(await request("PATCH", `/admin/users/${c.id}`, { token: cToken, body: { role: "agent" } }), 409);
    expect(ctx.db.select().from(users).all()).toEqual(before);
    await expect(setActive(ctx.db, "cli", c.id, false)).rejects.toThrow(/last active admin/);

    // C restores A; A's same token is admin again.
    expect((await request("PATCH", `/admin/users/${a.id}`, { token: cToken, body: { role: "admin" } })).status).toBe(200);
    expect((await request("GET", "/admin/users", { token: aToken })).status).toBe(200);
    // And with two active admins again, A may deactivate C.
    const off = await request("PATCH", `/admin/users/${c.id}/deactivate`, { token: aToken });
    expect(off.status).toBe(200);
    expect(off.json.is_active).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Self-service: own password, logout everywhere.

describe("PUT /auth/password", () => {
  const ctx = createTestApp();
  let user: SeededUser;
  let other: SeededUser;
  let otherToken: string;

  beforeAll(async () => {
    user = await seedUser(ctx.db, { email: "self@x.co", password: "current-password-1" });
    other = await seedUser(ctx.db, { email: "other@x.co" });
    otherToken = await signIn(ctx.request, other);
  });

  test("anonymous → 401", async () => {
    const response = await ctx.request("PUT", "/auth/password", { body: { current_password: "a", new_password: "b" } });
    expectDetail(response, 401, "Not authenticated");
  });

  test("wrong current password → 403 Current password is incorrect; nothing changes", async () => {
    const request = leakChecked(ctx, ["wrong-current-pw", "another-new-pass"]);
    const token = await signIn(ctx.request, user);
    const before = rowOf(ctx, user.id)!;
    const response = await request("PUT", "/auth/password", {
      token,
      body: { current_password: "wrong-current-pw", new_password: "another-new-pass" },
    });
    expectDetail(response, 403, "Current password is incorrect");
    expect(rowOf(ctx, user.id)).toEqual(before);
    expect((await request("GET", "/auth/me", { token })).status).toBe(200);
  });

  test("new password too short, too long or missing → 422 naming new_password, without the value", async () => {
    const token = await signIn(ctx.request, user);
    const before = rowOf(ctx, user.id)!;
    for (const new_password of ["short", "y".repeat(129), undefined]) {
      const request = leakChecked(ctx, [user.password, ...(new_password ? [new_password] : [])]);
      const response = await request("PUT", "/auth/password", { token, body: { current_password: user.password, new_password } });
      expectDetail(response, 422);
      expect(response.json.detail).toContain("new_password");
    }
    expect(rowOf(ctx, user.id)).toEqual(before);
  });

  test("new password equal to the current one (also in another Unicode normalization form) → 422; nothing changes", async () => {
    const composed = "caf\u00e9-password-1";
    const decomposed = "cafe\u0301-password-1";
    const unicodeUser = await seedUser(ctx.db, { email: "unicode@x.co", password: composed });
    for (const [account, current, next] of [
      [user, user.password, user.password],
      [unicodeUser, composed, decomposed],
    ] as const) {
      const token = await signIn(ctx.request, account);
      const before = rowOf(ctx, account.id)!;
      const request = leakChecked(ctx, [current, next]);
      const response = await request("PUT", "/auth/password", { token, body: { current_password: current, new_password: next } });
      expectDetail(response, 422);
      expect(response.json.detail).toContain("new_password");
      expect(rowOf(ctx, account.id)).toEqual(before);
      expect((await request("GET", "/auth/me", { token })).status).toBe(200);
    }
  });

  test("→ 200 with a fresh token for this session; the token used and every older token → 401; old password refused; new one works", async () => {
    const request = leakChecked(ctx, [user.password]);
    const earlier = await signIn(ctx.request, user);
    const used = await signIn(ctx.request, user);
    const newPassword = "changed-password-2";
    const response = await request("PUT", "/auth/password", {
      token: used,
      body: { current_password: user.password, new_password: newPassword },
    });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ access_token: expect.any(String), token_type: "bearer", expires_in: expect.any(Number) });
    const kept = await request("GET", "/auth/me", { token: response.json.access_token });
    expect(kept.status).toBe(200);
    expect(kept.json.id).toBe(user.id);

    // The token used is this session's old token (its version is past); the earlier sign-in's session ended.
    const usedMe = await request("GET", "/auth/me", { token: used });
    expect({ status: usedMe.status, body: usedMe.json }).toEqual({ status: 401, body: { detail: "Invalid or expired token" } });
    const earlierMe = await request("GET", "/auth/me", { token: earlier });
    expect({ status: earlierMe.status, body: earlierMe.json }).toEqual({ status: 401, body: { detail: "Session ended; sign in again" } });
    // This session is the one kept: the fresh token names it.
    expect(ctx.tokens.verify(response.json.access_token)?.sessionId).toBe(ctx.tokens.verify(used)?.sessionId);
    const oldLogin = await request("POST", "/auth/login", { body: { email: user.email, password: user.password } });
    expectDetail(oldLogin, 401, "Invalid email or password");
    const fresh = await signIn(ctx.request, { email: user.email, password: newPassword });
    const me = await request("GET", "/auth/me", { token: fresh });
    expect(me.status).toBe(200);
    expectPublicUser(me.json, { id: user.id, email: user.email });
    // Someone else's session is untouched.
    expect((await request("GET", "/auth/me", { token: otherToken })).status).toBe(200);
    user = { ...user, password: newPassword };
  });
});

describe("POST /auth/logout", () => {
  const ctx = createTestApp();
  const request = leakChecked(ctx);
  let user: SeededUser;
  let other: SeededUser;

  beforeAll(async () => {
    user = await seedUser(ctx.db, { email: "leaver@x.co" });
    other = await seedUser(ctx.db, { email: "stayer@x.co" });
  });

  test("anonymous → 401", async () => {
    expectDetail(await request("POST", "/auth/logout"), 401, "Not authenticated");
  });

  test("→ 204 empty; this session's token stops, the account's other session goes on; it cannot log out again", async () => {
    const first = await signIn(ctx.request, user);
    const second = await signIn(ctx.request, user);
    const otherToken = await signIn(ctx.request, other);
    for (const token of [first, second]) expect((await request("GET", "/auth/me", { token })).status).toBe(200);

    expectEmpty204(await request("POST", "/auth/logout", { token: second }));
    expectDetail(await request("GET", "/auth/me", { token: second }), 401, "Session ended; sign in again");
    expect((await request("GET", "/auth/me", { token: first })).status).toBe(200);
    // An ended session cannot log out again.
    expectDetail(await request("POST", "/auth/logout", { token: second }), 401);

    const again = await signIn(ctx.request, user);
    const me = await request("GET", "/auth/me", { token: again });
    expect(me.status).toBe(200);
    expectPublicUser(me.json, { id: user.id });
    expect((await request("GET", "/auth/me", { token: otherToken })).status).toBe(200);
    // The password is unchanged by a logout.
    expect(rowOf(ctx, user.id)?.passwordChangedAt).toBeNull();
  });

  test("?scope=global → 204; every token of the account stops (the old meaning); other accounts unaffected", async () => {
    const first = await signIn(ctx.request, user);
    const second = await signIn(ctx.request, user);
    const otherToken = await signIn(ctx.request, other);
    expectEmpty204(await request("POST", "/auth/logout?scope=global", { token: second }));
    for (const token of [first, second]) expectDetail(await request("GET", "/auth/me", { token }), 401);
    expect((await request("GET", "/auth/me", { token: otherToken })).status).toBe(200);
  });

  test("a scope other than local, others or global → 422 naming scope, and nothing ends", async () => {
    const token = await signIn(ctx.request, user);
    for (const scope of ["everywhere", "LOCAL", "", "local,global"]) {
      const response = await request("POST", `/auth/logout?scope=${encodeURIComponent(scope)}`, { token });
      expectDetail(response, 422, "scope must be one of local, others, global");
    }
    expect((await request("GET", "/auth/me", { token })).status).toBe(200);
  });
});
