// Upgrading a database written by the foundation release (schema 0000 only) to this one, in place.
// test/fixtures/foundation-era.sqlite is a real file from that release: an admin with a Bun argon2id hash and
// an agent whose hash the Python original (pwdlib) wrote. It is copied first; the fixture itself is never touched.
import { beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../src/http/app.ts";
import { createTokenService } from "../src/tokens/tokens.ts";
import { openDatabase, type Db } from "../src/db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../src/db/migrations.ts";
import {
  expectNoLeak,
  requester,
  ROOT,
  signIn,
  tempDir,
  testSettings,
  TEST_SECRET,
  type Requester,
} from "./helpers.ts";
import { readExistingDb, type UserRow } from "./support/processes.ts";

const FIXTURE = join(ROOT, "test/fixtures/foundation-era.sqlite");
const OLD_ADMIN = { email: "admin@old.example", password: "old-admin-pass" };
const OLD_AGENT = { email: "agent@old.example", password: "correct horse battery" };

function readRaw(path: string): { users: UserRow[]; migrations: Array<{ hash: string; created_at: number }> } {
  return readExistingDb(path, (client) => ({
    users: client.query("SELECT id, name, email, password_hash, role, is_active, created_at FROM users ORDER BY id").all() as UserRow[],
    migrations: client.query("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at").all() as Array<{
      hash: string;
      created_at: number;
    }>,
  }));
}

const fixtureBytes = readFileSync(FIXTURE);
const before = readRaw(FIXTURE);
let db: Db;
let path: string;
let request: Requester;

beforeAll(() => {
  path = join(tempDir("moxie-upgrade-"), "moxie.db");
  copyFileSync(FIXTURE, path);
  db = openDatabase(path);
  const settings = { ...testSettings({ DATABASE_URL: path }), databasePath: path, docs: false };
  const app = createApp({ db, settings, tokens: createTokenService(TEST_SECRET) });
  request = requester((r) => app.handle(r));
});

describe("the foundation-era fixture as shipped", () => {
  test("is schema 0000 only, with the two accounts the upgrade must keep", () => {
    expect(before.migrations).toHaveLength(1);
    expect(before.migrations[0]!.hash).toBe(EMBEDDED_MIGRATIONS[0]!.hash);
    expect(before.users.map((u) => [u.email, u.role])).toEqual([
      [OLD_ADMIN.email, "admin"],
      [OLD_AGENT.email, "agent"],
    ]);
    // The agent's hash is the Python original's (pwdlib / argon2-cffi defaults), not one Bun writes.
    expect(before.users[1]!.password_hash).toStartWith("$argon2id$v=19$m=65536,t=3,p=4$");
  });
});

describe("openDatabase on a foundation-era file", () => {
  test("keeps both accounts exactly: ids, names, emails, roles, active flags, created_at, hashes", () => {
    const after = db.$client
      .query("SELECT id, name, email, password_hash, role, is_active, created_at FROM users ORDER BY id")
      .all() as UserRow[];
    expect(after).toEqual(before.users);
  });

  test("adds the new columns with their defaults for existing rows, and the new index", () => {
    const columns = db.$client.query("PRAGMA table_info(users)").all() as Array<{ name: string; notnull: number; dflt_value: string | null }>;
    const byName = new Map(columns.map((c) => [c.name, c]));
    expect(byName.get("token_version")).toMatchObject({ notnull: 1, dflt_value: "0" });
    expect(byName.get("password_changed_at")).toMatchObject({ notnull: 0 });
    const rows = db.$client.query("SELECT token_version, password_changed_at FROM users").all();
    expect(rows).toEqual([
      { token_version: 0, password_changed_at: null },
      { token_version: 0, password_changed_at: null },
    ]);
    const indexes = (db.$client.query("PRAGMA index_list(users)").all() as Array<{ name: string; unique: number }>).map((i) => i.name);
    expect(indexes).toEqual(expect.arrayContaining(["users_email_unique", "users_created_instant_id_idx"]));
  });

  test("records one __drizzle_migrations row per embedded migration, in order, with drizzle's hashes", () => {
    const recorded = db.$client.query("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at").all() as Array<{
      hash: string;
      created_at: number | string;
    }>;
    expect(EMBEDDED_MIGRATIONS.length).toBeGreaterThan(1);
    expect(recorded.map((m) => ({ hash: m.hash, created_at: Number(m.created_at) }))).toEqual(
      EMBEDDED_MIGRATIONS.map((m) => ({ hash: m.hash, created_at: m.folderMillis })),
    );
  });

  test("opening the upgraded file again applies nothing and changes nothing", () => {
    const snapshot = db.$client.query("SELECT * FROM users ORDER BY id").all();
    const again = openDatabase(path);
    try {
      expect(again.$client.query("SELECT COUNT(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: EMBEDDED_MIGRATIONS.length });
      expect(again.$client.query("SELECT * FROM users ORDER BY id").all()).toEqual(snapshot);
    } finally {
      again.$client.close();
    }
  });

  test("the fixture file itself is untouched (the test upgraded a copy)", () => {
    expect(Buffer.compare(readFileSync(FIXTURE), fixtureBytes)).toBe(0);
    expect(readRaw(FIXTURE).migrations).toHaveLength(1);
  });
});

describe("the app on the upgraded file", () => {
  test("the old admin (Bun hash) and the old agent (pwdlib hash) both sign in, and /auth/me is each of them", async () => {
    for (const [account, row] of [
      [OLD_ADMIN, before.users[0]!],
      [OLD_AGENT, before.users[1]!],
    ] as const) {
      const token = await signIn(request, account);
      const me = await request("GET", "/auth/me", { token });
      expect(me.status).toBe(200);
      expectNoLeak(me.text, [account.password]);
      expect(me.json).toEqual({
        id: row.id,
        name: row.name,
        email: row.email,
        role: row.role,
        is_active: true,
        created_at: row.created_at,
        last_login_at: expect.stringMatching(/Z$/),
      });
    }
  });

  test("wrong passwords for the old accounts are still refused", async () => {
    for (const email of [OLD_ADMIN.email, OLD_AGENT.email]) {
      const response = await request("POST", "/auth/login", { body: { email, password: "not-their-password" } });
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ detail: "Invalid email or password" });
    }
  });

  test("the old admin runs the admin API over the old rows", async () => {
    const token = await signIn(request, OLD_ADMIN);
    const list = await request("GET", "/admin/users", { token });
    expect(list.status).toBe(200);
    expectNoLeak(list.text);
    expect(list.headers.get("x-total-count")).toBe(String(before.users.length));
    expect((list.json as Array<{ id: number; email: string }>).map((u) => [u.id, u.email])).toEqual(
      before.users.map((u) => [u.id, u.email]),
    );
  });

  test("a foundation-era token (no version claim) counts as version 0: accepted until the account's version moves", async () => {
    const agent = before.users[1]!;
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: String(agent.id), iat: now, exp: now + 3600 })}`;
    const legacy = `${head}.${createHmac("sha256", TEST_SECRET).update(head).digest("base64url")}`;

    const me = await request("GET", "/auth/me", { token: legacy });
    expect(me.status).toBe(200);
    expect(me.json.id).toBe(agent.id);
    expectNoLeak(me.text);

    // Logging out bumps the version to 1: the versionless token (version 0) stops working.
    const logout = await request("POST", "/auth/logout", { token: legacy });
    expect(logout.status).toBe(204);
    const after = await request("GET", "/auth/me", { token: legacy });
    expect(after.status).toBe(401);
    expect(after.json).toEqual({ detail: "Invalid or expired token" });
    // The account itself still signs in.
    const fresh = await signIn(request, OLD_AGENT);
    expect((await request("GET", "/auth/me", { token: fresh })).status).toBe(200);
  });
});
