// Accounts as plain functions over the database: no HTTP here, so the API and the CLI share every rule.
// Every change goes through writeAs (write.ts): the actor is read again inside the write's own transaction.
import { and, count, eq, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { users, utcNow, type User } from "../db/schema.ts";
import type { Role } from "../db/vocabulary.ts";
import type { Changes } from "../audit/service.ts";
import { hashPassword, normalizePassword, verifyPasswordHash } from "../passwords/hashing.ts";
import { newPasswordProblem } from "../passwords/policy.ts";
import { assertNewEmailShape, normalizeEmail, normalizeNewEmail } from "../emails/normalize.ts";
import {
  AdminLockoutError,
  ActorForbiddenError,
  EmailTakenError,
  PasswordRaceError,
  PasswordRuleError,
  UserNotFoundError,
  WrongPasswordError,
} from "./errors.ts";
import { createSession, endSessions, renewSession } from "../sessions/store.ts";
import { findUserById, getUser } from "./lookup.ts";
import { searchColumns } from "./search.ts";
import { endEverySession, recordEnded } from "./sessions.ts";
import { asOnePasswordOperation, hashingFor, writeAs, type Actor, type ActingUser, type Audit } from "./write.ts";

export interface NewAccount {
  name: string;
  email: string;
  password: string;
  role?: Role;
  /** False creates the account inactive: it exists, but cannot sign in until activated. Default true. */
  isActive?: boolean;
}

/** Throws PasswordRuleError when `password` may not be set (length after NFC, common passwords). */
function assertAllowedPassword(password: string, field = "password"): void {
  const problem = newPasswordProblem(password, field);
  if (problem) throw new PasswordRuleError(problem);
}

/**
 * Creates an account, active unless `isActive` is false, recorded as `user.created` (an inactive one with
 * `is_active: null → false` in its changes, so the trail says why it cannot sign in); throws EmailTakenError when the
 * normalized email exists.
 */
export async function createUser(db: Db, input: NewAccount, actor: Actor = "cli"): Promise<User> {
  assertAllowedPassword(input.password);
  const email = normalizeNewEmail(input.email);
  const passwordHash = await asOnePasswordOperation(db, actor, "admin", () => hashPassword(input.password, { for: hashingFor(actor) }));
  const isActive = input.isActive ?? true;
  return writeAs(db, actor, "admin", (tx, audit) => {
    const name = input.name.trim();
    const created = withUniqueEmail(email, () =>
      tx
        .insert(users)
        .values({ name, email, passwordHash, role: input.role ?? "agent", isActive, ...searchColumns(name, email) })
        .returning()
        .get(),
    );
    audit({ type: "user.created", userId: created.id, ...(!isActive && { changes: { is_active: { from: null, to: false } } }) });
    return created;
  });
}

export interface AccountChanges {
  name?: string;
  email?: string;
  role?: Role;
  /** Deactivates or activates as setActive does, with its rules and its own event, in the same transaction. */
  isActive?: boolean;
}

/**
 * Changes name, email or role, recorded as `user.updated` with what changed (from → to), and the active state as
 * setActive does (user.deactivated / user.activated). An admin may not demote or deactivate themselves, and nobody
 * may demote or deactivate the last active admin. All of it or nothing is written.
 */
export function updateUser(db: Db, actor: Actor, id: number, changes: AccountChanges): Promise<User> {
  const email = changes.email === undefined ? undefined : normalizeEmail(changes.email);
  return writeAs(db, actor, "admin", (tx, audit) => {
    const user = getUser(tx, id);
    // A new address must have an address's shape; an account keeps the one it has (stored before that rule).
    if (email !== undefined && email !== user.email) assertNewEmailShape(email);
    if (changes.role === "agent" && user.role === "admin" && user.isActive) {
      guardAdminRemoval(tx, actor, user, "demote");
    }
    const wanted: Partial<Pick<User, "name" | "email" | "role">> = {};
    if (changes.name !== undefined) wanted.name = changes.name.trim();
    if (email !== undefined) wanted.email = email;
    if (changes.role !== undefined) wanted.role = changes.role;
    const changed: Changes = {};
    for (const [field, to] of Object.entries(wanted) as Array<[keyof typeof wanted, string]>) {
      if (user[field] !== to) changed[field] = { from: user[field], to };
    }
    let updated = user;
    if (Object.keys(changed).length > 0) {
      // The search key follows the name and email in the same statement: it is never stale after moxie's own writes.
      const search = searchColumns(wanted.name ?? user.name, wanted.email ?? user.email);
      updated = withUniqueEmail(email ?? user.email, () =>
        tx.update(users).set({ ...wanted, ...search }).where(eq(users.id, id)).returning().get()!,
      );
      audit({ type: "user.updated", userId: id, changes: changed });
    }
    if (changes.isActive !== undefined) updated = switchActive(tx, actor, updated, changes.isActive, audit) ?? updated;
    return updated;
  });
}

/**
 * Activates or deactivates; idempotent: an account already in that state is answered as it is, and nothing is
 * written or recorded (`changed` is false). A change is recorded as user.activated / user.deactivated; activating
 * also clears the account's sign-in throttle (the event is what the throttle reads). Deactivation ends every
 * session of the account and bumps its token version, so reactivating does not bring old tokens back to life.
 */
export function setActive(db: Db, actor: Actor, id: number, active: boolean): Promise<{ user: User; changed: boolean }> {
  return writeAs(db, actor, "admin", (tx, audit) => {
    const user = getUser(tx, id);
    const updated = switchActive(tx, actor, user, active, audit);
    return updated ? { user: updated, changed: true } : { user, changed: false };
  });
}

/** Inside a write: `user` made active or inactive with every rule of setActive; undefined when it already was. */
function switchActive(tx: Executor, actor: Actor, user: User, active: boolean, audit: Audit): User | undefined {
  if (user.isActive === active) return undefined;
  if (!active && user.role === "admin") guardAdminRemoval(tx, actor, user, "deactivate");
  // Deactivation ends every session and bumps the token version (tokens from before sessions end too).
  if (!active) endEverySession(tx, audit, user.id, "deactivation");
  const updated = tx.update(users).set({ isActive: active }).where(eq(users.id, user.id)).returning().get()!;
  audit({ type: active ? "user.activated" : "user.deactivated", userId: user.id });
  return updated;
}

/** Clears the account's sign-in throttle (recorded as `user.unlocked`, which the throttle reads). */
export function unlockUser(db: Db, actor: Actor, id: number): Promise<User> {
  return writeAs(db, actor, "admin", (tx, audit) => {
    const user = getUser(tx, id);
    audit({ type: "user.unlocked", userId: id });
    return user;
  });
}

function guardAdminRemoval(db: Executor, actor: Actor, user: User, verb: "demote" | "deactivate"): void {
  if (actor !== "cli" && actor.id === user.id) {
    throw new AdminLockoutError(`You cannot ${verb} your own account; ask another admin`);
  }
  const activeAdmins =
    db.select({ n: count() }).from(users).where(and(eq(users.role, "admin"), eq(users.isActive, true))).get()?.n ?? 0;
  if (activeAdmins <= 1) {
    throw new AdminLockoutError(`Cannot ${verb} the last active admin; make another account admin first`);
  }
}

/** Writes the new hash if the token version is still `expected`; returns the new version, or throws PasswordRaceError. */
function compareAndSetPassword(tx: Executor, id: number, expected: number, passwordHash: string): number {
  const changed = tx
    .update(users)
    .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, passwordChangedAt: utcNow })
    .where(and(eq(users.id, id), eq(users.tokenVersion, expected)))
    .returning({ tokenVersion: users.tokenVersion })
    .get();
  if (!changed) {
    if (!findUserById(tx, id)) throw new UserNotFoundError(`id ${id}`);
    throw new PasswordRaceError();
  }
  return changed.tokenVersion;
}

