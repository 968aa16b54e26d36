// Stored emails brought to their one spelling: what would change (read only) and the rewrite (at start, by the
// commands that write), each recorded in the audit trail.
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { users } from "../db/schema.ts";
import { recordEvent } from "../audit/service.ts";
import { storedEmailKey } from "../emails/normalize.ts";
import { searchColumns } from "./search.ts";

/** A stored email brought to its one spelling: the account, the spelling it had and the one it gets. */
export interface EmailRewrite {
  id: number;
  from: string;
  to: string;
}

/**
 * What normalizeStoredEmails would write, read from `rows` (every account's id and stored email): the emails not
 * in their one spelling, each with the one it becomes. A row whose new spelling another account has too is left
 * out: accounts are never merged silently (`moxie doctor` lists them). Reads only.
 */
export function plannedEmailRewrites(rows: Array<{ id: number; email: string }>): EmailRewrite[] {
  const owners = new Map<string, number>();
  for (const row of rows) owners.set(storedEmailKey(row.email), (owners.get(storedEmailKey(row.email)) ?? 0) + 1);
  return rows
    .map((row) => ({ id: row.id, from: row.email, to: storedEmailKey(row.email) }))
    .filter((rewrite) => rewrite.to !== rewrite.from && owners.get(rewrite.to) === 1);
}

/**
 * Brings stored emails from before the NFKC, case-folding and invisible-character rules to their one spelling, in one
 * transaction, each recorded in the audit trail; a collision is left as it is (plannedEmailRewrites). Returns
 * the rewrites, so that `serve` and `migrate` can say what they changed.
 */
export function normalizeStoredEmails(db: Db): EmailRewrite[] {
  // This runs at every start and every command that writes: SQLite picks the only rows that can change (a
  // character outside printable ASCII, a capital, surrounding spaces), so a clean table costs one scan in C, not a
  // normalization per account in JS. (A punycode domain, xn--, is stored in its Unicode spelling.)
  const email = users.email;
  const needed = db
    .select({ id: users.id, email })
    .from(users)
    .where(sql`${email} GLOB '*[^ -~]*' OR ${email} <> lower(${email}) OR ${email} <> trim(${email}) OR ${email} LIKE '%xn--%'`)
    .all()
    .filter((row) => storedEmailKey(row.email) !== row.email);
  if (needed.length === 0) return [];
  const rewrites = plannedEmailRewrites(db.select({ id: users.id, email }).from(users).all());
  if (rewrites.length === 0) return [];
  db.transaction(
    (tx) => {
      for (const { id, from, to } of rewrites) {
        const name = tx.select({ name: users.name }).from(users).where(eq(users.id, id)).get()!.name;
        tx.update(users).set({ email: to, ...searchColumns(name, to) }).where(eq(users.id, id)).run();
        // Recorded like any edit: an admin can see that, and how, the stored address changed.
        recordEvent(tx, {
          type: "user.updated",
          actor: "cli",
          userId: id,
          reason: "email_normalized",
          changes: { email: { from, to } },
        });
      }
    },
    { behavior: "immediate" },
  );
  return rewrites;
}
