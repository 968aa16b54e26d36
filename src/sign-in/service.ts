// Signing in, and changing one's own password, as plain functions: the throttle (a place taken on arrival, given
// back on success or when the server could not check), the hashing queue, the legacy-email fallback, refusals
// audited and counted, and the token. The routes (src/http/routes/auth.ts) turn each result into a status.
import { eq } from "drizzle-orm";
import type { Generation } from "../db/generation.ts";
import type { Db } from "../db/index.ts";
import { users, utcNow, type User } from "../db/schema.ts";
import { writeWithRetry } from "../db/write.ts";
import { NOT_AN_EMAIL, recordEvent, recordRefusal, type AuditRecord } from "../audit/service.ts";
import { WrongPasswordError } from "../accounts/errors.ts";
import { findUserByEmail, findUserById, throttleClearedAt } from "../accounts/lookup.ts";
import { changeOwnPassword } from "../accounts/service.ts";
import { inWriteTransaction } from "../accounts/write.ts";
import { emailLookupKey, InvalidEmailError, normalizeEmail } from "../emails/normalize.ts";
import {
  characterCount,
  HashingBusyError,
  hashingGate,
  normalizePassword,
  PasswordWorkQueuedError,
  SIGN_IN_PASSWORD_MAX_LENGTH,
  spendVerifyTime,
  verifyPasswordHash,
} from "../passwords/hashing.ts";
import { createSession, makeRoomForSession } from "../sessions/store.ts";
import { ACCESS_TOKEN_TTL_SECONDS, type TokenService } from "../tokens/tokens.ts";
import type { LoginThrottle } from "./throttle.ts";

/** How long a sign-in waits before hearing "busy" when the hashing queue is full. */
const BUSY_ANSWER_DELAY_MS = 250;

/** A session lasts as long as its token. */
const SESSION_LIFETIME_MS = ACCESS_TOKEN_TTL_SECONDS * 1000;

/** The default bound on an account's live sessions (MAX_SESSIONS_PER_ACCOUNT). */
export const DEFAULT_MAX_SESSIONS_PER_ACCOUNT = 10;

export interface SignInDependencies {
  db: Db;
  tokens: TokenService;
  /** The database's generation, carried by every token issued here (see authGuard). */
  generation: Generation;
  throttle: LoginThrottle;
  /** Refused attempts are counted into one audit row per address, account (or none) and this window. */
  refusalWindowMs: number;
  /** An account's live sessions at most; the sign-in past it ends the oldest. */
  maxSessionsPerAccount?: number;
}

/** A bearer token for the account, and how long it lasts. */
export interface IssuedToken {
  token: string;
  expiresInSeconds: number;
}

export type SignInResult =
  | { outcome: "signed-in"; token: IssuedToken }
  /** The password is longer than any sign-in accepts (after NFC); nothing was looked up or counted. */
  | { outcome: "invalid"; detail: string }
  /** Wrong email or password (the same answer for an unknown email), or the right password of an inactive account. */
  | { outcome: "refused"; reason: "wrong" | "inactive" }
  | { outcome: "throttled"; retryAfterSeconds: number }
  /** The hashing queue is full: nothing was checked, and the attempt is no failure. */
  | { outcome: "busy" };

export type PasswordChangeResult = { outcome: "changed"; token: IssuedToken } | { outcome: "throttled"; retryAfterSeconds: number };

export interface SignInAttempt {
  /** What was typed as the email. */
  email: string;
  password: string;
  /** The client's address (src/http/client-address.ts): recorded as it is, counted as the throttle counts it. */
  address: string;
  /** The User-Agent header, for the session's device label. */
  userAgent?: string | null;
}

export interface PasswordChange {
  /** The signed-in account, as the guard read it for this request. */
  user: User;
  /** The session the request's token names (null for a token from before sessions): kept, with a fresh token. */
  sessionId: string | null;
  currentPassword: string;
  newPassword: string;
  address: string;
  userAgent?: string | null;
}

