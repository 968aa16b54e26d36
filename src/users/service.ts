// Accounts as plain functions over the database: no HTTP here, so the API and the CLI share every rule.
import { and, asc, count, eq, or, sql, type SQL } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { instantOf, toIsoUtc } from "../db/dates.ts";
import { users, type Role, type User } from "../db/schema.ts";
import { hashPassword, normalizePassword, verifyPasswordHash } from "../auth/password.ts";
import { newPasswordProblem } from "../auth/password-policy.ts";

/** The fields any caller may see: never the hash. */
export interface PublicUser {
  id: number;
  name: string;
  email: string;
  role: Role;
  is_active: boolean;
  created_at: string;
}

export class EmailTakenError extends Error {
  override name = "EmailTakenError";
  constructor(readonly email: string) {
    super(`an account with email ${email} already exists`);
  }
}

export class UserNotFoundError extends Error {
  override name = "UserNotFoundError";
  constructor(readonly lookup: string) {
    super(`no account with ${lookup}`);
  }
}

/** A change that would leave the team without an active admin, or an admin locking themselves out. */
export class AdminLockoutError extends Error {
  override name = "AdminLockoutError";
}

export class WrongPasswordError extends Error {
  override name = "WrongPasswordError";
  constructor() {
    super("Current password is incorrect");
  }
}

/** A password that breaks a rule the schema cannot express (same as the current one, too common). */
export class PasswordRuleError extends Error {
  override name = "PasswordRuleError";
}

/** Emails are stored and looked up trimmed and lower-cased, so `Admin@Test.com ` is admin@test.com. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    is_active: user.isActive,
    created_at: toIsoUtc(user.createdAt),
  };
}

export interface NewAccount {
  name: string;
  email: string;
  password: string;
  role?: Role;
}

/** Throws PasswordRuleError when `password` may not be set (length after NFC, common passwords). */
function assertAllowedPassword(password: string, field = "password"): void {
  const problem = newPasswordProblem(password, field);
  if (problem) throw new PasswordRuleError(problem);
}

/** Creates an active account; throws EmailTakenError when the normalized email exists. */
export async function createUser(db: Db, input: NewAccount): Promise<User> {
  assertAllowedPassword(input.password);
  const passwordHash = await hashPassword(input.password);
  return withUniqueEmail(input.email, () =>
    db
      .insert(users)
      .values({
        name: input.name.trim(),
        email: normalizeEmail(input.email),
        passwordHash,
        role: input.role ?? "agent",
      })
      .returning()
      .get(),
  );
}

const byEmail = new WeakMap<Executor, { get(values: { email: string }): User | undefined }>();

/** Sign-in's lookup; a prepared statement per database, since building the query costs more than running it. */
export function findUserByEmail(db: Executor, email: string): User | undefined {
  let statement = byEmail.get(db);
  if (!statement) {
    statement = db.select().from(users).where(eq(users.email, sql.placeholder("email"))).prepare();
    byEmail.set(db, statement);
  }
  return statement.get({ email: normalizeEmail(email) });
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
  /** Case-insensitive substring of name or email. */
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
  if (filter.q) {
    // LIKE is case-insensitive for ASCII in SQLite; the pattern's own wildcards are escaped.
    const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(or(sql`${users.name} LIKE ${pattern} ESCAPE '\\'`, sql`${users.email} LIKE ${pattern} ESCAPE '\\'`)!);
  }
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

export interface AccountChanges {
  name?: string;
  email?: string;
  role?: Role;
}

/**
 * Changes name, email or role. `actorId` is who asks: an admin may not demote themselves, and nobody
 * may demote the last active admin.
 */
export function updateUser(db: Db, actorId: number | "cli", id: number, changes: AccountChanges): User {
  return db.transaction(
    (tx) => {
      const user = getUser(tx, id);
      if (changes.role === "agent" && user.role === "admin" && user.isActive) {
        guardAdminRemoval(tx, actorId, user, "demote");
      }
      const values: Partial<User> = {};
      if (changes.name !== undefined) values.name = changes.name.trim();
      if (changes.email !== undefined) values.email = normalizeEmail(changes.email);
      if (changes.role !== undefined) values.role = changes.role;
      if (Object.keys(values).length === 0) return user;
      return withUniqueEmail(changes.email ?? user.email, () =>
        tx.update(users).set(values).where(eq(users.id, id)).returning().get()!,
      );
    },
    { behavior: "immediate" },
  );
}

/**
 * Activates or deactivates; idempotent. Deactivation also bumps the token version, so reactivating an
 * account does not bring its old tokens back to life.
 */
export function setActive(db: Db, actorId: number | "cli", id: number, active: boolean): User {
  return db.transaction(
    (tx) => {
      const user = getUser(tx, id);
      if (user.isActive === active) return user;
      if (!active && user.role === "admin") guardAdminRemoval(tx, actorId, user, "deactivate");
      const revoke = active ? {} : { tokenVersion: sql`${users.tokenVersion} + 1` };
      return tx.update(users).set({ isActive: active, ...revoke }).where(eq(users.id, id)).returning().get()!;
    },
    { behavior: "immediate" },
  );
}

function guardAdminRemoval(db: Executor, actorId: number | "cli", user: User, verb: "demote" | "deactivate"): void {
  if (actorId === user.id) {
    throw new AdminLockoutError(`You cannot ${verb} your own account; ask another admin`);
  }
  const activeAdmins =
    db.select({ n: count() }).from(users).where(and(eq(users.role, "admin"), eq(users.isActive, true))).get()?.n ?? 0;
  if (activeAdmins <= 1) {
    throw new AdminLockoutError(`Cannot ${verb} the last active admin; make another account admin first`);
  }
}

/**
 * Sets a new password and revokes every token issued before it (by bumping the token version).
 * Used by the admin, by the account itself and by `moxie set-password`.
 */
export async function setPassword(db: Db, id: number, password: string, field = "password"): Promise<void> {
  assertAllowedPassword(password, field);
  const passwordHash = await hashPassword(password);
  const changed = db
    .update(users)
    .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, passwordChangedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` })
    .where(eq(users.id, id))
    .returning({ id: users.id })
    .get();
  if (!changed) throw new UserNotFoundError(`id ${id}`);
}

/** The account's own change: needs the current password, and the new one must differ from it. */
export async function changeOwnPassword(db: Db, user: User, currentPassword: string, newPassword: string): Promise<void> {
  if (!(await verifyPasswordHash(user.passwordHash, currentPassword))) throw new WrongPasswordError();
  if (normalizePassword(newPassword) === normalizePassword(currentPassword)) {
    throw new PasswordRuleError("new_password must differ from the current password");
  }
  await setPassword(db, user.id, newPassword, "new_password");
}

/** "Log out everywhere": every token of this account issued until now stops working. */
export function revokeTokens(db: Db, id: number): void {
  db.update(users).set({ tokenVersion: sql`${users.tokenVersion} + 1` }).where(eq(users.id, id)).run();
}

/** Runs a write that may hit the unique email index; two concurrent writers of one email cannot both win. */
function withUniqueEmail<T>(email: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError(normalizeEmail(email));
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE";
}
