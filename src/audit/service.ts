// The audit trail as plain functions: append an event, count refusals, read them newest first, prune by age.
import { and, count, desc, eq, inArray, lt, sql, type SQL } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { toIsoUtc } from "../db/dates.ts";
import { auditEvents, users, type AuditEvent, type NewAuditEvent } from "../db/schema.ts";
import type { AuditEventType } from "../db/vocabulary.ts";
import { isWellFormedEmail } from "../emails/normalize.ts";

export type AuditRecord = Omit<NewAuditEvent, "id" | "createdAt">;

/** What an edit changed, field by field; never a password or a hash. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

/** Stands in for a typed "email" that is not an email address: whatever was typed (a password?) is not kept. */
export const NOT_AN_EMAIL = "(not an email address)";

/**
 * The email of a counted refusal row that concerns no account: the refusals of every email that is no
 * account's (unknown addresses, anything typed that is not one) from one address share the row, so no one
 * typed email may stand for them.
 */
export const NO_SUCH_ACCOUNT = "(no such account)";

/**
 * The email a row keeps. An event about an account keeps its email (the account's); one about no account
 * keeps what was typed only when it has an address's shape, so a password typed into the email field, or
 * markup, never reaches the trail.
 */
function keptEmail(event: AuditRecord): string | null | undefined {
  if (event.userId != null || event.email == null || isWellFormedEmail(event.email)) return event.email;
  return NOT_AN_EMAIL;
}

/** Appends one event; pass the write's transaction so the change and its record commit together. */
export function recordEvent(db: Executor, event: AuditRecord & { changes?: Changes }): void {
  const { changes, ...row } = event;
  row.email = keptEmail(row);
  db.insert(auditEvents)
    .values(changes ? { ...row, detail: JSON.stringify({ changes }) } : row)
    .run();
}

/** The row counting refusals for one (type, reason, address, account) until the window closes. */
interface OpenCount {
  id: number;
  until: number;
}
const openCounts = new WeakMap<Db, Map<string, OpenCount>>();
/** Open counting rows remembered at most; past it the oldest start a new row next time. */
const MAX_OPEN_COUNTS = 10_000;

/**
 * Records a refused attempt (429, 503) without writing a row each: the first refusal of a (type, reason,
 * address, account) in a window writes a row with count 1, later ones add to its `count`. The key holds
 * nothing an attacker can invent: the account is one that exists (its id), and every email that is no
 * account's counts as one, NO_SUCH_ACCOUNT. A flood of refusals, whatever emails it types, therefore leaves
 * one row per account attacked (and one for the rest) per address and window, instead of burying the events
 * that matter.
 */
export function recordRefusal(db: Db, event: AuditRecord, windowMs: number, now = Date.now()): void {
  let open = openCounts.get(db);
  if (!open) openCounts.set(db, (open = new Map()));
  const userId = event.userId ?? null;
  const key = [event.type, event.reason, event.ip, userId].join("\u0000");
  const current = open.get(key);
  if (current && current.until > now) {
    const updated = db
      .update(auditEvents)
      .set({ count: sql`${auditEvents.count} + 1` })
      .where(eq(auditEvents.id, current.id))
      .returning({ id: auditEvents.id })
      .get();
    if (updated) return; // else the row was pruned meanwhile: start a new one
  }
  const row = { ...event, email: userId === null ? NO_SUCH_ACCOUNT : keptEmail(event) };
  const inserted = db.insert(auditEvents).values(row).returning({ id: auditEvents.id }).get()!;
  open.delete(key);
  open.set(key, { id: inserted.id, until: now + windowMs });
  if (open.size > MAX_OPEN_COUNTS) open.delete(open.keys().next().value!);
}

export interface AuditFilter {
  userId?: number;
  type?: AuditEventType;
  limit?: number;
  offset?: number;
}

/** An event with the current email of the account it concerns (null when it concerns none). */
export type ListedEvent = AuditEvent & { accountEmail: string | null };

/**
 * Events newest first, with the number of matches before paging. Ordered (and pruned) by the text: only moxie
 * writes this table, always in its one form, where text order is time order; the users table is different.
 */
export function listEvents(db: Db, filter: AuditFilter = {}): { events: ListedEvent[]; total: number } {
  const conditions: SQL[] = [];
  if (filter.userId !== undefined) conditions.push(eq(auditEvents.userId, filter.userId));
  if (filter.type) conditions.push(eq(auditEvents.type, filter.type));
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const events = db
    .select()
    .from(auditEvents)
    .where(where)
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .all();
  const total = db.select({ n: count() }).from(auditEvents).where(where).get()?.n ?? 0;
  const ids = [...new Set(events.map((e) => e.userId).filter((id): id is number => id !== null))];
  const emails = new Map(
    ids.length === 0
      ? []
      : db.select({ id: users.id, email: users.email }).from(users).where(inArray(users.id, ids)).all().map((r) => [r.id, r.email]),
  );
  return { events: events.map((e) => ({ ...e, accountEmail: e.userId === null ? null : (emails.get(e.userId) ?? null) })), total };
}

/** Deletes events older than `days` days; returns how many went. */
export function pruneEvents(db: Db, days: number): number {
  const cutoff = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`-${days} days`})`;
  return db.delete(auditEvents).where(lt(auditEvents.createdAt, cutoff)).returning({ id: auditEvents.id }).all().length;
}

/** The `changes` recorded in an event's detail, or null. */
export function changesOf(detail: string | null): Changes | null {
  if (detail === null) return null;
  try {
    const parsed = JSON.parse(detail) as { changes?: unknown };
    return typeof parsed.changes === "object" && parsed.changes !== null ? (parsed.changes as Changes) : null;
  } catch {
    return null;
  }
}

/**
 * The wire shape: snake_case like every other response. `email` is the concerned account's email when the
 * event has one, else the (well-formed) email typed at a sign-in, NOT_AN_EMAIL, or, for a counted refusal of
 * emails of no account, NO_SUCH_ACCOUNT.
 */
export function toPublicEvent(event: ListedEvent) {
  return {
    id: event.id,
    created_at: toIsoUtc(event.createdAt),
    type: event.type,
    actor: event.actor,
    actor_user_id: event.actorUserId,
    user_id: event.userId,
    email: event.accountEmail ?? event.email,
    ip: event.ip,
    reason: event.reason,
    count: event.count,
    changes: changesOf(event.detail),
    session_id: event.sessionId,
  };
}
