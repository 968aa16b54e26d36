// Issue 11 (10) and 19 (7), for emails already stored: rows from before the NFKC and case-folding rules get
// their one spelling at start; two rows that are one address are never merged, and `moxie doctor` names them.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { openDatabase } from "../../src/db/index.ts";
import { normalizeStoredEmails } from "../../src/accounts/stored-emails.ts";
import { emailCollisions } from "../../src/emails/normalize.ts";
import { tempDir } from "../helpers.ts";
import { runCli } from "../support/processes.ts";
import { join } from "node:path";

const HASH = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$2b7l0k1x0h0b7l0k1x0h0b7l0k1x0h0b7l0k1x0h0b4";

function seeded(rows: string[]): { path: string; dir: string } {
  const dir = tempDir();
  const path = join(dir, "moxie.db");
  openDatabase(path).$client.close();
  const raw = new Database(path);
  for (const [i, email] of rows.entries()) {
    raw.query("INSERT INTO users (name, email, password_hash, role) VALUES (?, ?, ?, ?)").run(`User ${i}`, email, HASH, i === 0 ? "admin" : "agent");
  }
  raw.close();
  return { path, dir };
}

describe("stored emails", () => {
  test("look-alikes stored before the rules: the lone ones are normalized, the colliding pair is left and reported", async () => {
    const { path, dir } = seeded([
      "admin@x.co",
      "AGENT@X.CO", // alone: becomes agent@x.co
      "\uff42ob@x.co", // fullwidth b, alone: becomes bob@x.co
      "jos\u00e9@x.co", // composed …
      "jose\u0301@x.co", // … and decomposed: one address, two accounts
      "zero\u200b@x.co", // invisible character, alone: becomes zero@x.co
      "ann@x.co", // … and its twins spelled with a Hangul filler and a braille blank: one address, three accounts
      "ann\u3164@x.co",
      "an\u2800n@x.co",
      "cgj\u034f\ufe0f@x.co", // combining grapheme joiner and variation selector, alone: becomes cgj@x.co
      "\u03bf\u03b4\u03bf\u03c2@x.co", // οδος (final sigma, as toLowerCase() spells ΟΔΟΣ), alone: becomes οδοσ@x.co
      "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3@x.co", // αλεξησ …
      "\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@x.co", // … and αλεξης: one address under case folding, two accounts
      "stra\u00dfe@x.co", // alone: becomes strasse@x.co (full folding: STRASSE is its capitals)
      "\uab70\uab71@x.co", // Cherokee small letters, alone: become their capitals, as folding spells them
    ]);
    const db = openDatabase(path);
    expect(normalizeStoredEmails(db)).toHaveLength(7);
    const emails = (db.$client.query("SELECT email FROM users ORDER BY id").all() as Array<{ email: string }>).map((r) => r.email);
    expect(emails).toEqual([
      "admin@x.co",
      "agent@x.co",
      "bob@x.co",
      "jos\u00e9@x.co",
      "jose\u0301@x.co",
      "zero@x.co",
      "ann@x.co",
      "ann\u3164@x.co",
      "an\u2800n@x.co",
      "cgj@x.co",
      "\u03bf\u03b4\u03bf\u03c3@x.co",
      "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3@x.co",
      "\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@x.co",
      "strasse@x.co",
      "\u13a0\u13a1@x.co",
    ]);
    // Each rewrite is in the audit trail, as an edit that says what the stored address was.
    const events = db.$client.query("SELECT type, actor, user_id, reason, detail FROM audit_events ORDER BY user_id").all();
    const normalized = (userId: number, from: string, to: string) => ({
      type: "user.updated",
      actor: "cli",
      user_id: userId,
      reason: "email_normalized",
      detail: JSON.stringify({ changes: { email: { from, to } } }),
    });
    expect(events).toEqual([
      normalized(2, "AGENT@X.CO", "agent@x.co"),
      normalized(3, "\uff42ob@x.co", "bob@x.co"),
      normalized(6, "zero\u200b@x.co", "zero@x.co"),
      normalized(10, "cgj\u034f\ufe0f@x.co", "cgj@x.co"),
      normalized(11, "\u03bf\u03b4\u03bf\u03c2@x.co", "\u03bf\u03b4\u03bf\u03c3@x.co"),
      normalized(14, "stra\u00dfe@x.co", "strasse@x.co"),
      normalized(15, "\uab70\uab71@x.co", "\u13a0\u13a1@x.co"),
    ]);
    expect(emailCollisions(db.$client.query("SELECT id, email FROM users ORDER BY id").all() as Array<{ id: number; email: string }>)).toEqual([
      { normalized: "jos\u00e9@x.co", ids: [4, 5] },
      { normalized: "ann@x.co", ids: [7, 8, 9] },
      { normalized: "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3@x.co", ids: [12, 13] },
    ]);
    // Idempotent: a second start changes nothing.
    expect(normalizeStoredEmails(db)).toEqual([]);
    db.$client.close();

    const doctor = await runCli(["doctor"], { cwd: dir, env: { DATABASE_URL: path, SECRET_KEY: "doctor-emails-key-0123456789abcdef-XYZ" } });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("accounts #4, #5 have emails that are one address");
    expect(doctor.stdout).toContain("accounts #7, #8, #9 have emails that are one address");
    expect(doctor.stdout).toContain("accounts #12, #13 have emails that are one address");
  }, 30_000);
});
