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
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Who did it: a signed-in user, an operator at the host (`moxie ...`), or nobody yet (a login attempt). */
export const AUDIT_ACTORS = ["user", "cli", "anonymous"] as const;
export type AuditActor = (typeof AUDIT_ACTORS)[number];
