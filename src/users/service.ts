// Accounts as plain functions over the database: no HTTP here, so the API and the CLI share every rule.
// Every change goes through writeAs: the actor is read again inside the write's own transaction.
import { and, asc, count, desc, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { instantOf, toIsoUtc, toIsoUtcOrNull } from "../db/dates.ts";
import { writeWithRetry } from "../db/write.ts";
import { auditEvents, users, utcNow, type AuditEventType, type Role, type User } from "../db/schema.ts";
import { recordEvent, type Changes } from "../audit/service.ts";
import { hashingGate, hashPassword, normalizePassword, verifyPasswordHash, type HashingFor } from "../auth/password.ts";
import { newPasswordProblem } from "../auth/password-policy.ts";
import { assertNewEmailShape, emailLookupKey, normalizeEmail, normalizeNewEmail, storedEmailKey } from "./email.ts";

export { normalizeEmail } from "./email.ts";

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

/**
 * Who makes a change: the operator at the host (`moxie ...`), or a signed-in account as its token saw it
 * (id and token version) with the address the request came from.
 */
export type Actor = "cli" | ActingUser;
export interface ActingUser {
  id: number;
  tokenVersion: number;
  ip?: string | null;
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

/** The acting account was deactivated or signed out (token version bumped) before its change landed: 401. */
export class ActorRevokedError extends Error {
  override name = "ActorRevokedError";
}

/** The acting account no longer has the role the change needs (demoted meanwhile), or may not do it at all: 403. */
export class ActorForbiddenError extends Error {
  override name = "ActorForbiddenError";
}

/** Someone else set the password (or signed the account out) between this request's arrival and its write: 409. */
export class PasswordRaceError extends Error {
  override name = "PasswordRaceError";
  constructor() {
    super("The account's password or sessions changed while this request waited; nothing was changed, try again");
  }
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

/** Records an audit event inside the write, as the actor; `userId` is the account concerned. */
type Audit = (event: { type: AuditEventType; userId: number; changes?: Changes; reason?: string }) => void;

/**
 * The one way a change is made. In one IMMEDIATE transaction (so no other writer slips in between the check
 * and the write): the acting account is read again and must still be active, at the token version its
 * request carried and, for `need: "admin"`, an admin; then `work` runs with an `audit` that writes the event
 * in the same transaction. Either the change and its event commit together or nothing does.
 * A busy database (after the busy timeout, waited without holding up other requests) and a full disk become
 * DatabaseBusyError / DatabaseFullError.
 */
export function writeAs<T>(db: Db, actor: Actor, need: "admin" | "self", work: (tx: Executor, audit: Audit) => T): Promise<T> {
  return inWriteTransaction(db, (tx) => {
    if (actor !== "cli") assertActorMay(tx, actor, need);
    const audit: Audit = (event) =>
      recordEvent(tx, {
        ...event,
        actor: actor === "cli" ? "cli" : "user",
        actorUserId: actor === "cli" ? null : actor.id,
        ip: actor === "cli" ? null : (actor.ip ?? null),
      });
    return work(tx, audit);
  });
}

/**
 * The acting account, as `ex` reads it now, must still be active, at the token version its request carried and,
 * for `need: "admin"`, an admin: ActorRevokedError (401) or ActorForbiddenError (403) otherwise.
 */
function assertActorMay(ex: Executor, actor: ActingUser, need: "admin" | "self"): void {
  const row = findUserById(ex, actor.id);
  if (!row || !row.isActive) throw new ActorRevokedError("Account inactive or not found");
  if (row.tokenVersion !== actor.tokenVersion) throw new ActorRevokedError("Invalid or expired token");
  if (need === "admin" && row.role !== "admin") throw new ActorForbiddenError("Admin access required");
}

/**
 * `work` in one write transaction taken at its start (BEGIN IMMEDIATE), retried whole while another connection
 * holds the lock (writeWithRetry): a busy or full database becomes DatabaseBusyError / DatabaseFullError with
 * nothing written. `work` touches only the transaction, so a retry repeats nothing else.
 */
function inWriteTransaction<T>(db: Db, work: (tx: Executor) => T): Promise<T> {
  return writeWithRetry(db, () => db.transaction(work, { behavior: "immediate" }));
}

/** Who password hashing runs for: the acting account's share of the queue, or the operator's. */
function hashingFor(actor: Actor): HashingFor {
  return actor === "cli" ? "operator" : { account: actor.id };
}

/**
 * A signed-in account's password operations run one at a time, the next few waiting their turn (past them
 * PasswordWorkQueuedError, 429); the operator is not limited. When its turn comes the acting account is checked
 * again before any hashing: an operation that waited while its account was deactivated, demoted or signed out is
 * answered as its write would be (writeAs checks once more where the change is written), without the hash.
 */
function asOnePasswordOperation<T>(db: Db, actor: Actor, need: "admin" | "self", fn: () => Promise<T>): Promise<T> {
  if (actor === "cli") return fn();
  return hashingGate.exclusive(actor.id, () => {
    assertActorMay(db, actor, need);
    return fn();
  });
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

/** Creates an active account, recorded as `user.created`; throws EmailTakenError when the normalized email exists. */
export async function createUser(db: Db, input: NewAccount, actor: Actor = "cli"): Promise<User> {
  assertAllowedPassword(input.password);
  const email = normalizeNewEmail(input.email);
  const passwordHash = await asOnePasswordOperation(db, actor, "admin", () => hashPassword(input.password, { for: hashingFor(actor) }));
  return writeAs(db, actor, "admin", (tx, audit) => {
    const created = withUniqueEmail(email, () =>
      tx.insert(users).values({ name: input.name.trim(), email, passwordHash, role: input.role ?? "agent" }).returning().get(),
    );
    audit({ type: "user.created", userId: created.id });
    return created;
  });
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
 * Changes name, email or role, recorded as `user.updated` with what changed (from → to). An admin may not
 * demote themselves, and nobody may demote the last active admin.
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
    if (Object.keys(changed).length === 0) return user;
    const updated = withUniqueEmail(email ?? user.email, () =>
      tx.update(users).set(wanted).where(eq(users.id, id)).returning().get()!,
    );
    audit({ type: "user.updated", userId: id, changes: changed });
    return updated;
  });
}

/**
 * Activates or deactivates; idempotent: an account already in that state is answered as it is, and nothing is
 * written or recorded (`changed` is false). A change is recorded as user.activated / user.deactivated; activating
 * also clears the account's sign-in throttle (the event is what the throttle reads). Deactivation bumps the token
 * version, so reactivating does not bring old tokens back to life.
 */
export function setActive(db: Db, actor: Actor, id: number, active: boolean): Promise<{ user: User; changed: boolean }> {
  return writeAs(db, actor, "admin", (tx, audit) => {
    const user = getUser(tx, id);
    if (user.isActive === active) return { user, changed: false };
    if (!active && user.role === "admin") guardAdminRemoval(tx, actor, user, "deactivate");
    const revoke = active ? {} : { tokenVersion: sql`${users.tokenVersion} + 1` };
    const updated = tx.update(users).set({ isActive: active, ...revoke }).where(eq(users.id, id)).returning().get()!;
    audit({ type: active ? "user.activated" : "user.deactivated", userId: id });
    return { user: updated, changed: true };
  });
}

/** Clears the account's sign-in throttle (recorded as `user.unlocked`, which the throttle reads). */
export function unlockUser(db: Db, actor: Actor, id: number): Promise<User> {
  return writeAs(db, actor, "admin", (tx, audit) => {
    const user = getUser(tx, id);
    audit({ type: "user.unlocked", userId: id });
    return user;
  });
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
 * Sets another account's password (an admin, or `moxie set-password`) and revokes every token issued before
 * it. Compare-and-set on the token version seen at arrival: if the account's password or sessions changed
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
    audit({ type: "password.reset", userId: id });
  });
}

