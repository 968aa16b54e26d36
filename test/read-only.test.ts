// Commands that only look (users, audit, doctor, backup, migrate --status) never write the database, shown by its
// bytes: on a copy of the file the Python original left (test/fixtures/original-era.sqlite) and on a moxie file
// with pending migrations (test/fixtures/foundation-era.sqlite), each with an email stored before the one-spelling
// rule, through the compiled binary run from another directory. The commands that write say what they changed.
import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EMBEDDED_MIGRATIONS } from "../src/db/migrations.ts";
import { binaryAloneIn } from "./support/binary.ts";
import { ROOT, tempDir } from "./helpers.ts";
import { expectOneLineError, freePort, listeningUrl, runCli, startServe, stopServer, type Env } from "./support/processes.ts";

/** Every migration after the users table, as this binary embeds them: both fixtures stop at 0000_users. */
const AFTER_USERS = EMBEDDED_MIGRATIONS.slice(1).map((migration) => migration.tag);

const SLOW = 90_000;
const ORIGINAL = join(ROOT, "test/fixtures/original-era.sqlite");
const FOUNDATION = join(ROOT, "test/fixtures/foundation-era.sqlite");

let binary: string;
beforeAll(async () => {
  binary = await binaryAloneIn();
}, SLOW);

interface Kind {
  label: string;
  fixture: string;
  /** An account whose stored email is not in its one spelling, as the original (or an old moxie) could leave it. */
  mixedCase: { id: number; stored: string; normalized: string };
  /** What users and audit say instead of reading. */
  refusal: string;
}

const KINDS: Kind[] = [
  {
    label: "the Python original's file (not adopted yet)",
    fixture: ORIGINAL,
    mixedCase: { id: 2, stored: "Ana@Example.com", normalized: "ana@example.com" },
    refusal: "is the Python moxie's database, not adopted yet: run `moxie migrate` (or `moxie serve`, which adopts it at start) first",
  },
  {
    label: "a moxie file with pending migrations (the foundation release's)",
    fixture: FOUNDATION,
    mixedCase: { id: 2, stored: "Agent@Old.Example", normalized: "agent@old.example" },
    refusal: `has ${AFTER_USERS.length} pending migrations (${AFTER_USERS.join(", ")}): run \`moxie migrate\``,
  },
];

