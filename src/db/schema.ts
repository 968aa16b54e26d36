// The database tables, as drizzle declares them; drizzle-kit generates drizzle/ from this file.
import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { AUDIT_ACTORS, AUDIT_EVENT_TYPES, ROLES } from "./vocabulary.ts";

/** UTC instant as ISO 8601 text with milliseconds, e.g. 2026-11-25T15:14:25.123Z. Sorts as it reads. */
export const utcNow = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const users = sqliteTable("users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ROLES }).notNull().default("agent"),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  // Also set by every insert, not left to the column default: the Python original's users table has none.
  createdAt: text("created_at").notNull().default(utcNow).$defaultFn(() => utcNow),
  /** Bumped on every password change and logout; a token carrying an older value is refused. */
  tokenVersion: integer("token_version").notNull().default(0),
  passwordChangedAt: text("password_changed_at"),
  /** The last successful sign-in (UTC, ISO 8601), shown to admins; null until the first one. */
  lastLoginAt: text("last_login_at"),
  /**
   * The name and email folded for search (src/accounts/search.ts): case, accents and compatibility forms gone,
   * `<name>\n<email>`. Derived data, written with every name or email; null on rows the Python original wrote.
   */
  searchKey: text("search_key"),
  /**
   * `<name>\n<email>` as they were when search_key was computed: a row whose name or email changed since (or that
   * never had a key) shows as `search_key_of IS NOT name || char(10) || email`, which SQL can tell without folding.
   */
  searchKeyOf: text("search_key_of"),
}, (table) => [
  check("users_role_known", sql`${table.role} IN ('admin', 'agent')`),
  // The admin list is ordered oldest first by the instant, not the text: the Python original's rows say
  // `2026-11-30 05:53:04.778602`, moxie's `2026-11-30T05:53:04.778Z` (see src/db/dates.ts).
  index("users_created_instant_id_idx").on(sql`julianday(${table.createdAt})`, table.id),
]);

/**
 * One row: the database's generation, a random 128-bit value (hex) that every token moxie issues carries
 * (`gen`) and the guard compares. Set when the table is created and replaced by every restore, so no token
 * issued before a restore can match after it, whatever ids and token versions the backup brings back.
 */
export const databaseGeneration = sqliteTable("database_generation", {
  id: integer("id").primaryKey(),
  generation: text("generation").notNull(),
  /** When a restore began this generation (UTC, ISO 8601); null while the database has never been restored. */
  restoredAt: text("restored_at"),
}, (table) => [check("database_generation_one_row", sql`${table.id} = 1`)]);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

/**
 * One row per signed-in device: made by a successful sign-in, named by the token's `sid`, deleted when it is
 * ended (sign-out, an admin, a password change, deactivation, the per-account bound, a restore) and pruned once
 * expired. The guard reads it with its account in one indexed read on every request (src/sessions/store.ts).
 */
export const sessions = sqliteTable(
  "sessions",
  {
    /** 128 random bits, base64url (22 characters): not a credential (the signed token is), but unguessable. */
    id: text("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull(),
    /** When its token expires (8 hours after the sign-in or the password change that renewed it). */
    expiresAt: text("expires_at").notNull(),
    /** Updated at most about once a minute by the guard, never on every request. */
    lastSeenAt: text("last_seen_at").notNull(),
    /** The client's address as the audit trail records it. */
    ip: text("ip"),
    /** The User-Agent as sent, cut to a bound; never shown by the API (the device label is). */
    userAgent: text("user_agent"),
    /** A readable label from a fixed vocabulary ("Firefox on Windows", "curl", "Unknown device"). */
    device: text("device").notNull(),
  },
  (table) => [
    // The guard's read on every request, answered from this index alone (no seek into the table).
    index("sessions_guard_idx").on(table.id, table.userId, table.expiresAt, table.lastSeenAt),
    index("sessions_user_id_idx").on(table.userId, table.createdAt),
    index("sessions_expires_at_idx").on(table.expiresAt),
  ],
);

export type Session = typeof sessions.$inferSelect;
export type NewSession = typeof sessions.$inferInsert;

/** Append-only record of account events; rows are never updated, only pruned by age when configured. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    createdAt: text("created_at").notNull().default(utcNow),
    type: text("type", { enum: AUDIT_EVENT_TYPES }).notNull(),
    actor: text("actor", { enum: AUDIT_ACTORS }).notNull(),
    /** The signed-in user who acted, when actor is "user". Plain ids, no foreign keys: users are never deleted. */
    actorUserId: integer("actor_user_id"),
    /** The account the event is about. */
    userId: integer("user_id"),
    /** The email as typed, for login attempts (an unknown email has no user id). */
    email: text("email"),
    ip: text("ip"),
    /** Why: for failures unknown_email, wrong_password, inactive, throttled; for `session.ended` a SESSION_END_REASONS word. */
    reason: text("reason"),
    /** What changed, as JSON: `{"changes": {"role": {"from": "agent", "to": "admin"}}}` for edits; never a password or hash. */
    detail: text("detail"),
    /** How many attempts this row stands for: refused sign-ins are counted into one row per email, address and window. */
    count: integer("count").notNull().default(1),
    /** The session a sign-in made, or the one a `session.ended` event ended. */
    sessionId: text("session_id"),
  },
  (table) => [
    index("audit_events_created_at_idx").on(table.createdAt),
    index("audit_events_user_id_idx").on(table.userId),
  ],
);

export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;
