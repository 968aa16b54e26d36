// The operator commands as they run at the host: backup, restore, migrate, doctor, audit.
// `bun src/main.ts ...` spawned in a temp directory with an explicit environment, checked by exit code,
// output and the files left behind. Every database is a real file; the fixture is copied, never touched.
import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { filesystemTypeOf } from "../src/cli/commands/doctor-checks.ts";
import { CommandError } from "../src/cli/errors.ts";
import { assertSchemaNotNewer } from "../src/cli/dbfile.ts";
import { acquireServeLock, serveLockHolder, serveLockPath } from "../src/db/serve-lock.ts";
import { openDatabase } from "../src/db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../src/db/migrations.ts";
import { recordEvent } from "../src/audit/service.ts";
import { updateUser } from "../src/accounts/service.ts";
import { ROOT, tempDir } from "./helpers.ts";
import { expectOneLineError, freePort, listeningUrl, login, runCli, startServe, stopServer, type Env } from "./support/processes.ts";

const FIXTURE = join(ROOT, "test/fixtures/foundation-era.sqlite");
const SECRET = "ops-cli-secret-key-0123456789abcdef-0123456789";
const PASSWORD = "ops-Admin-pass-42";
const FUTURE_HASH = "f".repeat(64);
const TAGS = EMBEDDED_MIGRATIONS.map((m) => m.tag);

// Every test spawns moxie; on a loaded machine one spawn can take half a second, so each test has an explicit
// 60 s timeout (setDefaultTimeout in test/setup.ts reaches only the first file of a multi-file run).

/**
 * Built once and copied into each workspace, so tests do not pay for a create-admin (argon2) each:
 * ADMIN_DB has the schema, admin@ops.test (by `moxie create-admin`) and its audit event; EMPTY_DB the schema only.
 */
let ADMIN_DB: string;
let EMPTY_DB: string;
beforeAll(async () => {
  const ws = workspace();
  await createAdmin(ws);
  inspect(ws.db, () => {}); // the last connection to close folds the WAL into the file
  ADMIN_DB = join(tempDir("moxie-ops-template-"), "admin.db");
  copyFileSync(ws.db, ADMIN_DB);
  // `moxie migrate` never creates a database; the shipped migrations, applied as serve applies them, do.
  EMPTY_DB = join(tempDir("moxie-ops-template-"), "empty.db");
  const empty = openDatabase(EMPTY_DB);
  empty.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  empty.$client.close();
}, 60_000);

/** A workspace whose moxie.db is a copy of `template` (0600, like moxie's own). */
function seeded(template: () => string): ReturnType<typeof workspace> {
  const ws = workspace();
  copyFileSync(template(), ws.db);
  chmodSync(ws.db, 0o600);
  return ws;
}

/** Adds an account straight into the file, reusing an existing hash: no argon2, no audit event. */
function insertUser(path: string, email: string): void {
  inspect(path, (db) =>
    db.run(
      "INSERT INTO users (name, email, password_hash, role) SELECT 'Inserted', ?, password_hash, 'agent' FROM users WHERE id = 1",
      [email],
    ),
  );
}

/** A temp directory (0700) holding moxie.db, and the environment that points moxie at it. */
function workspace(): { dir: string; db: string; env: Env } {
  const dir = tempDir("moxie-ops-");
  const db = join(dir, "moxie.db");
  return { dir, db, env: { SECRET_KEY: SECRET, DATABASE_URL: db } };
}

function cli(args: string[], ws: { dir: string; env: Env }) {
  return runCli(args, { cwd: ws.dir, env: ws.env });
}

async function createAdmin(ws: { dir: string; env: Env }, email = "admin@ops.test"): Promise<void> {
  const result = await cli(["create-admin", "--email", email, "--name", "Ops Admin", "--password", PASSWORD], ws);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
}

/**
 * Reads a database file without leaving anything behind: read-write (so closing the last connection removes
 * a WAL's -wal/-shm) but never created, and no statement that writes.
 */
