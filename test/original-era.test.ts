// Switching from the Python moxie: the compiled binary pointed at the database the original left behind
// (test/fixtures/original-era.sqlite, made by the original's own code; ../shared/fixtures/README.md), with the
// original's .env. Every test works on a copy; the fixture itself is never written.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ORIGINAL_TABLES } from "../src/db/adopt.ts";
import { EMBEDDED_MIGRATIONS } from "../src/db/migrations.ts";
import { binaryAloneIn } from "./support/binary.ts";
import { ROOT, tempDir } from "./helpers.ts";
import {
  expectOneLineError,
  freePort,
  listeningUrl,
  login,
  runCli,
  spawnServe,
  startServe,
  stopServer,
  type Env,
  type ServerProcess,
} from "./support/processes.ts";

if (!Bun.which("python3")) console.warn("original-era: two way-back tests are skipped: python3 is missing (apt-get install python3; `bun run test` installs it as root)");

const FIXTURE = join(ROOT, "test/fixtures/original-era.sqlite");
const ANSWERS = JSON.parse(readFileSync(join(ROOT, "test/fixtures/original-era.answers.json"), "utf8"));
const ORIGINAL_SECRET = "original-secret-key-0123456789abcdef0123456789";
const ADMIN = { email: "admin@example.com", password: "AdminPass#2026" };
const ANA = { email: "ana@example.com", password: "AnaPass#2026" };
const IVAN = { email: "ivan@example.com", password: "IvanPass#2026" };
const TAGS = EMBEDDED_MIGRATIONS.map((m) => m.tag);
const SLOW = 90_000;

/** The original's .env as its README had operators write it: its keys, and the scraper's, which moxie ignores. */
const ORIGINAL_DOT_ENV = [
  "DATABASE_URL=sqlite:///./moxie.db",
  `SECRET_KEY=${ORIGINAL_SECRET}`,
  "CORS_ORIGINS=http://localhost:3000,http://localhost:5173",
  "GOOGLE_SHEETS_ID=1AbCdEfGhIjKlMnOpQrStUvWxYz",
  "GOOGLE_SHEETS_CREDENTIALS_PATH=./credentials.json",
  "ANTHROPIC_API_KEY=sk-ant-not-a-real-key",
  "SCRAPE_CONCURRENCY=4",
  "",
].join("\n");

let binary: string;
beforeAll(async () => {
  binary = await binaryAloneIn();
}, SLOW);

/** A deployment directory as the original left it: moxie.db (a copy of the fixture) and its .env, owner-only. */
function deployment(dotEnv = ORIGINAL_DOT_ENV): { dir: string; db: string } {
  const dir = tempDir("moxie-original-");
  const db = join(dir, "moxie.db");
  copyFileSync(FIXTURE, db);
  chmodSync(db, 0o600);
  writeFileSync(join(dir, ".env"), dotEnv, { mode: 0o600 });
  return { dir, db };
}

function moxie(args: string[], cwd: string, env: Env = {}) {
  return runCli(args, { cwd, env, command: [binary], timeoutMs: 60_000 });
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function withDb<T>(path: string, work: (db: Database) => T): T {
  const db = new Database(path);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** Schema and every value (typed, via quote()) of the original's own tables: what "untouched" means. */
function dumpOriginalTables(path: string, tables: readonly string[] = ORIGINAL_TABLES): string {
  return withDb(path, (db) => {
    const lines: string[] = [];
    for (const table of tables) {
      const objects = db.query("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? ORDER BY type, name").all(table);
      lines.push(JSON.stringify(objects));
      const columns = (db.query("SELECT name FROM pragma_table_info(?)").all(table) as Array<{ name: string }>).map((c) => `quote("${c.name}")`);
      for (const row of db.query(`SELECT ${columns.join(" || ',' || ")} AS v FROM "${table}" ORDER BY rowid`).all() as Array<{ v: string }>) {
        lines.push(`${table}: ${row.v}`);
      }
    }
    return lines.join("\n");
  });
}

function tableNames(path: string): string[] {
  return withDb(path, (db) => (db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name));
}

/** A token as the original signed it (PyJWT, HS256): claims sub and exp only. */
function originalToken(userId: number, expiresInSeconds: number, secret = ORIGINAL_SECRET): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub: String(userId), exp: Math.floor(Date.now() / 1000) + expiresInSeconds })}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

/** "2026-11-30T05:53:04.778602" (the original's answer) → "2026-11-30T05:53:04.778Z" (moxie's one wire form). */
function wireFormOf(originalAnswer: string): string {
  return `${originalAnswer.slice(0, 23)}Z`;
}

