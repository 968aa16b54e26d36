// Sessions as actors see them: signing out (this session, the others, everywhere), listing and ending one's own,
// an admin's view of an account's sessions, `moxie sign-out`, and a restore's clean slate. Each change goes through
// writeAs, so the actor (and the actor's own session) is checked again where the change is written, and every
// session ended is recorded as `session.ended` with who ended it and why.
import { eq, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { users } from "../db/schema.ts";
import type { SessionEndReason } from "../db/vocabulary.ts";
import { recordEvent } from "../audit/service.ts";
import { SessionNotFoundError } from "../sessions/errors.ts";
import { endSessions, listSessions, toPublicSessions, type EndedSession, type PublicSession } from "../sessions/store.ts";
import { getUser } from "./lookup.ts";
import { writeAs, type Actor, type ActingUser, type Audit } from "./write.ts";

/** What `POST /auth/logout` ends, in Supabase's words: this session, the account's others, or all of them. */
export const LOGOUT_SCOPES = ["local", "others", "global"] as const;
export type LogoutScope = (typeof LOGOUT_SCOPES)[number];

/** Records each ended session as `session.ended`, with `reason`, as the write's actor. */
export function recordEnded(audit: Audit, ended: EndedSession[], reason: SessionEndReason): void {
  for (const session of ended) audit({ type: "session.ended", userId: session.userId, sessionId: session.id, reason });
}

/**
 * Ends every session of the account and bumps its token version, so tokens from before sessions (which name
 * none) end too. The caller records the event that says why (logout, user.deactivated, password.reset).
 */
export function endEverySession(tx: Executor, audit: Audit, userId: number, reason: SessionEndReason): number {
  tx.update(users).set({ tokenVersion: sql`${users.tokenVersion} + 1` }).where(eq(users.id, userId)).run();
  const ended = endSessions(tx, { userId });
  recordEnded(audit, ended, reason);
  return ended.length;
}

/**
 * The signed-in account signs out: `local` ends the session its token names, `others` every other session of the
 * account, `global` all of them and every token from before sessions (recorded as `logout`). A token from before
 * sessions has no session of its own, so for it `local` is `global`. Returns how many sessions ended.
 */
export function signOut(db: Db, actor: ActingUser, scope: LogoutScope): Promise<number> {
  return writeAs(db, actor, "self", (tx, audit) => {
    const own = actor.sessionId ?? null;
    if (scope === "others") {
      const ended = endSessions(tx, { userId: actor.id, except: own });
      recordEnded(audit, ended, "others");
      return ended.length;
    }
    if (scope === "local" && own !== null) {
      const ended = endSessions(tx, { userId: actor.id, ids: [own] });
      recordEnded(audit, ended, "self");
      return ended.length;
    }
    const count = endEverySession(tx, audit, actor.id, "global");
    audit({ type: "logout", userId: actor.id, reason: "global" });
    return count;
  });
}

/** The signed-in account's live sessions, its current one first (`current`), then the most recently seen. */
export function listOwnSessions(db: Db, actor: { id: number; sessionId: string | null }): PublicSession[] {
  return toPublicSessions(listSessions(db, actor.id), actor.sessionId);
}

/**
 * Ends one of the signed-in account's own sessions (its current one too: that signs it out). SessionNotFoundError
 * (404) when no live session of the account has this id, whoever's it may be: no answer tells another account's
 * id from one that never existed.
 */
export function endOwnSession(db: Db, actor: ActingUser, sessionId: string): Promise<void> {
  return writeAs(db, actor, "self", (tx, audit) => {
    const ended = endSessions(tx, { userId: actor.id, ids: [sessionId] });
    if (ended.length === 0) throw new SessionNotFoundError();
    recordEnded(audit, ended, "self");
  });
}

/**
 * An account's live sessions for an admin (UserNotFoundError for no such account); `current` marks only the
 * admin's own session, when the account is the admin's.
 */
export function listAccountSessions(db: Db, userId: number, viewerSessionId: string | null): PublicSession[] {
  getUser(db, userId);
  return toPublicSessions(listSessions(db, userId), viewerSessionId);
}

/** An admin ends one session of an account: UserNotFoundError or SessionNotFoundError (404) when there is none. */
export function endAccountSession(db: Db, actor: Actor, userId: number, sessionId: string): Promise<void> {
  return writeAs(db, actor, "admin", (tx, audit) => {
    getUser(tx, userId);
    const ended = endSessions(tx, { userId, ids: [sessionId] });
    if (ended.length === 0) throw new SessionNotFoundError();
    recordEnded(audit, ended, actor === "cli" ? "cli" : "admin");
  });
}

/**
 * An admin (or `moxie sign-out`) ends every session of an account, and every token from before sessions with
 * them (the token version); recorded as `logout` with reason `admin` or `cli` and one `session.ended` per
 * session. Returns how many sessions ended. UserNotFoundError when there is no such account.
 */
export function endAllAccountSessions(db: Db, actor: Actor, userId: number): Promise<number> {
  const reason = actor === "cli" ? "cli" : "admin";
  return writeAs(db, actor, "admin", (tx, audit) => {
    getUser(tx, userId);
    const count = endEverySession(tx, audit, userId, reason);
    audit({ type: "logout", userId, reason });
    return count;
  });
}

/**
 * A restored database starts with no sessions: every one it holds is ended and recorded (`session.ended`,
 * reason `restore`, by the operator), in one transaction. Its new generation already refuses every token issued
 * before; this leaves no session to list. Runs on restore's private staging copy, which nothing else has open, so
 * it never waits for a lock. Returns how many live sessions ended.
 */
export function endSessionsForRestore(db: Db): number {
  return db.transaction((tx) => {
    const ended = endSessions(tx, { everyone: true });
    for (const session of ended) {
      recordEvent(tx, { type: "session.ended", actor: "cli", userId: session.userId, sessionId: session.id, reason: "restore" });
    }
    return ended.length;
  }, { behavior: "immediate" });
}
