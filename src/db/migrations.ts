// The migrations drizzle-kit generated, imported as text so the compiled binary carries them inside.
// drizzle's own migrate() reads drizzle/ from disk at run time, which a lone binary does not have.
import journal from "../../drizzle/meta/_journal.json";
import m0000 from "../../drizzle/0000_users.sql" with { type: "text" };
import m0001 from "../../drizzle/0001_accounts.sql" with { type: "text" };
import m0002 from "../../drizzle/0002_audit_events.sql" with { type: "text" };
import m0003 from "../../drizzle/0003_audit_detail_last_login.sql" with { type: "text" };
import m0004 from "../../drizzle/0004_created_instant_index.sql" with { type: "text" };
import m0005 from "../../drizzle/0005_database_generation.sql" with { type: "text" };
import m0006 from "../../drizzle/0006_search_keys.sql" with { type: "text" };
import m0007 from "../../drizzle/0007_sessions.sql" with { type: "text" };

/** Every file in drizzle/, by tag; test/migrations.test.ts fails when drizzle-kit adds one not listed here. */
export const MIGRATION_SQL: Record<string, string> = {
  "0000_users": m0000,
  "0001_accounts": m0001,
  "0002_audit_events": m0002,
  "0003_audit_detail_last_login": m0003,
  "0004_created_instant_index": m0004,
  "0005_database_generation": m0005,
  "0006_search_keys": m0006,
  "0007_sessions": m0007,
};

export interface EmbeddedMigration {
  tag: string;
  /** drizzle's ordering key: the `when` of the journal entry, in ms. */
  folderMillis: number;
  hash: string;
  statements: string[];
}

/** The migrations in journal order, in the shape drizzle's migrator records them (sha256 of the file text). */
export const EMBEDDED_MIGRATIONS: EmbeddedMigration[] = journal.entries.map((entry) => {
  const text = MIGRATION_SQL[entry.tag];
  if (text === undefined) throw new Error(`migration ${entry.tag} is in the journal but not embedded`);
  return {
    tag: entry.tag,
    folderMillis: entry.when,
    hash: new Bun.CryptoHasher("sha256").update(text).digest("hex"),
    statements: text.split("--> statement-breakpoint"),
  };
});