function inspect<T>(path: string, read: (db: Database) => T): T {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const emails = (path: string) =>
  inspect(path, (db) => (db.query("SELECT email FROM users ORDER BY id").all() as { email: string }[]).map((r) => r.email));
const integrity = (path: string) => inspect(path, (db) => db.query("PRAGMA integrity_check").values().flat());
const migrationRows = (path: string) =>
  inspect(path, (db) => db.query("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at").all() as {
    hash: string;
    created_at: number;
  }[]);

/** Records a migration no moxie of this version knows, as a newer release would. */
function addFutureMigration(path: string): void {
  const last = EMBEDDED_MIGRATIONS.at(-1)!.folderMillis;
  inspect(path, (db) =>
    db.query("INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)").run(FUTURE_HASH, last + 86_400_000),
  );
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** A pid that was real a moment ago and is now gone. */
async function deadPid(): Promise<number> {
  const proc = Bun.spawn(["true"]);
  await proc.exited;
  return proc.pid;
}


const adminDb = () => ADMIN_DB;
const emptyDb = () => EMPTY_DB;

// ---------------------------------------------------------------------------------------------------------

describe("moxie backup", () => {
  test("writes a checked, owner-only copy named moxie-backup-<UTC>.db beside the database and prints its size", async () => {
    const ws = seeded(adminDb);
    const result = await cli(["backup"], ws);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const match = /^Backup written: (.+\/moxie-backup-\d{8}T\d{6}Z\.db) \((\d+\.\d) KiB\)\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    const path = match![1]!;
    expect(path.startsWith(ws.dir + "/")).toBe(true);
    expect(Number(match![2])).toBe(Number((statSync(path).size / 1024).toFixed(1)));
    expect(mode(path)).toBe(0o600);
    expect(integrity(path)).toEqual(["ok"]);
    expect(emails(path)).toEqual(["admin@ops.test"]);
  }, 60_000);

  test("PATH names the file; an existing file is never overwritten (bad input, exit 2); a directory gets the default name", async () => {
    const ws = seeded(adminDb);
    const first = await cli(["backup", "first.db"], ws);
    expect(first.code).toBe(0);
    expect(first.stdout).toStartWith(`Backup written: ${join(ws.dir, "first.db")} (`);
    const bytes = readFileSync(join(ws.dir, "first.db"));

    const again = await cli(["backup", "first.db"], ws);
    expect(again.code).toBe(2);
    expectOneLineError(again.stderr);
    expect(again.stderr).toContain("already exists");
    expect(readFileSync(join(ws.dir, "first.db")).equals(bytes)).toBe(true);

    writeFileSync(join(ws.dir, "notes.txt"), "keep me");
    const other = await cli(["backup", "notes.txt"], ws);
    expect(other.code).toBe(2);
    expectOneLineError(other.stderr);
    expect(readFileSync(join(ws.dir, "notes.txt"), "utf8")).toBe("keep me");

    const into = tempDir("moxie-ops-backups-");
    const dirTarget = await cli(["backup", into], ws);
    expect(dirTarget.code).toBe(0);
    expect(readdirSync(into)).toEqual([expect.stringMatching(/^moxie-backup-\d{8}T\d{6}Z\.db$/)]);
  }, 60_000);

  test("fails and leaves no file: no database (1), a missing directory (bad input, 2), a database that is not SQLite (1)", async () => {
    const ws = workspace();
    const none = await cli(["backup", "b.db"], ws);
    expect(none.code).toBe(1);
    expectOneLineError(none.stderr);
    expect(none.stderr).toContain(`no database at ${ws.db} (DATABASE_URL in the environment)`);
    expect(readdirSync(ws.dir)).toEqual([]);

    copyFileSync(ADMIN_DB, ws.db);
    const missingDir = await cli(["backup", "nowhere/b.db"], ws);
    expect(missingDir.code).toBe(2);
    expectOneLineError(missingDir.stderr);
    expect(missingDir.stderr).toContain(`the directory ${join(ws.dir, "nowhere")} does not exist`);
    expect(existsSync(join(ws.dir, "nowhere"))).toBe(false);

    const junk = join(ws.dir, "junk.db");
    writeFileSync(junk, "this is not a database ".repeat(200));
    const broken = await runCli(["backup", "partial.db"], { cwd: ws.dir, env: { ...ws.env, DATABASE_URL: junk } });
    expect(broken.code).toBe(1);
    expectOneLineError(broken.stderr);
    expect(broken.stderr).toContain("backup failed");
    expect(existsSync(join(ws.dir, "partial.db"))).toBe(false);

    const extra = await cli(["backup", "a.db", "b.db"], ws);
    expect(extra.code).toBe(2);
  }, 60_000);

  test("is consistent while the running server keeps writing: holds every user confirmed before it started", async () => {
    const ws = seeded(adminDb);
    const server = startServe(["--port", String(freePort())], { cwd: ws.dir, env: ws.env });
    const url = await listeningUrl(server);
    const signedIn = await login(url, "admin@ops.test", PASSWORD);
    expect(signedIn.status).toBe(200);
    const token = ((await signedIn.json()) as { access_token: string }).access_token;

    // Sequential creates (each one argon2-bound), so the order they commit in is the order they are confirmed.
    const TOTAL = 15;
    const confirmed: Array<{ email: string; at: number }> = [];
    const writer = (async () => {
      for (let i = 0; i < TOTAL; i++) {
        const email = `agent${i}@ops.test`;
        const response = await fetch(`${url}/admin/users`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: `Agent ${i}`, email, password: `ops-Agent-pass-${i}x`, role: "agent" }),
        });
        if (response.status !== 201) throw new Error(`POST /admin/users: ${response.status} ${await response.text()}`);
        confirmed.push({ email, at: performance.now() });
      }
    })();

    while (confirmed.length < 3) {
      await Promise.race([writer, Bun.sleep(10)]);
    }
    const startedAt = performance.now();
    const before = confirmed.map((c) => c.email);
    const backup = await cli(["backup", "during-writes.db"], ws);
    await writer;

    expect(backup.stderr).toBe("");
    expect(backup.code).toBe(0);
    // The writes really went on around the backup.
    expect(before.length).toBeLessThan(TOTAL);
    expect(confirmed.filter((c) => c.at > startedAt).length).toBeGreaterThan(0);

    const copy = join(ws.dir, "during-writes.db");
    expect(integrity(copy)).toEqual(["ok"]);
    const inCopy = emails(copy);
    for (const email of before) expect(inCopy).toContain(email);
    // A snapshot: exactly the first N accounts in the order they were written, no gaps, nothing half-written.
    expect(inCopy).toEqual(["admin@ops.test", ...confirmed.map((c) => c.email)].slice(0, inCopy.length));

    expect(await stopServer(server)).toBe(0);
    expect(emails(ws.db)).toHaveLength(TOTAL + 1);
  }, 60_000);
});

