// The one way an account change is made (writeAs): the actor is read again inside the write's own transaction, and
// a signed-in account's password work runs one operation at a time.
import type { Db, Executor } from "../db/index.ts";
import { writeWithRetry } from "../db/write.ts";
import type { AuditEventType } from "../db/vocabulary.ts";
import { recordEvent, type Changes } from "../audit/service.ts";
import { hashingGate, type HashingFor } from "../passwords/hashing.ts";
import { SESSION_ENDED } from "../sessions/errors.ts";
import { isLiveSession } from "../sessions/store.ts";
import { findUserById } from "./lookup.ts";
import { ActorForbiddenError, ActorRevokedError } from "./errors.ts";

/**
 * Who makes a change: the operator at the host (`moxie ...`), or a signed-in account as its token saw it
 * (id, token version and session) with the address the request came from.
 */
export type Actor = "cli" | ActingUser;
export interface ActingUser {
  id: number;
  tokenVersion: number;
  /** The session the request's token names; null for a token from before sessions (it has none to check). */
  sessionId?: string | null;
  ip?: string | null;
}

/** Records an audit event inside the write, as the actor; `userId` is the account concerned. */
export type Audit = (event: { type: AuditEventType; userId: number; changes?: Changes; reason?: string; sessionId?: string }) => void;

/**
 * The one way a change is made. In one IMMEDIATE transaction (so no other writer slips in between the check
 * and the write): the acting account is read again and must still be active, at the token version its
 * request carried, with the session its token names still live and, for `need: "admin"`, an admin; then `work`
 * runs with an `audit` that writes the event
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
 * The acting account, as `ex` reads it now, must still be active, at the token version its request carried, with
 * its session (when its token names one) not ended or expired and, for `need: "admin"`, an admin:
 * ActorRevokedError (401) or ActorForbiddenError (403) otherwise. A request whose session was ended while it
 * waited (its own sign-out elsewhere, an admin, the bound) writes nothing.
 */
export function assertActorMay(ex: Executor, actor: ActingUser, need: "admin" | "self"): void {
  const row = findUserById(ex, actor.id);
  if (!row || !row.isActive) throw new ActorRevokedError("Account inactive or not found");
  if (row.tokenVersion !== actor.tokenVersion) throw new ActorRevokedError("Invalid or expired token");
  if (actor.sessionId && !isLiveSession(ex, actor.sessionId, actor.id)) throw new ActorRevokedError(SESSION_ENDED);
  if (need === "admin" && row.role !== "admin") throw new ActorForbiddenError("Admin access required");
}

/**
 * `work` in one write transaction taken at its start (BEGIN IMMEDIATE), retried whole while another connection
 * holds the lock (writeWithRetry): a busy or full database becomes DatabaseBusyError / DatabaseFullError with
 * nothing written. `work` touches only the transaction, so a retry repeats nothing else.
 */
export function inWriteTransaction<T>(db: Db, work: (tx: Executor) => T): Promise<T> {
  return writeWithRetry(db, () => db.transaction(work, { behavior: "immediate" }));
}

/** Who password hashing runs for: the acting account's share of the queue, or the operator's. */
export function hashingFor(actor: Actor): HashingFor {
  return actor === "cli" ? "operator" : { account: actor.id };
}

/**
 * A signed-in account's password operations run one at a time, the next few waiting their turn (past them
 * PasswordWorkQueuedError, 429); the operator is not limited. When its turn comes the acting account is checked
 * again before any hashing: an operation that waited while its account was deactivated, demoted or signed out is
 * answered as its write would be (writeAs checks once more where the change is written), without the hash.
 */
export function asOnePasswordOperation<T>(db: Db, actor: Actor, need: "admin" | "self", fn: () => Promise<T>): Promise<T> {
  if (actor === "cli") return fn();
  return hashingGate.exclusive(actor.id, () => {
    assertActorMay(db, actor, need);
    return fn();
  });
}