/** Sign-in and the own password change over one database, token service and throttle. */
export function signInService({
  db,
  tokens,
  generation,
  throttle,
  refusalWindowMs,
  maxSessionsPerAccount = DEFAULT_MAX_SESSIONS_PER_ACCOUNT,
}: SignInDependencies) {
  // Audit rows written on their own, outside any change: each waits for the write lock without holding up the
  // server, or an anonymous client's failed sign-ins during another process's write would freeze every request.
  // recordRefusal is safe to retry whole: it reads its open counting rows afresh and notes one only once written.
  // Counted per client as the throttle counts it, so the row's ip is the client: an IPv6 network counts as one
  // (`2001:db8:77:1::/64`), and the refusals it counts may have come from any address in it.
  const countRefusal = (event: AuditRecord) =>
    writeWithRetry(db, () => recordRefusal(db, { ...event, ip: event.ip && throttle.clientOf(event.ip) }, refusalWindowMs));
  const record = (event: AuditRecord) => writeWithRetry(db, () => recordEvent(db, event));
  const issue = async (userId: number, tokenVersion: number, sessionId: string): Promise<IssuedToken> => ({
    token: await tokens.issue({ userId, tokenVersion, generation: generation.id, sessionId }),
    expiresInSeconds: ACCESS_TOKEN_TTL_SECONDS,
  });

  async function signIn(attempt: SignInAttempt): Promise<SignInResult> {
    const password = normalizePassword(attempt.password);
    if (characterCount(password) > SIGN_IN_PASSWORD_MAX_LENGTH) {
      return { outcome: "invalid", detail: `password must be 1 to ${SIGN_IN_PASSWORD_MAX_LENGTH} characters` };
    }
    // A control or invisible character inside is a 422; anything else that is not an address is just a
    // sign-in that fails, throttled under what was typed and recorded under a fixed marker, never as typed
    // (it may be a password typed into the wrong field).
    const email = loginEmail(db, attempt.email);
    const key = email ?? emailLookupKey(attempt.email);
    const ip = attempt.address;
    const user = email === undefined ? undefined : findUserByEmail(db, email);
    const event = { type: "login.failed" as const, actor: "anonymous" as const, userId: user?.id ?? null, email: email ?? NOT_AN_EMAIL, ip };

    // The attempt is counted before any hashing: a burst of concurrent guesses is checked at most up to the limit.
    const place = throttle.reserve(key, ip, user ? throttleClearedAt(db, user) : 0);
    if (place.refused) {
      await countRefusal({ ...event, reason: "throttled" });
      return { outcome: "throttled", retryAfterSeconds: place.retryAfterSeconds };
    }
    // A full hashing queue is answered before any hashing, and only after a short pause: a flood client
    // that retries at once would otherwise keep the event loop busy with refusals.
    const busy = async (): Promise<SignInResult> => {
      place.withdrawn();
      await countRefusal({ ...event, reason: "busy" });
      await Bun.sleep(BUSY_ANSWER_DELAY_MS);
      return { outcome: "busy" };
    };
    if (hashingGate.saturated) return busy();
    let matches: boolean;
    try {
      // Unknown email and wrong password cost the same hashing time and get the same answer.
      matches = user
        ? await verifyPasswordHash(user.passwordHash, password, { for: "anonymous" })
        : await spendVerifyTime(password, { for: "anonymous" });
    } catch (error) {
      if (error instanceof HashingBusyError) return busy();
      throw error;
    }
    const refuse = async (reason: string, answer: "wrong" | "inactive"): Promise<SignInResult> => {
      await record({ ...event, reason });
      return { outcome: "refused", reason: answer };
    };
    if (!user || !matches) return refuse(user ? "wrong_password" : "unknown_email", "wrong");
    // The account is read again where the sign-in is recorded: deactivated or given a new password while
    // the hash was checked, it gets no token.
    const session = { ip, userAgent: attempt.userAgent ?? null, max: maxSessionsPerAccount };
    const outcome = await completeSignIn(db, user.id, user.passwordHash, email!, session).catch((error: unknown) => {
      // The password was right but the sign-in could not be written (the database busy past its timeout, or
      // full): the server's failure, not a failed guess. The place is given back, so retrying is no lockout.
      place.withdrawn();
      throw error;
    });
    if (!outcome.ok) {
      // Still a failure for the throttle: the right password of a deactivated account is no sign-in, and
      // repeating it must meet the same limits (and the same counted 429s) as any other refused attempt.
      return outcome.reason === "inactive" ? refuse("inactive", "inactive") : refuse("wrong_password", "wrong");
    }
    place.succeeded();
    return { outcome: "signed-in", token: await issue(outcome.user.id, outcome.user.tokenVersion, outcome.sessionId) };
  }

  /**
   * The signed-in account's own change (accounts' changeOwnPassword), under sign-in's limits: wrong current
   * passwords count toward them, so this is no oracle for guessing it. Throws what changeOwnPassword throws
   * (WrongPasswordError, PasswordRuleError, ...) and PasswordWorkQueuedError when the account has too many
   * password operations under way.
   */
  async function changePassword({ user, sessionId, currentPassword, newPassword, address: ip, userAgent }: PasswordChange): Promise<PasswordChangeResult> {
    const event = { type: "password.change_failed" as const, actor: "user" as const, actorUserId: user.id, userId: user.id, ip };
    // Refused before it takes a place in the throttle: a flood of changes is not a flood of failures.
    if (hashingGate.accountFull(user.id)) throw new PasswordWorkQueuedError(hashingGate.perAccount);
    const place = throttle.reserve(user.email, ip, throttleClearedAt(db, user));
    if (place.refused) {
      await countRefusal({ ...event, reason: "throttled" });
      return { outcome: "throttled", retryAfterSeconds: place.retryAfterSeconds };
    }
    let kept: { tokenVersion: number; sessionId: string };
    try {
      const actor = { id: user.id, tokenVersion: user.tokenVersion, sessionId, ip };
      kept = await changeOwnPassword(db, actor, currentPassword, newPassword, { lifetimeMs: SESSION_LIFETIME_MS, userAgent: userAgent ?? null });
    } catch (error) {
      if (error instanceof WrongPasswordError) await record({ ...event, reason: "wrong_password" });
      else place.withdrawn();
      throw error;
    }
    place.succeeded();
    // Every other session and token of the account stopped working with the new version; this session carries on.
    return { outcome: "changed", token: await issue(user.id, kept.tokenVersion, kept.sessionId) };
  }

  return { signIn, changePassword };
}

