// Reading accounts: by email (sign-in), by id (every authenticated request), as pages (the admin list), and when an
// account's sign-in throttle was last cleared.
import { and, asc, count, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Executor, Db } from "../db/index.ts";
import { instantOf, toIsoUtc, toIsoUtcOrNull } from "../db/dates.ts";
import { auditEvents, users, type User } from "../db/schema.ts";
import { userColumnsSql, userFromValues } from "../db/user-rows.ts";
import type { AuditEventType, Role } from "../db/vocabulary.ts";
import { emailLookupKey, normalizeEmail } from "../emails/normalize.ts";
import { UserNotFoundError } from "./errors.ts";
import { searchCondition } from "./search.ts";

/** The fields any caller may see: never the hash. */
export interface PublicUser {
  id: number;
  name: string;
  email: string;
  role: Role;
  is_active: boolean;
  created_at: string;
  last_login_at: string | null;
}

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    is_active: user.isActive,
    created_at: toIsoUtc(user.createdAt),
    last_login_at: toIsoUtcOrNull(user.lastLoginAt),
  };
}

const byEmail = new WeakMap<Executor, { get(values: { email: string }): User | undefined }>();

/** Sign-in's lookup; a prepared statement per database, since building the query costs more than running it. */
export function findUserByEmail(db: Executor, email: string): User | undefined {
  let statement = byEmail.get(db);
  if (!statement) {
    statement = db.select().from(users).where(eq(users.email, sql.placeholder("email"))).prepare();
    byEmail.set(db, statement);
  }
  // No shape rule here: an account stored with an email that is no address (from before the rules) is found too.
  return statement.get({ email: emailLookupKey(email) });
}

export function findUserById(db: Executor, id: number): User | undefined {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export function getUser(db: Executor, id: number): User {
  const user = findUserById(db, id);
  if (!user) throw new UserNotFoundError(`id ${id}`);
  return user;
}

export function getUserByEmail(db: Executor, email: string): User {
  const user = findUserByEmail(db, email);
  if (!user) throw new UserNotFoundError(`email ${normalizeEmail(email)}`);
  return user;
}

export interface UserFilter {
  role?: Role;
  isActive?: boolean;
  /** Text in the name or the email, ignoring case and accents in any script (src/accounts/search.ts). */
  q?: string;
  limit?: number;
  offset?: number;
}

export const LIST_LIMIT_MAX = 1000;

/** Accounts oldest first (the instant created_at names, then id), with the number of matches before paging. */
export function listUsers(db: Db, filter: UserFilter = {}): { users: User[]; total: number } {
  const conditions: SQL[] = [];
  if (filter.role) conditions.push(eq(users.role, filter.role));
  if (filter.isActive !== undefined) conditions.push(eq(users.isActive, filter.isActive));
  if (filter.q) conditions.push(searchCondition(db, filter.q));
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const rows = db
    .select()
    .from(users)
    .where(where)
    // The same expression as users_created_instant_id_idx, so the index serves the order and the page.
    .orderBy(instantOf(users.createdAt), asc(users.id))
    .limit(filter.limit ?? LIST_LIMIT_MAX)
    .offset(filter.offset ?? 0)
    .all();
  const total = db.select({ n: count() }).from(users).where(where).get()?.n ?? 0;
  return { users: rows, total };
}

/** Events after which an account's earlier sign-in failures no longer count. */
const THROTTLE_CLEARING_EVENTS: AuditEventType[] = ["user.unlocked", "user.activated"];

/**
 * When the account's sign-in throttle was last cleared (ms since the epoch, 0 for never): its password was
 * set, it was activated or an admin unlocked it. Read from the database at each check, so the CLI (another
 * process) clears it as surely as the API.
 */
export function throttleClearedAt(db: Executor, user: Pick<User, "id" | "passwordChangedAt">): number {
  const unlocked = db
    .select({ at: auditEvents.createdAt })
    .from(auditEvents)
    .where(and(eq(auditEvents.userId, user.id), inArray(auditEvents.type, THROTTLE_CLEARING_EVENTS)))
    .orderBy(desc(auditEvents.createdAt))
    .limit(1)
    .get()?.at;
  return Math.max(0, ...[user.passwordChangedAt, unlocked].map((at) => (at ? Date.parse(at) || 0 : 0)));
}

/** The guard's lookup of a token without a session, on every such request: one statement by primary key. */
export function userByIdReader(db: Db): (id: number) => User | undefined {
  const statement = db.$client.query<unknown[], [number]>(`SELECT ${userColumnsSql()} FROM users WHERE id = ?`);
  return (id) => {
    const row = statement.values(id)[0];
    return row ? userFromValues(row) : undefined;
  };
}
