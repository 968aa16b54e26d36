// The words the database stores and the API and CLI speak: roles, audit event types, who acted. Plain values, no
// drizzle: the wire schemas and the CLI read them without the tables.
export const ROLES = ["admin", "agent"] as const;
export type Role = (typeof ROLES)[number];

export const AUDIT_EVENT_TYPES = [
  "login.succeeded",
  "login.failed",
  "logout",
  "password.changed",
  "password.reset",
  /** A wrong current password at PUT /auth/password (or a refused one: see `count`). */
  "password.change_failed",
  "user.created",
  "user.updated",
  "user.deactivated",
  "user.activated",
  /** An admin cleared the account's sign-in throttle. */
  "user.unlocked",
  /** One session ended: `session_id` says which, `reason` why (SESSION_END_REASONS), the actor who. */
  "session.ended",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Who did it: a signed-in user, an operator at the host (`moxie ...`), or nobody yet (a login attempt). */
export const AUDIT_ACTORS = ["user", "cli", "anonymous"] as const;
export type AuditActor = (typeof AUDIT_ACTORS)[number];

/**
 * Why a session ended, as `session.ended` records it: its own sign-out (`self`), the account's "sign out the
 * others" or "everywhere", an admin, the account's own password change, deactivation, an admin's (or the CLI's)
 * password reset, the per-account bound at the next sign-in, a restore, or `moxie sign-out`.
 */
export const SESSION_END_REASONS = [
  "self",
  "others",
  "global",
  "admin",
  "password_change",
  "deactivation",
  "reset",
  "limit",
  "restore",
  "cli",
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** A session's id (and a token's `sid`): 128 random bits as base64url, 22 characters of A-Z a-z 0-9 - _. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