/**
 * The account's own change: needs the current password, and the new one must differ from it. The write is
 * compare-and-set on the session's token version, so a reset or logout that landed meanwhile wins (the
 * session is revoked: ActorRevokedError). Returns the new token version, for this session's fresh token.
 */
export async function changeOwnPassword(db: Db, actor: ActingUser, currentPassword: string, newPassword: string): Promise<number> {
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
    const version = compareAndSetPassword(tx, actor.id, actor.tokenVersion, passwordHash);
    audit({ type: "password.changed", userId: actor.id });
    return version;
  });
}

/** "Log out everywhere": every token of this account issued until now stops working. */
export async function revokeTokens(db: Db, actor: ActingUser): Promise<void> {
  await writeAs(db, actor, "self", (tx, audit) => {
    tx.update(users).set({ tokenVersion: sql`${users.tokenVersion} + 1` }).where(eq(users.id, actor.id)).run();
    audit({ type: "logout", userId: actor.id });
  });
}

export type SignInOutcome = { ok: true; user: User } | { ok: false; reason: "inactive" | "changed" };

/**
 * Completes a sign-in whose password matched `verifiedHash`: in one transaction the account is read again
 * (it may have been deactivated or given a new password while the hash was checked), `last_login_at` is set
 * and `login.succeeded` recorded. The token is issued from the row read here.
 */
export function completeSignIn(db: Db, id: number, verifiedHash: string, ip: string | null, typedEmail: string): Promise<SignInOutcome> {
  return inWriteTransaction(db, (tx): SignInOutcome => {
    const user = findUserById(tx, id);
    if (!user || user.passwordHash !== verifiedHash) return { ok: false, reason: "changed" };
    if (!user.isActive) return { ok: false, reason: "inactive" };
    const signedIn = tx
      .update(users)
      .set({ lastLoginAt: utcNow })
      .where(eq(users.id, id))
      .returning()
      .get()!;
    recordEvent(tx, { type: "login.succeeded", actor: "user", actorUserId: id, userId: id, email: typedEmail, ip });
    return { ok: true, user: signedIn };
  });
}

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
        tx.update(users).set({ email: to }).where(eq(users.id, id)).run();
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