/** The instant as the original's SQLAlchemy stores `datetime.utcnow()`: `2026-12-07 08:00:00.123000`. */
function sqlalchemyUtcNow(instant: Date): string {
  return `${instant.toISOString().slice(0, 23).replace("T", " ")}000`;
}

/** When the original adds a user on the way back: the test's own clock, never a fixed date (which "now" overtakes). */
let backAt: Date;

describe("the fixture as the original left it", () => {
  test("alembic at the users revision, the original's users table (no default for created_at), no moxie bookkeeping", () => {
    withDb(FIXTURE, (db) => {
      expect(db.query("SELECT version_num FROM alembic_version").all()).toEqual([{ version_num: "b89cce9ed1af" }]);
      const createdAt = (db.query("SELECT * FROM pragma_table_info('users') WHERE name = 'created_at'").get() as { dflt_value: unknown });
      expect(createdAt.dflt_value).toBeNull();
      expect(db.query("SELECT created_at FROM users WHERE id = 1").get()).toEqual({ created_at: "2026-11-30 05:53:04.778602" });
    });
    expect(tableNames(FIXTURE)).not.toContain("__drizzle_migrations");
  });
});

describe("a team switches: the original's database and .env, moxie started on them", () => {
  let ws: { dir: string; db: string };
  let url: string;
  // Spans several tests, so not startServe's (killed after each test); stopped below, or here if a test failed first.
  let server: ServerProcess | undefined;
  afterAll(async () => {
    if (server?.proc.exitCode === null) await stopServer(server, "SIGKILL");
  });
  let originalTablesBefore: string;
  let adminToken: string;

  beforeAll(() => {
    ws = deployment();
    originalTablesBefore = dumpOriginalTables(ws.db);
  });

  test("migrate --status says what adoption will do, and changes nothing", async () => {
    const before = sha256(ws.db);
    const status = await moxie(["migrate", "--status"], ws.dir);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("left by the Python moxie, alembic revision b89cce9ed1af");
    expect(status.stdout).toContain("adopt    0000_users");
    for (const tag of TAGS.slice(1)) expect(status.stdout).toContain(`pending  ${tag}`);
    expect(status.stdout).toContain("buildings, units, scrape_runs, alembic_version untouched");
    expect(sha256(ws.db)).toBe(before);
  }, SLOW);

  test("doctor, before the start, finds nothing wrong with the original's file and .env", async () => {
    const doctor = await moxie(["doctor"], ws.dir);
    expect(doctor.stdout).toContain("left by the Python moxie (alembic revision b89cce9ed1af); adopted at the next start");
    expect(doctor.stdout).toContain("No problems.");
    expect(doctor.code).toBe(0);
    // The scraper's keys are ignored without a word.
    expect(doctor.stdout + doctor.stderr).not.toMatch(/GOOGLE|ANTHROPIC|SCRAPE_CONCURRENCY/);
  }, SLOW);

  test("serve adopts the file at start and says so", async () => {
    server = spawnServe(["--port", String(freePort())], { cwd: ws.dir, command: [binary] });
    url = await listeningUrl(server);
    const adopted = server.logs().find((line) => line.msg === "adopted the Python moxie's database");
    expect(adopted).toMatchObject({ baseline: ["0000_users"], applied: TAGS.slice(1) });
    expect(server.stdout() + server.stderr()).not.toMatch(/GOOGLE|ANTHROPIC|"warn"/i);
  }, SLOW);

  test("each original account signs in with its password; the inactive one hears why", async () => {
    for (const account of [ADMIN, ANA]) {
      const response = await login(url, account.email, account.password);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
      expect(Object.keys(body).sort()).toEqual([...ANSWERS.login_admin.body_keys, "expires_in"].sort());
      if (account === ADMIN) adminToken = body.access_token;
    }
    const inactive = await login(url, IVAN.email, IVAN.password);
    expect(inactive.status).toBe(ANSWERS.login_inactive.status);
    expect(await inactive.json()).toEqual(ANSWERS.login_inactive.body);
    expect(inactive.headers.get("www-authenticate")).toBe(ANSWERS.login_inactive.www);
    const wrong = await login(url, ADMIN.email, "not-the-password");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual(ANSWERS.login_wrong.body);
  }, SLOW);

  test("/auth/me and /admin/users carry the original's dates in the one wire form, oldest first", async () => {
    const me = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: 1, email: ADMIN.email, created_at: "2026-11-30T05:53:04.778Z" });

    const list = await fetch(`${url}/admin/users`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toMatch(/argon2|password_hash/);
    const expected: Array<Record<string, unknown>> = (ANSWERS.admin_users.body as Array<Record<string, unknown>>).map((user) => ({
      ...user,
      // Deactivated by the original after it listed them.
      is_active: user.id === 3 ? false : user.is_active,
      created_at: wireFormOf(user.created_at as string),
    }));
    const answered: Array<Record<string, unknown>> = (JSON.parse(text) as Array<Record<string, unknown>>).map(
      ({ id, name, email, role, is_active, created_at }) => ({ id, name, email, role, is_active, created_at }),
    );
    expect(answered).toEqual(expected);
  }, SLOW);

  test("a token the original signed (sub and exp only) keeps working until it expires; an over-long one does not", async () => {
    const me = (token: string) => fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    const fresh = await me(originalToken(2, 8 * 3600 - 60));
    expect(fresh.status).toBe(200);
    expect(await fresh.json()).toMatchObject({ id: 2, email: ANA.email });
    expect((await me(originalToken(2, 9 * 3600))).status).toBe(401);
    expect((await me(originalToken(2, -10))).status).toBe(401);
    expect((await me(originalToken(2, 3600, "another-secret-key-0123456789abcdef-0123456789"))).status).toBe(401);
    // The inactive account's old token stays refused.
    expect((await me(originalToken(3, 3600))).status).toBe(401);
  }, SLOW);

  test("create, edit and deactivate work on the original's users table; answers are 2xx with Z dates", async () => {
    const auth = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
    const created = await fetch(`${url}/admin/users`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "Nina New", email: "nina@example.com", password: "NinaPass#2026-long" }),
    });
    expect(created.status).toBe(201);
    const nina = (await created.json()) as { id: number; created_at: string };
    expect(nina.id).toBe(4);
    expect(nina.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const edited = await fetch(`${url}/admin/users/2`, { method: "PATCH", headers: auth, body: JSON.stringify({ name: "Ana Agente" }) });
    expect(edited.status).toBe(200);
    expect(await edited.json()).toMatchObject({ id: 2, name: "Ana Agente", created_at: "2026-11-30T05:53:05.564Z" });

    const deactivated = await fetch(`${url}/admin/users/2/deactivate`, { method: "PATCH", headers: auth });
    expect(deactivated.status).toBe(200);
    expect(await deactivated.json()).toMatchObject({ id: 2, is_active: false, created_at: "2026-11-30T05:53:05.564Z" });

    const list = (await (await fetch(`${url}/admin/users`, { headers: auth })).json()) as Array<{ id: number; created_at: string }>;
    // Oldest first by the instant, whichever side of the fixture's own dates this machine's clock is on.
    expect(list.map((u) => u.id).sort()).toEqual([1, 2, 3, 4]);
    expect(list.map((u) => u.created_at)).toEqual(list.map((u) => u.created_at).sort());
    // The original's deactivation token for Ana, too, stops working: deactivation revokes.
    expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${originalToken(2, 3600)}` } })).status).toBe(401);
  }, SLOW);

  test("after a clean stop: the original's tables byte for byte as they were, moxie's rows readable by the original", async () => {
    expect(await stopServer(server!)).toBe(0);
    const again = startServe(["--port", String(freePort())], { cwd: ws.dir, command: [binary] });
    await listeningUrl(again); // the second start applies nothing
    expect(again.logs().some((line) => line.msg === "adopted the Python moxie's database")).toBe(false);
    expect(await stopServer(again)).toBe(0);
    expect(dumpOriginalTables(ws.db)).toBe(originalTablesBefore);
    withDb(ws.db, (db) => {
      expect(db.query("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at").all().map((r: any) => Number(r.created_at))).toEqual(
        EMBEDDED_MIGRATIONS.map((m) => m.folderMillis),
      );
      const nina = db.query("SELECT created_at, token_version, password_changed_at, last_login_at FROM users WHERE id = 4").get() as Record<string, unknown>;
      expect(nina.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      // The original's own columns keep their values for its rows.
      expect(db.query("SELECT created_at FROM users WHERE id IN (1, 3) ORDER BY id").all()).toEqual([
        { created_at: "2026-11-30 05:53:04.778602" },
        { created_at: "2026-11-30 05:53:05.725373" },
      ]);
      // The way back: the original's INSERT (its columns only) and UPDATE still work on moxie's schema.
      // The original stamps a new row with its own clock (naive UTC, microseconds), so the row is dated now.
      backAt = new Date();
      db.run("INSERT INTO users (name, email, password_hash, role, is_active, created_at) VALUES ('Back', 'back@example.com', 'x', 'agent', 1, ?)", [
        sqlalchemyUtcNow(backAt),
      ]);
      db.run("UPDATE users SET is_active = 1 WHERE id = 2");
      expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    });
  }, SLOW);

  test.skipIf(!Bun.which("python3"))("the way back: Python reads every stored created_at as SQLAlchemy does (datetime.fromisoformat)", async () => {
    const script = [
      "import sqlite3, sys, datetime",
      "db = sqlite3.connect(sys.argv[1])",
      "for (value,) in db.execute('SELECT created_at FROM users ORDER BY id'):",
      "    print(datetime.datetime.fromisoformat(value).isoformat())",
    ].join("\n");
    const run = Bun.spawnSync(["python3", "-c", script, ws.db], { stdout: "pipe", stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout.toString().trim().split("\n")).toHaveLength(5);
  });

  test("doctor is clean afterwards, and reads the users the original added on its way back", async () => {
    const doctor = await moxie(["doctor"], ws.dir);
    expect(doctor.stdout).toContain(`${TAGS.length}/${TAGS.length} migrations applied`);
    expect(doctor.stdout).toContain("users         5 (");
    expect(doctor.stdout).toContain("No problems.");
    expect(doctor.code).toBe(0);
    const users = await moxie(["users", "--json"], ws.dir);
    expect(users.code).toBe(0);
    const listed = JSON.parse(users.stdout) as Array<{ email: string; created_at: string }>;
    expect(listed.find((user) => user.email === "back@example.com")).toMatchObject({ created_at: backAt.toISOString() });
    for (const user of listed) expect(user.created_at).toMatch(/Z$/);
    expect(listed.map((user) => user.created_at)).toEqual(listed.map((user) => user.created_at).sort());
  }, SLOW);
});

describe("adoption is all or nothing", () => {
  test("a migration SQLite refuses mid-way: exit 1 with SQLite's reason on one line; the file byte for byte as it was", async () => {
    const ws = deployment();
    // A table of moxie's name the original does not have: 0001 applies, then 0002 fails.
    withDb(ws.db, (db) => db.run("CREATE TABLE audit_events (note TEXT)"));
    const before = sha256(ws.db);
    // Every command that migrates before it writes (a reading command would not try: see read-only.test.ts).
    for (const args of [["migrate"], ["unlock", "--email", ANA.email], ["serve", "--port", String(freePort())]]) {
      const result = await moxie(args, ws.dir);
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain("migration 0002_audit_events failed");
      expect(result.stderr).toContain("table `audit_events` already exists");
      expect(result.stderr).toContain("nothing was changed");
      expect(sha256(ws.db)).toBe(before);
      expect(readdirSync(ws.dir).sort()).toEqual([".env", "moxie.db"]);
    }
    expect(tableNames(ws.db)).not.toContain("__drizzle_migrations");
    const doctor = await moxie(["doctor"], ws.dir);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("the database cannot be migrated, so the next start would fail");
    expect(doctor.stdout).toContain("table `audit_events` already exists");
    expect(sha256(ws.db)).toBe(before);
  }, SLOW);

  test("a file in rollback-journal mode refused mid-way keeps its journal mode too (WAL is switched on only after success)", async () => {
    const ws = deployment();
    withDb(ws.db, (db) => {
      db.run("PRAGMA journal_mode = DELETE");
      db.run("ALTER TABLE users ADD COLUMN last_login_at TEXT"); // 0003 will collide with it
    });
    const before = sha256(ws.db);
    const result = await moxie(["migrate"], ws.dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("migration 0003_audit_detail_last_login failed");
    expect(result.stderr).toContain("duplicate column name: last_login_at");
    expect(sha256(ws.db)).toBe(before);
  }, SLOW);

  test("the empty __drizzle_migrations an earlier moxie left on a failed start does not stop adoption", async () => {
    const ws = deployment();
    withDb(ws.db, (db) => db.run("CREATE TABLE IF NOT EXISTS __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)"));
    const result = await moxie(["migrate"], ws.dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Adopted the Python moxie's database: 0000_users recorded as applied");
  }, SLOW);
});

/** The original's own migrations (test/fixtures/original-alembic, copied from its repository) as alembic reads them. */
const ALEMBIC_DIR = join(ROOT, "test/fixtures/original-alembic");
const alembicFiles = readdirSync(ALEMBIC_DIR).filter((name) => name.endsWith(".py")).map((name) => readFileSync(join(ALEMBIC_DIR, name), "utf8"));

/** The revision alembic's `upgrade head` brings a file to: the one no other revision names as its down_revision. */
function alembicHead(): string {
  const revisions = alembicFiles.map((text) => ({
    revision: /^revision: str = '(\w+)'/m.exec(text)![1]!,
    down: /^down_revision: .* = (?:'(\w+)'|None)/m.exec(text)![1] ?? null,
  }));
  const heads = revisions.filter((r) => !revisions.some((other) => other.down === r.revision)).map((r) => r.revision);
  expect(heads).toHaveLength(1);
  return heads[0]!;
}

/** The users migration's op.create_table('users', …): its columns, primary key and unique constraints. */
function originalUsersMigration() {
  const text = alembicFiles.find((file) => file.includes("op.create_table('users'"))!;
  const body = text.slice(text.indexOf("op.create_table('users'"), text.indexOf("# ### end Alembic commands ###"));
  const columns = [...body.matchAll(/sa\.Column\('(\w+)', sa\.(\w+)\(\)(.*)\),?$/gm)].map(([, name, type, rest]) => ({
    name: name!,
    type: type!,
    nullable: /nullable=True/.test(rest!),
    serverDefault: /server_default='([^']*)'/.exec(rest!)?.[1] ?? null,
  }));
  const names = (kind: string) => [...body.matchAll(new RegExp(`sa\\.${kind}\\(([^)]*)\\)`, "g"))].map((m) => [...m[1]!.matchAll(/'(\w+)'/g)].map((n) => n[1]!));
  return { revision: /^revision: str = '(\w+)'/m.exec(text)![1]!, columns, primaryKey: names("PrimaryKeyConstraint"), unique: names("UniqueConstraint") };
}

/** A copy of the fixture as the original's first migrations left it: no users table, at `revision`. */
function beforeUsersMigration(revision: "3522f8b6e283" | "50fb02b298b3"): { dir: string; db: string } {
  const ws = deployment();
  withDb(ws.db, (db) => {
    db.run("DROP TABLE users");
    // 3522f8b6e283 is the one that added this column (test/fixtures/original-alembic).
    if (revision === "50fb02b298b3") db.run("ALTER TABLE buildings DROP COLUMN consecutive_zero_count");
    db.run("UPDATE alembic_version SET version_num = ?", [revision]);
    db.run("VACUUM");
  });
  return ws;
}

function alembicVersion(path: string): string[] {
  return withDb(path, (db) => (db.query("SELECT version_num FROM alembic_version").all() as Array<{ version_num: string }>).map((r) => r.version_num));
}

describe("an original database from before its users migration (alembic 3522f8b6e283, no users table)", () => {
  test("is adopted: moxie creates the users table and records the original's users migration; the first admin is made, the rest untouched", async () => {
    const ws = beforeUsersMigration("3522f8b6e283");
    const before = dumpOriginalTables(ws.db, ["buildings", "units", "scrape_runs"]);
    const status = await moxie(["migrate", "--status"], ws.dir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("alembic revision 3522f8b6e283");
    for (const tag of TAGS) expect(status.stdout).toContain(`pending  ${tag}`);
    expect(status.stdout).toContain(
      "moves alembic_version from 3522f8b6e283 to b89cce9ed1af (the original's migration that creates the users table), and leaves buildings, units, scrape_runs untouched",
    );
    expect(alembicVersion(ws.db)).toEqual(["3522f8b6e283"]); // --status only reads

    const migrated = await moxie(["migrate"], ws.dir);
    expect(migrated.stderr).toBe("");
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain(
      "Adopted the Python moxie's database: its users table created; alembic_version moved from 3522f8b6e283 to b89cce9ed1af, " +
        "the original's migration that creates this users table, so its own `alembic upgrade head` does not create it again; " +
        "buildings, units, scrape_runs left untouched",
    );
    for (const tag of TAGS) expect(migrated.stdout).toContain(`Applied ${tag}`);
    expect(alembicVersion(ws.db)).toEqual(["b89cce9ed1af"]);

    const admin = await moxie(["create-admin", "--email", "first@example.com", "--name", "First", "--password", "First-Admin-2026"], ws.dir);
    expect(admin.code).toBe(0);
    const users = JSON.parse((await moxie(["users", "--json"], ws.dir)).stdout);
    expect(users).toEqual([expect.objectContaining({ id: 1, email: "first@example.com", role: "admin", created_at: expect.stringMatching(/Z$/) })]);
    expect(dumpOriginalTables(ws.db, ["buildings", "units", "scrape_runs"])).toBe(before);
  }, SLOW);

  test("the way back: the original's `alembic upgrade head` has nothing to run, as on a file that had users; before, it re-ran the users migration", async () => {
    // What alembic compares: the file's version_num with the head of the original's migration files.
    const head = alembicHead();
    expect(head).toBe("b89cce9ed1af");
    const hadUsers = deployment();
    const noUsers = beforeUsersMigration("3522f8b6e283");
    for (const ws of [hadUsers, noUsers]) {
      const migrated = await moxie(["migrate"], ws.dir);
      expect(migrated.code).toBe(0);
      expect(alembicVersion(ws.db)).toEqual([head]);
    }
    // Had the file stayed at 3522f8b6e283, upgrade head would run the users migration: the CREATE TABLE alembic
    // emitted for it (the fixture's, made by that migration), which now fails as the issue reported.
    const createUsers = withDb(FIXTURE, (db) => (db.query("SELECT sql FROM sqlite_master WHERE name = 'users'").get() as { sql: string }).sql);
    expect(() => withDb(noUsers.db, (db) => db.run(createUsers))).toThrow("table users already exists");
  }, SLOW);

  test("the users table moxie creates is the one the original's users migration creates: columns, key, unique email, defaults", async () => {
    const migration = originalUsersMigration();
    expect(migration.revision).toBe("b89cce9ed1af");
    const ws = beforeUsersMigration("3522f8b6e283");
    expect((await moxie(["migrate"], ws.dir)).code).toBe(0);
    type Info = { name: string; notnull: number; pk: number; dflt_value: string | null };
    const [made, alembics] = [ws.db, FIXTURE].map((path) =>
      withDb(path, (db) => ({
        columns: db.query("SELECT name, \"notnull\", pk, dflt_value FROM pragma_table_info('users')").all() as Info[],
        unique: (db.query("SELECT name FROM pragma_index_list('users') WHERE \"unique\" = 1").all() as Array<{ name: string }>).map(
          ({ name }) => (db.query("SELECT name FROM pragma_index_info(?)").all(name) as Array<{ name: string }>).map((c) => c.name),
        ),
      })),
    ) as [{ columns: Info[]; unique: string[][] }, { columns: Info[]; unique: string[][] }];
    // The migration's own columns, in its order, first; moxie's later ones (token_version, …) follow, as in an adopted file.
    const baseline = made.columns.slice(0, migration.columns.length);
    expect(baseline.map((c) => c.name)).toEqual(migration.columns.map((c) => c.name));
    // … as the table alembic made from it (the fixture's) has them.
    expect(alembics.columns.map((c) => [c.name, c.notnull, c.pk])).toEqual(baseline.map((c) => [c.name, c.notnull, c.pk]));
    expect(baseline.map((c) => c.notnull === 1)).toEqual(migration.columns.map((c) => !c.nullable));
    expect(baseline.filter((c) => c.pk > 0).map((c) => c.name)).toEqual(migration.primaryKey[0]!);
    expect(made.unique).toContainEqual(migration.unique[0]!);
    expect(alembics.unique).toContainEqual(migration.unique[0]!);
    // Server defaults: the same where the migration sets one (role 'agent', is_active '1'); moxie's created_at has
    // one too, which the original never relies on (it always writes created_at).
    const defaults = Object.fromEntries(migration.columns.filter((c) => c.serverDefault !== null).map((c) => [c.name, c.serverDefault]));
    expect(defaults).toEqual({ role: "agent", is_active: "1" });
    expect(baseline.filter((c) => c.dflt_value !== null).map((c) => c.name)).toEqual(["role", "is_active", "created_at"]);
  }, SLOW);

  test.skipIf(!Bun.which("python3"))("every write the original makes is stored the same in moxie's users table as in the one alembic made (Python's sqlite3)", async () => {
    const ws = beforeUsersMigration("3522f8b6e283");
    expect((await moxie(["migrate"], ws.dir)).code).toBe(0);
    const theirs = join(tempDir("moxie-alembic-users-"), "alembic.db");
    copyFileSync(FIXTURE, theirs);
    // As SQLAlchemy 2.0 on pysqlite writes the original's User: scripts/create_admin.py (every column; is_active True)
    // and POST /admin/users (role given, is_active left to the server default); created_at as naive UTC text.
    const script = [
      "import sqlite3, sys, json, datetime",
      "out = []",
      "for path in sys.argv[1:]:",
      "    db = sqlite3.connect(path)",
      "    now = datetime.datetime(2026, 12, 7, 8, 0, 0, 123000).isoformat(' ')",
      "    db.execute('INSERT INTO users (name, email, password_hash, role, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?)', ('Way Back', 'wayback-admin@example.com', '$argon2id$x', 'admin', True, now))",
      "    db.execute('INSERT INTO users (name, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)', ('Way Back', 'wayback-agent@example.com', '$argon2id$y', 'agent', now))",
      "    db.execute('UPDATE users SET is_active = ? WHERE email = ?', (False, 'wayback-agent@example.com'))",
      "    try:",
      "        db.execute('INSERT INTO users (name, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)', ('Twin', 'wayback-admin@example.com', 'z', 'agent', now))",
      "        twin = 'inserted'",
      "    except sqlite3.IntegrityError as error:",
      "        twin = 'refused'",
      "    db.commit()",
      "    rows = db.execute(\"SELECT typeof(name), name, typeof(email), email, typeof(role), role, typeof(is_active), is_active, typeof(created_at), created_at FROM users WHERE email LIKE 'wayback-%' ORDER BY email\").fetchall()",
      "    out.append({'rows': rows, 'twin': twin})",
      "print(json.dumps(out))",
    ].join("\n");
    const run = Bun.spawnSync(["python3", "-c", script, ws.db, theirs], { stdout: "pipe", stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    const [mine, alembics] = JSON.parse(run.stdout.toString()) as Array<{ rows: unknown[][]; twin: string }>;
    expect(mine!.rows).toHaveLength(2);
    expect(mine).toEqual(alembics!);
    expect(mine!.twin).toBe("refused");
    expect(mine!.rows[1]).toEqual(["text", "Way Back", "text", "wayback-agent@example.com", "text", "agent", "integer", 0, "text", "2026-12-07 08:00:00.123000"]);
  }, SLOW);
});

describe("an original database from its first revision (alembic 50fb02b298b3, no users table)", () => {
  test("is adopted without touching alembic_version (stamping would skip the original's 3522f8b6e283), and migrate says what the way back needs", async () => {
    const ws = beforeUsersMigration("50fb02b298b3");
    const before = dumpOriginalTables(ws.db);
    const wayBack =
      "Before the Python moxie runs on this file again, from its directory: `uv run alembic upgrade 3522f8b6e283 && uv run alembic stamp b89cce9ed1af`";
    const status = await moxie(["migrate", "--status"], ws.dir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("and leaves buildings, units, scrape_runs, alembic_version untouched");
    expect(status.stdout).toContain(wayBack);
    const migrated = await moxie(["migrate"], ws.dir);
    expect(migrated.stderr).toBe("");
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain("Adopted the Python moxie's database: its users table created; buildings, units, scrape_runs, alembic_version left untouched");
    expect(migrated.stdout).toContain(wayBack);
    expect(alembicVersion(ws.db)).toEqual(["50fb02b298b3"]);
    expect(dumpOriginalTables(ws.db)).toBe(before);
  }, SLOW);
});

describe("a database that is neither moxie's nor the original's", () => {
  test("is refused by every command with a sentence naming what it holds, and nothing is written", async () => {
    const dir = tempDir("moxie-unknown-");
    const path = join(dir, "other.db");
    withDb(path, (db) => {
      db.run("PRAGMA journal_mode = DELETE");
      db.run("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
      db.run("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)");
      db.run("INSERT INTO customers (name) VALUES ('Acme')");
    });
    const before = sha256(path);
    const env = { DATABASE_URL: path, SECRET_KEY: ORIGINAL_SECRET };
    for (const args of [["migrate"], ["migrate", "--status"], ["users"], ["create-admin", "--email", "a@b.co", "--name", "A", "--password", "Some-Pass-2026"], ["serve", "--port", String(freePort())]]) {
      const result = await runCli(args, { cwd: dir, env, command: [binary] });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain("is neither a moxie database nor one the Python moxie left");
      expect(result.stderr).toContain("customers, invoices");
      expect(sha256(path)).toBe(before);
      expect(readdirSync(dir)).toEqual(["other.db"]);
    }
    const doctor = await runCli(["doctor"], { cwd: dir, env, command: [binary] });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("moxie cannot use this database");
    expect(sha256(path)).toBe(before);
  }, SLOW);

  test("an alembic database of another application (unknown revision, no users table) is refused too", async () => {
    const dir = tempDir("moxie-unknown-");
    const path = join(dir, "other.db");
    withDb(path, (db) => {
      db.run("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)");
      db.run("INSERT INTO alembic_version VALUES ('0123456789ab')");
      db.run("CREATE TABLE orders (id INTEGER PRIMARY KEY)");
    });
    const before = sha256(path);
    const result = await runCli(["migrate"], { cwd: dir, env: { DATABASE_URL: path }, command: [binary] });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("alembic revision 0123456789ab, not one of the Python moxie's");
    expect(sha256(path)).toBe(before);
  }, SLOW);
});

describe("emails the original stored without any check", () => {
  test("accounts whose email is no address (or has a space) still sign in as stored; doctor advises a real one", async () => {
    const { dir, db } = deployment();
    // The original's API took any text as an email.
    withDb(db, (raw) => {
      raw.run("UPDATE users SET email = 'Office-Admin' WHERE id = 1");
      raw.run("UPDATE users SET email = 'ana@localhost' WHERE id = 2");
      raw.run("UPDATE users SET email = 'ivan smith@example.com', is_active = 1 WHERE id = 3");
    });
    const server = startServe(["--port", "0"], { cwd: dir, command: [binary] });
    const url = await listeningUrl(server);
    for (const [typed, password] of [
      ["Office-Admin", ADMIN.password],
      ["  office-admin ", ADMIN.password],
      ["ana@localhost", ANA.password],
      ["ivan smith@example.com", IVAN.password],
    ] as const) {
      const response = await login(url, typed, password);
      expect({ typed, status: response.status }).toEqual({ typed, status: 200 });
    }
    // Others are refused: a wrong password, and a space in an email no account has, with the same answer as a
    // wrong password for one that has it (a 422 there would tell which such accounts exist).
    expect((await login(url, "Office-Admin", ANA.password)).status).toBe(401);
    const unknown = await login(url, "nobody smith@example.com", ANA.password);
    const wrong = await login(url, "ivan smith@example.com", ANA.password);
    expect({ status: unknown.status, body: await unknown.text() }).toEqual({ status: 401, body: '{"detail":"Invalid email or password"}' });
    expect({ status: wrong.status, body: await wrong.text() }).toEqual({ status: 401, body: '{"detail":"Invalid email or password"}' });
    expect(await stopServer(server)).toBe(0);
    const doctor = await moxie(["doctor"], dir);
    expect(doctor.code).toBe(0);
    for (const [id, email] of [[1, "office-admin"], [2, "ana@localhost"], [3, "ivan smith@example.com"]] as const) {
      expect(doctor.stdout).toContain(`account #${id}'s email ${JSON.stringify(email)} is not an address; it signs in as stored`);
    }
  }, SLOW);
});