/**
 * Sets another account's password (an admin, or `moxie set-password`), ends every session of the account and
 * revokes every token issued before it (`session.ended`, reason `reset`). Compare-and-set on the token version seen at arrival: if the account's password or sessions changed
 * while the new hash was computed, nothing is written (PasswordRaceError). An admin's own password goes
 * through changeOwnPassword, with the current one.
 */
export async function setPassword(db: Db, actor: Actor, id: number, password: string): Promise<void> {
  if (actor !== "cli" && actor.id === id) {
    throw new ActorForbiddenError("Change your own password with PUT /auth/password, which asks for the current one");
  }
  assertAllowedPassword(password);
  const expected = getUser(db, id).tokenVersion;
  const passwordHash = await asOnePasswordOperation(db, actor, "admin", () => hashPassword(password, { for: hashingFor(actor) }));
  await writeAs(db, actor, "admin", (tx, audit) => {
    compareAndSetPassword(tx, id, expected, passwordHash);
    recordEnded(audit, endSessions(tx, { userId: id }), "reset");
    audit({ type: "password.reset", userId: id });
  });
}

/** The session an own password change keeps: how long its fresh token lasts, and who asks (for a new session). */
export interface KeptSession {
  lifetimeMs: number;
  userAgent: string | null;
}

/**
 * The account's own change: needs the current password, and the new one must differ from it. The write is
 * compare-and-set on the session's token version, so a reset or logout that landed meanwhile wins (the
 * session is revoked: ActorRevokedError). Every other session of the account ends (`session.ended`, reason
 * `password_change`); this one is kept with a new lifetime, or, for a token from before sessions, made. Returns
 * the new token version and the kept session, for its fresh token.
 */
export async function changeOwnPassword(
  db: Db,
  actor: ActingUser,
  currentPassword: string,
  newPassword: string,
  kept: KeptSession,
): Promise<{ tokenVersion: number; sessionId: string }> {
  const passwordHash = await asOnePasswordOperation(db, actor, "self", async () => {
    const user = getUser(db, actor.id);
    if (!(await verifyPasswordHash(user.passwordHash, currentPassword, { for: hashingFor(actor) }))) {
      throw new WrongPasswordError();
    }
    if (normalizePassword(newPassword) === normalizePassword(currentPassword)) {
      throw new PasswordRuleError("new_password must differ from the current password");
    }
    assertAllowedPassword(newPassword, "new_password");
    return hashPassword(newPassword, { for: hashingFor(actor) });
  });
  return writeAs(db, actor, "self", (tx, audit) => {
    const tokenVersion = compareAndSetPassword(tx, actor.id, actor.tokenVersion, passwordHash);
    const own = actor.sessionId ?? null;
    recordEnded(audit, endSessions(tx, { userId: actor.id, except: own }), "password_change");
    let sessionId: string;
    if (own !== null) {
      renewSession(tx, own, kept.lifetimeMs);
      sessionId = own;
    } else {
      sessionId = createSession(tx, { userId: actor.id, ip: actor.ip ?? null, userAgent: kept.userAgent, lifetimeMs: kept.lifetimeMs }).id;
    }
    audit({ type: "password.changed", userId: actor.id, sessionId });
    return { tokenVersion, sessionId };
  });
}

/** Runs a write that may hit the unique email index; two concurrent writers of one email cannot both win. */
function withUniqueEmail<T>(email: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError(email);
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE";
}
