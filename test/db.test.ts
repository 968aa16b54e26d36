// The database as shipped: migrations embedded, applied once, file modes and PRAGMAs.
import { describe, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import journal from "../drizzle/meta/_journal.json";
import { readGeneration } from "../src/db/generation.ts";
import { applyMigrations, openDatabase } from "../src/db/index.ts";
import { EMBEDDED_MIGRATIONS, MIGRATION_SQL } from "../src/db/migrations.ts";
import { ROOT, tempDir } from "./helpers.ts";

describe("migrations", () => {
  test("every SQL file drizzle-kit wrote is in the journal and embedded in the binary", async () => {
    const files = readdirSync(join(ROOT, "drizzle")).filter((name) => name.endsWith(".sql")).map((name) => name.replace(/\.sql$/, ""));
    expect(files.sort()).toEqual(journal.entries.map((entry) => entry.tag).sort());
    expect(Object.keys(MIGRATION_SQL).sort()).toEqual(files.sort());
    for (const tag of files) expect(MIGRATION_SQL[tag]).toBe(await Bun.file(join(ROOT, "drizzle", `${tag}.sql`)).text());
  });

  test("a fresh file gets the users table; applying again is a no-op", () => {
    const dir = tempDir();
    const db = openDatabase(join(dir, "nested", "moxie.db"));
    const columns = db.$client.query("PRAGMA table_info(users)").all() as { name: string }[];
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(["id", "name", "email", "password_hash", "role", "is_active", "created_at"]));
    const recorded = db.$client.query("SELECT hash FROM __drizzle_migrations").all();
    expect(recorded).toHaveLength(EMBEDDED_MIGRATIONS.length);
    expect(applyMigrations(db)).toEqual([]);
    expect(db.$client.query("SELECT hash FROM __drizzle_migrations").all()).toHaveLength(EMBEDDED_MIGRATIONS.length);
    db.$client.close();
    // Reopening an up-to-date file applies nothing either.
    const again = openDatabase(join(dir, "nested", "moxie.db"));
    expect(again.$client.query("SELECT hash FROM __drizzle_migrations").all()).toHaveLength(EMBEDDED_MIGRATIONS.length);
  });

  test("WAL, a busy timeout and foreign keys are on", () => {
    const db = openDatabase(join(tempDir(), "moxie.db"));
    expect(db.$client.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    // The 5 s a write waits for another connection's lock before 503 (README, SECURITY.md): writeWithRetry spends
    // exactly this connection's busy timeout.
    expect(db.$client.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 5000 });
    expect(db.$client.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
  });

  test("the directory and file are created readable by the owner only", () => {
    const dir = join(tempDir(), "data");
    const db = openDatabase(join(dir, "moxie.db"));
    db.$client.run("INSERT INTO users (name, email, password_hash) VALUES ('a', 'a@b.co', 'x')");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(dir)) expect({ name, mode: statSync(join(dir, name)).mode & 0o077 }).toEqual({ name, mode: 0 });
  });

  test("the role column refuses values other than admin and agent", () => {
    const db = openDatabase(join(tempDir(), "moxie.db"));
    expect(() => db.$client.run("INSERT INTO users (name, email, password_hash, role) VALUES ('a', 'a@b.co', 'x', 'root')")).toThrow();
  });
});

describe("the database generation", () => {
  test("every database gets one with the migration that makes its table, never restored; a second open keeps it", () => {
    const path = join(tempDir(), "moxie.db");
    const db = openDatabase(path);
    const first = readGeneration(db.$client);
    expect(first.id).toMatch(/^[0-9a-f]{32}$/);
    expect(first.restored).toBe(false);
    db.$client.close();
    const again = openDatabase(path);
    expect(readGeneration(again.$client)).toEqual(first);
    expect(readGeneration(openDatabase(join(tempDir(), "moxie.db")).$client).id).not.toBe(first.id);
  });

  test("a row removed or damaged by hand comes back at the next open as a new generation counted as restored", () => {
    for (const damage of ["DELETE FROM database_generation", "UPDATE database_generation SET generation = 'not-hex'"]) {
      const path = join(tempDir(), "moxie.db");
      const db = openDatabase(path);
      const before = readGeneration(db.$client);
      db.$client.run(damage);
      expect(() => readGeneration(db.$client)).toThrow("has no database generation");
      db.$client.close();
      const again = openDatabase(path);
      const after = readGeneration(again.$client);
      expect({ damage, restored: after.restored }).toEqual({ damage, restored: true });
      expect(after.id).not.toBe(before.id);
      expect(again.$client.query("SELECT count(*) AS n FROM database_generation").get()).toEqual({ n: 1 });
    }
  });

  test("one row only", () => {
    const db = openDatabase(join(tempDir(), "moxie.db"));
    expect(() => db.$client.run("INSERT INTO database_generation (id, generation) VALUES (2, '0123456789abcdef0123456789abcdef')")).toThrow();
  });
});
