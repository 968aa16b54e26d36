// What opening or migrating a database changed (or will change), in the words the commands print: adoption of the
// Python original's file, migrations applied, stored emails brought to one spelling.
import type { EmailRewrite } from "../accounts/stored-emails.ts";
import { BEFORE_USERS_REVISION, ORIGINAL_TABLES, ORIGINAL_USERS_REVISION, type MigrationOutcome } from "../db/adopt.ts";
import { plural } from "./dbfile.ts";

/**
 * What opening a database changed, one line each: the adoption first (with what became of the original's
 * alembic_version), then each migration applied, then each stored email rewritten to its one spelling.
 */
export function describeOutcome(outcome: MigrationOutcome, emails: EmailRewrite[] = []): string[] {
  const lines: string[] = [];
  if (outcome.adopted) {
    const created = outcome.baseline.length === 0;
    const what = created ? "its users table created" : `${outcome.baseline.join(", ")} recorded as applied (its users table kept, not recreated)`;
    const { before = null, after = null } = outcome.alembic ?? {};
    const stamped = before !== after;
    const alembic = stamped
      ? `; alembic_version moved from ${before} to ${after}, the original's migration that creates this users table, so its own \`alembic upgrade head\` does not create it again`
      : "";
    lines.push(`Adopted the Python moxie's database: ${what}${alembic}; ${untouched(stamped)} left untouched`);
    if (created && !stamped && after !== ORIGINAL_USERS_REVISION) lines.push(wayBackNote(after));
  }
  for (const tag of outcome.applied) lines.push(`Applied ${tag}`);
  lines.push(...describeEmails(emails, true));
  return lines;
}

/** The original's tables adoption leaves as they are: all of them, or all but the alembic_version it stamped. */
export function untouched(stamped: boolean): string {
  return ORIGINAL_TABLES.filter((table) => !stamped || table !== "alembic_version").join(", ");
}

/**
 * A file older than the original's users migration's starting point: moxie cannot stamp it without skipping the
 * migrations in between (they change the original's own tables), so the way back needs one command more.
 */
export function wayBackNote(revision: string | null): string {
  return (
    `Before the Python moxie runs on this file again, from its directory: \`uv run alembic upgrade ${BEFORE_USERS_REVISION} && ` +
    `uv run alembic stamp ${ORIGINAL_USERS_REVISION}\` (its alembic_version, ${revision ?? "unset"}, is from before its users migration, ` +
    "and moxie created that table)"
  );
}

/** "Rewrote 1 stored email to its one spelling …" (or what will be) and one line per account; nothing when none. */
export function describeEmails(emails: EmailRewrite[], done: boolean): string[] {
  if (emails.length === 0) return [];
  const their = emails.length === 1 ? "its" : "their";
  return [
    `${done ? "Rewrote" : "`moxie migrate` (or the next start) will rewrite"} ${plural(emails.length, "stored email")} to ${their} one spelling (each recorded in the audit trail, reason email_normalized):`,
    ...emails.map(({ id, from, to }) => `  #${id} ${JSON.stringify(from)} → ${JSON.stringify(to)}`),
  ];
}

export function describeRevision(revision: string | null): string {
  return revision === null ? "no single alembic revision" : `alembic revision ${revision}`;
}