describe("serve lock", () => {
  test("an OS file lock: held while the holder lives, refused to a second taker with the holder's pid, gone the moment the holder dies; release removes the file", async () => {
    const { db } = workspace();
    expect(serveLockHolder(db)).toBeNull();
    const release = acquireServeLock(db);
    expect(readFileSync(serveLockPath(db), "utf8")).toBe(`${process.pid}\n`);
    expect(mode(serveLockPath(db))).toBe(0o600);
    expect(serveLockHolder(db)).toEqual({ pid: process.pid });
    // flock belongs to the open descriptor: a second taker is refused even in the same process.
    expect(() => acquireServeLock(db)).toThrow(new CommandError(`another moxie server (pid ${process.pid}) is using ${db}; stop it first`));
    release();
    release(); // idempotent
    expect(existsSync(serveLockPath(db))).toBe(false);
    expect(serveLockHolder(db)).toBeNull();

    // A file naming a live process that holds no lock (a crashed server's pid, now another program's) is stale.
    const other = Bun.spawn(["sleep", "30"]);
    try {
      writeFileSync(serveLockPath(db), `${other.pid}\n`);
      expect(serveLockHolder(db)).toBeNull();
      const again = acquireServeLock(db);
      expect(readFileSync(serveLockPath(db), "utf8")).toBe(`${process.pid}\n`);
      again();
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }

    // Another process holds it: refused, naming that process; SIGKILLed, it holds nothing and the file is taken over.
    const holder = Bun.spawn(
      [process.execPath, "-e", `const { acquireServeLock } = await import(${JSON.stringify(join(ROOT, "src/db/serve-lock.ts"))}); acquireServeLock(${JSON.stringify(db)}); console.log("held"); await Bun.sleep(60_000);`],
      { stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("held\n");
      expect(serveLockHolder(db)).toEqual({ pid: holder.pid });
      expect(() => acquireServeLock(db)).toThrow(new CommandError(`another moxie server (pid ${holder.pid}) is using ${db}; stop it first`));
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    expect(readFileSync(serveLockPath(db), "utf8")).toBe(`${holder.pid}\n`); // left behind by the kill
    expect(serveLockHolder(db)).toBeNull();
    const taken = acquireServeLock(db);
    expect(serveLockHolder(db)).toEqual({ pid: process.pid });
    // Someone removes the file under it and another taker makes a new one: the first's release leaves that alone.
    rmSync(serveLockPath(db));
    const second = acquireServeLock(db);
    taken();
    expect(serveLockHolder(db)).toEqual({ pid: process.pid });
    second();
    expect(existsSync(serveLockPath(db))).toBe(false);
  }, 60_000);
});

describe("moxie restore", () => {
  test("refuses while a server holds the database (exit 1), changing nothing", async () => {
    const ws = seeded(adminDb);
    copyFileSync(ADMIN_DB, join(ws.dir, "b.db"));
    const release = acquireServeLock(ws.db); // this process plays the server
    const before = readdirSync(ws.dir).sort();
    const bytes = readFileSync(ws.db);
    try {
      const result = await cli(["restore", "b.db"], ws);
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain(`pid ${process.pid}`);
      expect(result.stderr).toContain("stop the server first (systemctl stop moxie, or Ctrl-C)");
      expect(readdirSync(ws.dir).sort()).toEqual(before);
      expect(readFileSync(ws.db).equals(bytes)).toBe(true);
    } finally {
      release();
    }
  }, 60_000);

  test("puts the backup in place, keeps the previous database as .before-restore-<UTC>, owner-only", async () => {
    const ws = seeded(adminDb);
    expect((await cli(["backup", "b.db"], ws)).code).toBe(0);
    insertUser(ws.db, "later@ops.test");
    writeFileSync(serveLockPath(ws.db), `${await deadPid()}\n`); // a stale lock from a crashed server

    const result = await cli(["restore", "b.db"], ws);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe(`Restored ${ws.db} from ${join(ws.dir, "b.db")} (1 user)`);
    expect(lines[1]).toMatch(/^Previous database kept as .+\/moxie\.db\.before-restore-\d{8}T\d{6}Z$/);
    expect(lines.at(-2)).toBe(`Database is up to date (${TAGS.length} migrations)`);
    expect(lines.at(-1)).toBe("Signed everyone out (1 account): tokens issued before the restore no longer work; sign in again");

    expect(emails(ws.db)).toEqual(["admin@ops.test"]);
    expect(mode(ws.db)).toBe(0o600);
    const kept = lines[1]!.replace("Previous database kept as ", "");
    expect(emails(kept)).toEqual(["admin@ops.test", "later@ops.test"]);
    expect(readdirSync(ws.dir).filter((name) => name.includes("restoring"))).toEqual([]);
    expect(existsSync(serveLockPath(ws.db))).toBe(false);
  }, 60_000);

  test("gives the restored file a new database generation, unlike the backup's and the replaced file's, marked restored", async () => {
    const generation = (path: string) =>
      inspect(path, (db) => db.query("SELECT generation, restored_at FROM database_generation").all() as Array<{ generation: string; restored_at: string | null }>);
    const ws = seeded(adminDb);
    expect((await cli(["backup", "b.db"], ws)).code).toBe(0);
    const [inBackup] = generation(join(ws.dir, "b.db"));
    const [replaced] = generation(ws.db);
    // A database that was never restored: one generation, the same in its backup, and no restore recorded.
    expect(inBackup).toEqual({ generation: expect.stringMatching(/^[0-9a-f]{32}$/), restored_at: null });
    expect(replaced).toEqual(inBackup!);
    const result = await cli(["restore", "b.db"], ws);
    expect(result.code).toBe(0);
    const after = generation(ws.db);
    expect(after).toHaveLength(1);
    expect(after[0]!.generation).toMatch(/^[0-9a-f]{32}$/);
    expect(after[0]!.generation).not.toBe(inBackup!.generation);
    expect(after[0]!.restored_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The backup itself is only read.
    expect(generation(join(ws.dir, "b.db"))).toEqual([inBackup!]);
    // Restoring the same backup again begins yet another generation.
    expect((await cli(["restore", "b.db"], ws)).code).toBe(0);
    expect(generation(ws.db)[0]!.generation).not.toBe(after[0]!.generation);
  }, 60_000);

  test("a backup from an older schema (the foundation release) is restored and migrated forward", async () => {
    const ws = workspace();
    const old = join(ws.dir, "foundation.db");
    copyFileSync(FIXTURE, old);
    const result = await cli(["restore", "foundation.db"], ws);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("There was no previous database");
    for (const tag of TAGS.slice(1)) expect(result.stdout).toContain(`Applied ${tag}\n`);
    expect(result.stdout).not.toContain(`Applied ${TAGS[0]}`);
    expect(migrationRows(ws.db).map((r) => r.hash)).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.hash));
    expect(emails(ws.db)).toEqual(emails(FIXTURE));
    expect(readFileSync(old).equals(readFileSync(FIXTURE))).toBe(true);
  }, 60_000);

  test("refuses a backup from a newer moxie, a damaged file and a non-moxie database, changing nothing", async () => {
    const ws = seeded(adminDb);
    copyFileSync(ADMIN_DB, join(ws.dir, "newer.db"));
    addFutureMigration(join(ws.dir, "newer.db"));
    writeFileSync(join(ws.dir, "junk.db"), "SQLite format 3\0".padEnd(4096, "x"));
    const other = new Database(join(ws.dir, "other.db"));
    other.run("CREATE TABLE notes (body TEXT)");
    other.close();
    const live = readFileSync(ws.db);
    const before = readdirSync(ws.dir).sort();

    const newer = await cli(["restore", "newer.db"], ws);
    expect(newer.code).toBe(1);
    expectOneLineError(newer.stderr);
    expect(newer.stderr).toContain("newer than this moxie");
    expect(newer.stderr).toContain("upgrade moxie");

    // A damaged SQLite file is exit 1; another application's database is the wrong file named: bad input, exit 2.
    for (const [name, code] of [["junk.db", 1], ["other.db", 2]] as const) {
      const refused = await cli(["restore", name], ws);
      expect({ name, code: refused.code }).toEqual({ name, code });
      expectOneLineError(refused.stderr);
    }
    expect(readdirSync(ws.dir).sort()).toEqual(before);
    expect(readFileSync(ws.db).equals(live)).toBe(true);
  }, 60_000);
});

describe("moxie migrate", () => {
  test("--status lists every migration without creating or changing anything; migrate applies and reports", async () => {
    const ws = workspace();
    // No database there: refused like every command that reads one (a mistyped DATABASE_URL must not look fine).
    const fresh = await cli(["migrate", "--status"], ws);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toContain(`no database at ${ws.db} (DATABASE_URL in the environment); nothing was created.`);
    expect(readdirSync(ws.dir)).toEqual([]);

    copyFileSync(FIXTURE, ws.db);
    const status = await cli(["migrate", "--status"], ws);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`applied  ${TAGS[0]}`);
    for (const tag of TAGS.slice(1)) expect(status.stdout).toContain(`pending  ${tag}`);
    expect(status.stdout).toContain(`1 of ${TAGS.length} migrations applied; ${TAGS.length - 1} pending`);
    expect(readFileSync(ws.db).equals(readFileSync(FIXTURE))).toBe(true);

    const applied = await cli(["migrate"], ws);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toBe(
      [...TAGS.slice(1).map((tag) => `Applied ${tag}`), `Database is up to date (${TAGS.length} migrations)`].join("\n") + "\n",
    );
    expect(migrationRows(ws.db)).toHaveLength(TAGS.length);

    const again = await cli(["migrate"], ws);
    expect(again.stdout).toBe(`Database is up to date (${TAGS.length} migrations)\n`);
    const after = await cli(["migrate", "--status"], ws);
    for (const tag of TAGS) expect(after.stdout).toContain(`applied  ${tag}`);
    expect(after.stdout).toContain("up to date");
  }, 60_000);

  test("migrate with no database refuses (exit 1), says where it looked and why, and creates nothing", async () => {
    const ws = workspace();
    const result = await cli(["migrate"], ws);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain(`no database at ${ws.db} (DATABASE_URL in the environment); nothing was created`);
    expect(result.stderr).toContain("--env-file");
    expect(result.stdout).toBe("");
    expect(readdirSync(ws.dir)).toEqual([]);
  }, 60_000);

  test("a database written by a newer moxie is refused (exit 1) by migrate, --status and assertSchemaNotNewer", async () => {
    const ws = seeded(emptyDb);
    addFutureMigration(ws.db);
    const bytes = readFileSync(ws.db);

    const migrate = await cli(["migrate"], ws);
    expect(migrate.code).toBe(1);
    expectOneLineError(migrate.stderr);
    expect(migrate.stderr).toContain(`database schema is newer than this moxie ${packageJson.version}`);
    expect(migrate.stderr).toContain("upgrade moxie");

    const status = await cli(["migrate", "--status"], ws);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("unknown  a migration from");
    expect(status.stderr).toContain("newer than this moxie");
    expect(readFileSync(ws.db).equals(bytes)).toBe(true);

    expect(() => assertSchemaNotNewer(ws.db)).toThrow(CommandError);
    expect(() => assertSchemaNotNewer(join(ws.dir, "absent.db"))).not.toThrow();
    expect(existsSync(join(ws.dir, "absent.db"))).toBe(false);
    copyFileSync(FIXTURE, join(ws.dir, "old.db"));
    expect(() => assertSchemaNotNewer(join(ws.dir, "old.db"))).not.toThrow();
    expect(() => assertSchemaNotNewer(ADMIN_DB)).not.toThrow();
  }, 60_000);
});