/** The database in a directory of its own (so anything created beside it shows), owner-only, with the mixed-case email. */
function databaseFrom(kind: Kind): { dir: string; db: string } {
  const dir = tempDir("moxie-readonly-db-");
  const db = join(dir, "moxie.db");
  copyFileSync(kind.fixture, db);
  chmodSync(db, 0o600);
  const raw = new Database(db);
  raw.run("UPDATE users SET email = ? WHERE id = ?", [kind.mixedCase.stored, kind.mixedCase.id]);
  raw.close();
  chmodSync(dir, 0o700);
  return { dir, db };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function emailOf(db: string, id: number): string {
  const raw = new Database(db, { readonly: true });
  try {
    return (raw.query("SELECT email FROM users WHERE id = ?").get(id) as { email: string }).email;
  } finally {
    raw.close();
  }
}

/**
 * The binary, run from a directory that is not the database's, told where the database is; no SECRET_KEY (so a
 * key file would show). A free PORT: doctor tries it as serve would.
 */
function moxie(args: string[], env: Env, cwd = tempDir("moxie-readonly-cwd-")) {
  return runCli(args, { cwd, env: { PORT: String(freePort()), ...env }, command: [binary], timeoutMs: 60_000 });
}

for (const kind of KINDS) {
  describe(`reading commands on ${kind.label}`, () => {
    test("users, audit, doctor, backup and migrate --status leave the file byte for byte, and create nothing beside it", async () => {
      const { dir, db } = databaseFrom(kind);
      const env = { DATABASE_URL: db };
      const before = sha256(db);
      const elsewhere = tempDir("moxie-readonly-backups-");
      const { mixedCase: email } = kind;
      const rewrite = `#${email.id} ${JSON.stringify(email.stored)} → ${JSON.stringify(email.normalized)}`;

      for (const args of [["users"], ["users", "--json"], ["audit"], ["audit", "--json", "--limit", "5"]]) {
        const result = await moxie(args, env);
        expect({ args, code: result.code }).toEqual({ args, code: 1 });
        expectOneLineError(result.stderr);
        expect(result.stderr).toContain(`${db} ${kind.refusal}`);
        expect(result.stderr).toContain(`\`moxie ${args[0]}\` only reads, so it changed nothing`);
        expect(result.stdout).toBe("");
      }

      const status = await moxie(["migrate", "--status"], env);
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: "" });
      expect(status.stdout).toContain("`moxie migrate` (or the next start) will rewrite 1 stored email to its one spelling");
      expect(status.stdout).toContain(`  ${rewrite}\n`);

      const doctor = await moxie(["doctor"], env);
      expect(doctor.stderr).toBe("");
      expect(doctor.stdout).toContain(`the next start or \`moxie migrate\` rewrites 1 stored email to its one spelling (${rewrite})`);
      expect(doctor.stdout).toContain("No problems.");
      expect(doctor.code).toBe(0);

      const backup = await moxie(["backup", join(elsewhere, "copy.db")], env);
      expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readdirSync(elsewhere)).toEqual(["copy.db"]);

      expect(sha256(db)).toBe(before);
      // No -wal, -shm, -journal, .secret, lock or backup left where the database is.
      expect(readdirSync(dir)).toEqual(["moxie.db"]);
      expect(emailOf(db, email.id)).toBe(email.stored);
    }, SLOW);

    test("migrate says what it changed: the adoption or the migrations, and each email rewritten, from what to what", async () => {
      const { db } = databaseFrom(kind);
      const result = await moxie(["migrate"], { DATABASE_URL: db });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
      const { mixedCase: email } = kind;
      expect(result.stdout).toContain(
        "Rewrote 1 stored email to its one spelling (each recorded in the audit trail, reason email_normalized):\n" +
          `  #${email.id} ${JSON.stringify(email.stored)} → ${JSON.stringify(email.normalized)}\n`,
      );
      expect(result.stdout).toContain(`Applied ${AFTER_USERS.at(-1)}\n`);
      if (kind.fixture === ORIGINAL) expect(result.stdout).toContain("Adopted the Python moxie's database: 0000_users recorded as applied");
      expect(emailOf(db, email.id)).toBe(email.normalized);
      // Now the schema is this moxie's: the reading commands read it.
      const users = await moxie(["users", "--json"], { DATABASE_URL: db });
      expect(users.code).toBe(0);
      expect((JSON.parse(users.stdout) as Array<{ email: string }>).map((u) => u.email)).toContain(email.normalized);
    }, SLOW);

    test("serve logs what it changed: one line with each email's from and to", async () => {
      const { db } = databaseFrom(kind);
      const server = startServe(["--port", String(freePort())], { cwd: tempDir("moxie-readonly-serve-"), env: { DATABASE_URL: db }, command: [binary] });
      await listeningUrl(server);
      const line = server.logs().find((entry) => entry.msg === "rewrote stored emails to their one spelling");
      expect(line).toMatchObject({ count: 1, emails: [{ id: kind.mixedCase.id, from: kind.mixedCase.stored, to: kind.mixedCase.normalized }] });
      const migrated = server.logs().find((entry) => entry.msg === (kind.fixture === ORIGINAL ? "adopted the Python moxie's database" : "applied migrations"));
      expect(migrated).toMatchObject({ applied: AFTER_USERS });
      expect(await stopServer(server)).toBe(0);
    }, SLOW);
  });
}

describe("while the Python original still serves from the file", () => {
  test("the reading commands work beside its open write transaction, and its file and WAL stay as they were", async () => {
    const { dir, db } = databaseFrom(KINDS[0]!);
    // The original's connection (its session.py sets WAL), in the middle of a write it has not committed.
    const original = new Database(db);
    try {
      original.run("PRAGMA journal_mode = WAL");
      original.run("BEGIN IMMEDIATE");
      original.run("UPDATE buildings SET last_scrape_status = 'running' WHERE id = 1");
      const before = { db: sha256(db), wal: sha256(`${db}-wal`) };
      const env = { DATABASE_URL: db };
      for (const args of [["users"], ["audit"]]) {
        const result = await moxie(args, env);
        expect({ args, code: result.code }).toEqual({ args, code: 1 });
        expect(result.stderr).toContain("not adopted yet");
        expect(result.stderr).not.toContain("busy");
      }
      for (const args of [["migrate", "--status"], ["doctor"], ["backup", join(tempDir("moxie-readonly-backups-"), "b.db")]]) {
        const result = await moxie(args, env);
        expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
      }
      expect({ db: sha256(db), wal: sha256(`${db}-wal`) }).toEqual(before);
      original.run("COMMIT");
    } finally {
      original.close();
    }
    expect(readdirSync(dir)).toEqual(["moxie.db"]);
    expect(existsSync(`${db}.secret`)).toBe(false);
  }, SLOW);
});