export type SignInService = ReturnType<typeof signInService>;

/**
 * The normalized email, or undefined when what was typed is not an address. A control or invisible character
 * is a 422 for every email, before anything is looked up. Anything else that is not an address (a space inside,
 * no "@" and dot) is a sign-in that fails like any other, unless an account's stored email is exactly that
 * (the Python original checked nothing: `front desk`): whether such an account exists is never in the answer.
 */
function loginEmail(db: Db, typed: string): string | undefined {
  emailLookupKey(typed);
  try {
    return normalizeEmail(typed);
  } catch (error) {
    if (!(error instanceof InvalidEmailError)) throw error;
    return findUserByEmail(db, typed)?.email;
  }
}

type SignInOutcome = { ok: true; user: User; sessionId: string } | { ok: false; reason: "inactive" | "changed" };

/** The session a sign-in makes: where from, and the account's bound. */
interface SessionRequest {
  ip: string;
  userAgent: string | null;
  max: number;
}

/**
 * Completes a sign-in whose password matched `verifiedHash`: in one transaction the account is read again
 * (it may have been deactivated or given a new password while the hash was checked), `last_login_at` is set,
 * room is made under the account's session bound (its oldest sessions ended, each recorded as `session.ended`
 * with reason `limit`), the session made and `login.succeeded` recorded with it. The token is issued from the
 * row read here, for that session.
 */
function completeSignIn(db: Db, id: number, verifiedHash: string, typedEmail: string, request: SessionRequest): Promise<SignInOutcome> {
  const { ip } = request;
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
    for (const ended of makeRoomForSession(tx, id, request.max)) {
      recordEvent(tx, { type: "session.ended", actor: "user", actorUserId: id, userId: id, sessionId: ended.id, reason: "limit", ip });
    }
    const session = createSession(tx, { userId: id, ip, userAgent: request.userAgent, lifetimeMs: SESSION_LIFETIME_MS });
    recordEvent(tx, { type: "login.succeeded", actor: "user", actorUserId: id, userId: id, email: typedEmail, ip, sessionId: session.id });
    return { ok: true, user: signedIn, sessionId: session.id };
  });
}