describe("restore understands an original-era backup", () => {
  test("a copy of the original's database is restored and adopted", async () => {
    const dir = tempDir("moxie-restore-original-");
    const backup = join(tempDir("moxie-restore-src-"), "original-backup.sqlite");
    copyFileSync(FIXTURE, backup);
    const before = sha256(backup);
    const env = { DATABASE_URL: join(dir, "moxie.db"), SECRET_KEY: ORIGINAL_SECRET };
    const restored = await runCli(["restore", backup], { cwd: dir, env, command: [binary] });
    expect(restored.stderr).toBe("");
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("(3 users)");
    expect(restored.stdout).toContain("Adopted the Python moxie's database: 0000_users recorded as applied");
    for (const tag of TAGS.slice(1)) expect(restored.stdout).toContain(`Applied ${tag}`);
    expect(sha256(backup)).toBe(before);
    const users = JSON.parse((await runCli(["users", "--json"], { cwd: dir, env, command: [binary] })).stdout);
    expect(users.map((u: { created_at: string }) => u.created_at)).toEqual([
      "2026-11-30T05:53:04.778Z",
      "2026-11-30T05:53:05.564Z",
      "2026-11-30T05:53:05.725Z",
    ]);
    expect(existsSync(join(dir, "moxie.db"))).toBe(true);
  }, SLOW);

  test("the original's tokens work until the first restore and never after it; signing in again does", async () => {
    const ws = deployment();
    const me = (url: string, token: string) => fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    const token = originalToken(2, 3600);
    const before = startServe(["--port", String(freePort())], { cwd: ws.dir, command: [binary] });
    try {
      // Adopted, never restored: the switch's promise holds.
      expect((await me(await listeningUrl(before), token)).status).toBe(200);
    } finally {
      expect(await stopServer(before)).toBe(0);
    }
    const backup = join(tempDir("moxie-restore-src-"), "original-backup.sqlite");
    copyFileSync(FIXTURE, backup);
    const restored = await moxie(["restore", backup], ws.dir);
    expect(restored.code).toBe(0);
    const after = startServe(["--port", String(freePort())], { cwd: ws.dir, command: [binary] });
    try {
      const url = await listeningUrl(after);
      const refused = await me(url, token);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ detail: "Invalid or expired token" });
      // A token signed after the restore, the original's way, is refused too: the database has been restored.
      expect((await me(url, originalToken(2, 60))).status).toBe(401);
      const signedIn = await login(url, ANA.email, ANA.password);
      expect(signedIn.status).toBe(200);
      expect((await me(url, ((await signedIn.json()) as { access_token: string }).access_token)).status).toBe(200);
    } finally {
      expect(await stopServer(after)).toBe(0);
    }
  }, SLOW);
});
