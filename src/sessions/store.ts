// Sessions as plain functions over the database: one per signed-in device, made at sign-in, ended (deleted) by a
// sign-out, an admin, a password change, deactivation, the per-account bound or a restore, pruned once expired.
// Who may end which, and the audit trail, are the callers' (src/accounts/sessions.ts, src/sign-in/service.ts).
import { and, asc, count, desc, eq, gt, inArray, lte, ne, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { toIsoUtc } from "../db/dates.ts";
import { sessions, type Session } from "../db/schema.ts";
import { deviceLabel, keptUserAgent } from "./device.ts";

/** How many expired sessions one pruning statement deletes at most, so no pass holds the write lock for long. */
export const PRUNE_BATCH = 500;

/** 128 random bits as base64url: SESSION_ID_PATTERN (src/db/vocabulary.ts), which tokens and paths are held to. */
export function newSessionId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface NewSessionInput {
  userId: number;
  /** The client's address, as the audit trail records it. */
  ip: string | null;
  /** The User-Agent header as sent (kept cut to a bound; only its device label is ever shown). */
  userAgent: string | null | undefined;
  /** How long it lasts: its token's lifetime. */
  lifetimeMs: number;
}

/** Makes a session (inside the caller's transaction): a fresh id, seen now, expiring with its token. */
export function createSession(ex: Executor, input: NewSessionInput, now = Date.now()): Session {
  const at = iso(now);
  return ex
    .insert(sessions)
    .values({
      id: newSessionId(),
      userId: input.userId,
      createdAt: at,
      expiresAt: iso(now + input.lifetimeMs),
      lastSeenAt: at,
      ip: input.ip,
      userAgent: keptUserAgent(input.userAgent),
      device: deviceLabel(input.userAgent),
    })
    .returning()
    .get();
}

/** A session the caller ended: which, and whose. */
export interface EndedSession {
  id: string;
  userId: number;
}

/**
 * Which sessions to end: one account's (all of them, only `ids`, or all but `except`), or every account's
 * (`everyone`, for a restore). Expired ones are ended (deleted) too, but a caller that records what it ended
 * only hears of live ones.
 */
export type SessionSelection = { userId: number; ids?: string[]; except?: string | null } | { everyone: true };

/** Deletes the selected sessions; returns the live ones among them (expired ones are simply gone). */
export function endSessions(ex: Executor, selection: SessionSelection, now = Date.now()): EndedSession[] {
  const where =
    "everyone" in selection
      ? undefined
      : and(
          eq(sessions.userId, selection.userId),
          selection.ids ? inArray(sessions.id, selection.ids) : undefined,
          selection.except ? ne(sessions.id, selection.except) : undefined,
        );
  const ended = ex
    .delete(sessions)
    .where(where)
    .returning({ id: sessions.id, userId: sessions.userId, expiresAt: sessions.expiresAt })
    .all();
  const at = iso(now);
  return ended.filter((session) => session.expiresAt > at).map(({ id, userId }) => ({ id, userId }));
}

/** The account's live sessions, most recently seen first. */
export function listSessions(ex: Executor, userId: number, now = Date.now()): Session[] {
  return ex
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, iso(now))))
    .orderBy(desc(sessions.lastSeenAt), desc(sessions.createdAt))
    .all();
}

/** Whether `id` is a live session of account `userId`: what a write checks of the actor's session, in its transaction. */
export function isLiveSession(ex: Executor, id: string, userId: number, now = Date.now()): boolean {
  return (
    ex
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.id, id), eq(sessions.userId, userId), gt(sessions.expiresAt, iso(now))))
      .get() !== undefined
  );
}

/**
 * Makes room for one more session of the account under the bound `max`: its expired sessions are deleted, then
 * as many of its oldest live ones as needed. Returns the live ones it ended (for the audit trail: `limit`).
 */
export function makeRoomForSession(ex: Executor, userId: number, max: number, now = Date.now()): EndedSession[] {
  const at = iso(now);
  ex.delete(sessions).where(and(eq(sessions.userId, userId), lte(sessions.expiresAt, at))).run();
  const live = ex.select({ n: count() }).from(sessions).where(eq(sessions.userId, userId)).get()?.n ?? 0;
  const excess = live - (max - 1);
  if (excess <= 0) return [];
  const oldest = ex
    .select({ id: sessions.id })
    .from(sessions)
    .where(eq(sessions.userId, userId))
    .orderBy(asc(sessions.createdAt), asc(sessions.id))
    .limit(excess)
    .all()
    .map((row) => row.id);
  return endSessions(ex, { userId, ids: oldest }, now);
}

/** Gives a kept session a new lifetime from now (its fresh token's, after the account's own password change). */
export function renewSession(ex: Executor, id: string, lifetimeMs: number, now = Date.now()): void {
  ex.update(sessions)
    .set({ expiresAt: iso(now + lifetimeMs), lastSeenAt: iso(now) })
    .where(eq(sessions.id, id))
    .run();
}

/**
 * Deletes up to PRUNE_BATCH expired sessions; returns how many went. A caller repeats it (between other work)
 * while it returns a full batch.
 */
export function pruneExpiredSessions(db: Db, now = Date.now()): number {
  const expired = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(lte(sessions.expiresAt, iso(now)))
    .limit(PRUNE_BATCH);
  return db.delete(sessions).where(inArray(sessions.id, expired)).returning({ id: sessions.id }).all().length;
}

/** Sessions in the database, live or not: for doctor and the tests. */
export function countSessions(ex: Executor): number {
  return ex.select({ n: sql<number>`count(*)` }).from(sessions).get()?.n ?? 0;
}

/** A session as the API and `moxie sessions` give it; never its User-Agent (the device label stands for it). */
export interface PublicSession {
  id: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  ip: string | null;
  device: string;
  /** The session the request (or the listing admin) is signed in with. */
  current: boolean;
}

/** `list` as the wire gives it: the current session first, then the most recently seen. */
export function toPublicSessions(list: Session[], currentId: string | null): PublicSession[] {
  const shown = list.map((session) => ({
    id: session.id,
    created_at: toIsoUtc(session.createdAt),
    expires_at: toIsoUtc(session.expiresAt),
    last_seen_at: toIsoUtc(session.lastSeenAt),
    ip: session.ip,
    device: session.device,
    current: session.id === currentId,
  }));
  return [...shown.filter((s) => s.current), ...shown.filter((s) => !s.current)];
}
