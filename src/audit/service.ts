// The audit trail as plain functions: append an event, read them newest first, prune by age.
import { and, count, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { toIsoUtc } from "../db/dates.ts";
import { auditEvents, type AuditEvent, type AuditEventType, type NewAuditEvent } from "../db/schema.ts";

export type AuditRecord = Omit<NewAuditEvent, "id" | "createdAt">;

export function recordEvent(db: Db, event: AuditRecord): void {
  db.insert(auditEvents).values(event).run();
}

export interface AuditFilter {
  userId?: number;
  type?: AuditEventType;
  limit?: number;
  offset?: number;
}

/**
 * Events newest first, with the number of matches before paging. Ordered (and pruned) by the text: only moxie
 * writes this table, always in its one form, where text order is time order; the users table is different.
 */
export function listEvents(db: Db, filter: AuditFilter = {}): { events: AuditEvent[]; total: number } {
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
  return { events, total };
}

/** Deletes events older than `days` days; returns how many went. */
export function pruneEvents(db: Db, days: number): number {
  const cutoff = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`-${days} days`})`;
  return db.delete(auditEvents).where(lt(auditEvents.createdAt, cutoff)).returning({ id: auditEvents.id }).all().length;
}

/** The wire shape: snake_case like every other response. */
export function toPublicEvent(event: AuditEvent) {
  return {
    id: event.id,
    created_at: toIsoUtc(event.createdAt),
    type: event.type,
    actor: event.actor,
    actor_user_id: event.actorUserId,
    user_id: event.userId,
    email: event.email,
    ip: event.ip,
    reason: event.reason,
  };
}
