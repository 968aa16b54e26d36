// backup, restore and doctor on a database that is damaged but still opens: the case their integrity checks
// exist for. A file that is not SQLite at all fails at open and proves nothing about those checks.
//
// The damage: an account row whose role breaks the table's CHECK constraint (written with
// ignore_check_constraints, as a bad tool or a bit flip in a record could). The file opens and reads, every
// query works, and only PRAGMA integrity_check / quick_check find it. VACUUM INTO copies the row as it is,
// so a backup of this file is damaged too and the check on the copy must catch it.
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";
import { expectOneLineError, runCli, type Env } from "./support/processes.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const SECRET = "damaged-db-secret-key-0123456789abcdef-0123";
const FINDING = "CHECK constraint failed in users";

function workspace(): { dir: string; db: string; env: Env } {
  const dir = tempDir("moxie-damaged-");
  return { dir, db: join(dir, "moxie.db"), env: { SECRET_KEY: SECRET, DATABASE_URL: join(dir, "moxie.db") } };
}

const cli = (args: string[], ws: { dir: string; env: Env }) => runCli(args, { cwd: ws.dir, env: ws.env });

/** A healthy moxie database with one admin, made by the CLI (so by the shipped migrations). */
async function healthy(): Promise<ReturnType<typeof workspace>> {
  const ws = workspace();
  const created = await cli(["create-admin", "--email", "admin@damaged.test", "--name", "Admin", "--password", "damaged-Admin-pass-1"], ws);
  expect(created.code).toBe(0);
  return ws;
}

/** Writes a row that breaks users' CHECK constraint, then shows the file still opens and reads. */
function damage(path: string): void {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    db.run("PRAGMA ignore_check_constraints = ON");
    db.run(
      "INSERT INTO users (name, email, password_hash, role) SELECT 'Broken', 'broken@damaged.test', password_hash, 'root' FROM users WHERE id = 1",
    );
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  // Read-write, as moxie opens it: SQLite skips CHECK constraints in integrity_check on a read-only connection.
  const check = new Database(path, { readwrite: true, create: false });
  try {
    expect((check.query("SELECT count(*) AS n FROM users").get() as { n: number }).n).toBe(2);
    expect(check.query("PRAGMA integrity_check").values().flat()).toEqual([FINDING]);
    expect(check.query("PRAGMA quick_check").values().flat()).toEqual([FINDING]);
  } finally {
    check.close();
  }
}

/**
 * Makes `path` unwritable for this process, as a backup on read-only media or owned by someone else is:
 * mode 0444 for an ordinary user; root writes through any mode, so for root the immutable attribute
 * (chattr +i, on the ext4 these tests run on). Returns the undo (an immutable file cannot even be deleted).
 */
function writeProtect(path: string): () => void {
  if (process.getuid?.() !== 0) {
    const directory = statSync(path).isDirectory();
    chmodSync(path, directory ? 0o555 : 0o444);
    return () => chmodSync(path, directory ? 0o700 : 0o600);
  }
  const set = Bun.spawnSync(["chattr", "+i", path], { stderr: "pipe" });
  if (set.exitCode !== 0) throw new Error(`chattr +i ${path} failed (root needs it to make a file read-only): ${set.stderr}`);
  return () => {
    Bun.spawnSync(["chattr", "-i", path]);
  };
}

describe("a database that opens but fails integrity_check", () => {
  test("backup: exit 1 naming the finding, and no file is kept", async () => {
    const ws = await healthy();
    damage(ws.db);
    const before = readdirSync(ws.dir).sort();
    const result = await cli(["backup", "copy.db"], ws);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("backup failed, nothing was kept");
    expect(result.stderr).toContain(FINDING);
    expect(existsSync(join(ws.dir, "copy.db"))).toBe(false);
    expect(readdirSync(ws.dir).sort()).toEqual(before);
  }, 30_000);

  test("restore of a damaged backup: exit 1 naming the backup and the finding; the database is untouched", async () => {
    const ws = await healthy();
    const backup = join(ws.dir, "damaged-backup.db");
    copyFileSync(ws.db, backup);
    damage(backup);
    const bytes = readFileSync(ws.db);
    const before = readdirSync(ws.dir).sort();
    const result = await cli(["restore", "damaged-backup.db"], ws);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    // Refused by the check of the backup itself, before anything is copied or moved.
    expect(result.stderr).toContain(`${backup} fails the integrity check: ${FINDING}`);
    expect(readFileSync(ws.db).equals(bytes)).toBe(true);
    expect(readdirSync(ws.dir).sort()).toEqual(before);
  }, 30_000);

  test("restore of a damaged backup this user cannot write (read-only storage): still refused, naming the finding", async () => {
    // SQLite opens a write-protected file read-only, and on a read-only connection its integrity check skips
    // CHECK constraints: the damage here is exactly what it would miss.
    const ws = await healthy();
    const backup = join(ws.dir, "read-only-backup.db");
    copyFileSync(ws.db, backup);
    damage(backup);
    const bytes = readFileSync(ws.db);
    const release = writeProtect(backup);
    try {
      const result = await cli(["restore", "read-only-backup.db"], ws);
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain(`${backup} fails the integrity check: ${FINDING}`);
      expect(readFileSync(ws.db).equals(bytes)).toBe(true);
      // The private copy the check was made on is gone.
      expect(readdirSync(tmpdir()).filter((name) => name.startsWith("moxie-check-"))).toEqual([]);
    } finally {
      release();
    }
  }, 30_000);

  test("restore of a live database copied with cp into a directory this user cannot write: says why and what to do", async () => {
    // Not damage, but the same read-only path: a WAL-mode file cannot be read without creating its -shm.
    const ws = await healthy();
    const shelf = join(ws.dir, "shelf");
    mkdirSync(shelf);
    copyFileSync(ws.db, join(shelf, "copied.db"));
    const bytes = readFileSync(ws.db);
    const release = writeProtect(shelf);
    try {
      const result = await cli(["restore", join(shelf, "copied.db")], ws);
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain(`cannot read ${join(shelf, "copied.db")}`);
      expect(result.stderr).toContain("it is in WAL mode and SQLite must create a file beside it in a directory this user cannot write: copy it somewhere writable, or make backups with `moxie backup`");
      expect(readFileSync(ws.db).equals(bytes)).toBe(true);
    } finally {
      release();
    }
  }, 30_000);

  test("doctor: reports the finding as a warning and exits 1", async () => {
    const ws = await healthy();
    const sound = await cli(["doctor"], ws);
    expect(sound.stdout).toContain("ok (quick_check)");
    damage(ws.db);
    const result = await cli(["doctor"], ws);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("ok (quick_check)");
    expect(result.stdout + result.stderr).toContain(`the database fails quick_check: ${FINDING}; restore a backup`);
  }, 30_000);
});
