// The database as shipped: migrations embedded, applied once, file modes and PRAGMAs.
import { describe, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import journal from "../drizzle/meta/_journal.json";
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