describe("moxie doctor", () => {
  test("names a stored date it cannot read as a problem (exit 1), with the account, the column and the value", async () => {
    const ws = seeded(adminDb);
    inspect(ws.db, (db) => db.run("UPDATE users SET created_at = '30/11/2026' WHERE email = 'admin@ops.test'"));
    const id = inspect(ws.db, (db) => (db.query("SELECT id FROM users WHERE email = 'admin@ops.test'").get() as { id: number }).id);
    const result = await cli(["doctor"], ws);
    expect(result.code).toBe(1);
    const problems = result.stdout.slice(result.stdout.indexOf("Problems"));
    expect(problems).toContain(`moxie cannot read 1 stored date of accounts (users #${id} created_at "30/11/2026")`);
    // Read-only: the value is left for the operator to correct.
    expect(inspect(ws.db, (db) => (db.query("SELECT created_at AS at FROM users WHERE id = ?").get(id) as { at: string }).at)).toBe("30/11/2026");
  }, 60_000);

  test("healthy: version, settings with the key masked, database facts; exit 0", async () => {
    const ws = seeded(adminDb);
    const result = await cli(["doctor"], ws);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith(`moxie ${packageJson.version}\n`);
    expect(result.stdout).toMatch(new RegExp(`SECRET_KEY\\s+set \\(${SECRET.length} chars\\)`));
    expect(result.stdout).not.toContain(SECRET);
    expect(result.stdout).toContain(`path          ${ws.db}`);
    expect(result.stdout).toMatch(/size\s+\d+\.\d KiB/);
    expect(result.stdout).toMatch(/journal mode\s+wal/);
    expect(result.stdout).toContain(`${TAGS.length}/${TAGS.length} migrations applied (latest ${TAGS.at(-1)})`);
    expect(result.stdout).toContain("1 (1 active, 1 active admin)");
    expect(result.stdout).toContain("No problems.");
    expect(result.stdout).not.toContain("Advice");
  }, 60_000);

  test("problems (exit 1): a 0644 database, no active admin and a readable .env; never prints the key", async () => {
    const ws = seeded(emptyDb);
    chmodSync(ws.db, 0o644);
    writeFileSync(join(ws.dir, ".env"), `SECRET_KEY=${SECRET}\n`, { mode: 0o644 });
    const env = { DATABASE_URL: ws.db }; // the key comes from .env this time
    const result = await runCli(["doctor"], { cwd: ws.dir, env });
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("doctor found 3 problems");
    expect(result.stdout).toContain("Problems (exit 1; fix these):");
    expect(result.stdout).toMatch(new RegExp(`SECRET_KEY\\s+set \\(${SECRET.length} chars\\)`));
    expect(result.stdout).toContain(`${ws.db} is accessible by group or other (mode 0644): chmod 600 ${ws.db}`);
    expect(result.stdout).toContain("there is no active admin");
    expect(result.stdout).toContain(".env sets SECRET_KEY and is readable by group or other");
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 60_000);

  test("a generated key is named by path, never shown; a missing database is reported, not created", async () => {
    const ws = workspace();
    const env = { DATABASE_URL: ws.db };
    const missing = await runCli(["doctor"], { cwd: ws.dir, env });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("does not exist");
    expect(missing.stdout).toContain("not yet generated");
    expect(missing.stdout).toContain(`no database at ${ws.db} (DATABASE_URL in the environment)`);
    expect(readdirSync(ws.dir)).toEqual([]);

    copyFileSync(ADMIN_DB, ws.db);
    chmodSync(ws.db, 0o600);
    const key = "ab".repeat(32);
    writeFileSync(`${ws.db}.secret`, `${key}\n`, { mode: 0o640 });
    const result = await runCli(["doctor"], { cwd: ws.dir, env });
    expect(result.stdout).toMatch(new RegExp(`SECRET_KEY\\s+generated \\(${ws.db}\\.secret\\)`));
    expect(result.stdout).toContain(`${ws.db}.secret is accessible by group or other (mode 0640)`);
    expect(result.stdout + result.stderr).not.toContain(key);
    expect(result.stderr).toContain("doctor found 1 problem");
    expect(result.code).toBe(1);
  }, 60_000);

  test("filesystemTypeOf finds the innermost mount, unescaping /proc/mounts", () => {
    const mounts = [
      "/dev/sda1 / ext4 rw 0 0",
      "server:/export /srv nfs4 rw 0 0",
      "/dev/sdb1 /srv/local ext4 rw 0 0",
      "//nas/share /mnt/my\\040share cifs rw 0 0",
      "",
    ].join("\n");
    expect(filesystemTypeOf("/var/lib/moxie", mounts)).toBe("ext4");
    expect(filesystemTypeOf("/srv/moxie", mounts)).toBe("nfs4");
    expect(filesystemTypeOf("/srv", mounts)).toBe("nfs4");
    expect(filesystemTypeOf("/srv/local/moxie", mounts)).toBe("ext4");
    expect(filesystemTypeOf("/srvx", mounts)).toBe("ext4");
    expect(filesystemTypeOf("/mnt/my share/db", mounts)).toBe("cifs");
  });
});

describe("moxie audit", () => {
  test("lists CLI events newest first as a table or JSON, filters, and prunes by age", async () => {
    const ws = seeded(adminDb); // admin@ops.test was made by `moxie create-admin`: one user.created event
    insertUser(ws.db, "second@ops.test");
    expect((await cli(["deactivate", "--email", "second@ops.test"], ws)).code).toBe(0);

    const table = await cli(["audit"], ws);
    expect(table.stderr).toBe("");
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^TIME\s+TYPE\s+ACTOR\s+USER\s+EMAIL\s+IP\s+REASON\s+CHANGES\s+SESSION$/);
    expect(lines[1]).toMatch(/^\S+Z\s+user\.deactivated\s+cli\s+#2\s+second@ops\.test\s+-\s+-\s+-\s+-$/);
    expect(lines[2]).toMatch(/^\S+Z\s+user\.created\s+cli\s+#1\s+admin@ops\.test\s+-\s+-\s+-\s+-$/);
    expect(lines.at(-1)).toBe("2 events");

    const json = await cli(["audit", "--json", "--type", "user.created"], ws);
    expect(json.code).toBe(0);
    const events = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(events).toHaveLength(1);
    expect(Object.keys(events[0]!).sort()).toEqual(
      ["actor", "actor_user_id", "changes", "count", "created_at", "email", "id", "ip", "reason", "session_id", "type", "user_id"].sort(),
    );
    expect(events[0]).toMatchObject({ type: "user.created", actor: "cli", user_id: 1, actor_user_id: null });

    const byUser = JSON.parse((await cli(["audit", "--json", "--user-id", "2", "--limit", "1"], ws)).stdout);
    expect(byUser).toHaveLength(1);
    expect(byUser[0]).toMatchObject({ type: "user.deactivated", user_id: 2 });

    for (const bad of [["--type", "nope"], ["--prune-days", "7", "--json"]]) {
      const result = await cli(["audit", ...bad], ws);
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr);
    }

    // An edit says what it changed, and counted refusals their count, in the table as in --json and the API.
    const service = openDatabase(ws.db);
    try {
      await updateUser(service, "cli", 2, { name: "Second Agent", role: "admin" });
      recordEvent(service, { type: "login.failed", actor: "anonymous", email: "second@ops.test", ip: "203.0.113.9", reason: "throttled", count: 4 });
    } finally {
      service.$client.close();
    }
    const detailed = (await cli(["audit", "--limit", "2"], ws)).stdout.trim().split("\n");
    expect(detailed[1]).toMatch(/^\S+Z\s+login\.failed ×4\s+anonymous\s+-\s+second@ops\.test\s+203\.0\.113\.9\s+throttled\s+-\s+-$/);
    expect(detailed[2]).toMatch(/^\S+Z\s+user\.updated\s+cli\s+#2\s+second@ops\.test\s+-\s+-\s+/);
    expect(detailed[2]).toContain(`name: "Inserted" → "Second Agent"; role: "agent" → "admin"`);
    expect(detailed.at(-1)).toBe("2 of 4 events (newest first; --limit to see more)");

    inspect(ws.db, (db) =>
      db.run("INSERT INTO audit_events (created_at, type, actor, user_id) VALUES ('2000-01-01T00:00:00.000Z', 'logout', 'user', 1)"),
    );
    const prune = await cli(["audit", "--prune-days", "30"], ws);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toBe("Pruned 1 audit event older than 30 days\n");
    expect(inspect(ws.db, (db) => db.query("SELECT count(*) AS n FROM audit_events").get())).toEqual({ n: 4 });
  }, 60_000);
});
