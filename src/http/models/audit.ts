// The audit trail on the wire: an event as the API gives it, and the list's filters.
import { t } from "elysia";
import { AUDIT_ACTORS, AUDIT_EVENT_TYPES } from "../../db/vocabulary.ts";
import { pagingQuery } from "../paging.ts";

export const AuditEventModel = t.Object({
  id: t.Integer({ minimum: 1 }),
  created_at: t.String({ format: "date-time" }),
  type: t.String({ enum: [...AUDIT_EVENT_TYPES] }),
  actor: t.String({ enum: [...AUDIT_ACTORS] }),
  actor_user_id: t.Nullable(t.Integer()),
  user_id: t.Nullable(t.Integer()),
  email: t.Nullable(t.String()),
  /** The client's address; a counted refusal row has the client as the throttle counts it (an IPv6 /64: `2001:db8:77:1::/64`). */
  ip: t.Nullable(t.String()),
  reason: t.Nullable(t.String()),
  /** How many attempts the row stands for: refused sign-ins in one window share a row. */
  count: t.Integer({ minimum: 1 }),
  /** What an edit changed, field by field (`{"role": {"from": "agent", "to": "admin"}}`); never a password. */
  changes: t.Nullable(t.Record(t.String(), t.Object({ from: t.Unknown(), to: t.Unknown() }))),
  /** The session a sign-in (or a password change) made or kept, or the one a `session.ended` event ended. */
  session_id: t.Nullable(t.String()),
});

/** A page of audit events; X-Total-Count has the number of matches. */
export const AuditEventListModel = t.Array(AuditEventModel);

export const AuditQuery = t.Object({
  user_id: t.Optional(
    t.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      error: "user_id must be a positive whole number",
      description: "Only events about this account.",
    }),
  ),
  // A union of literals, not t.String({ enum }) (TypeBox does not check `enum` on strings) and not
  // t.UnionEnum (its implicit default would filter every unfiltered request by the first type).
  type: t.Optional(
    t.Union(
      AUDIT_EVENT_TYPES.map((type) => t.Literal(type)),
      { error: `type must be one of ${AUDIT_EVENT_TYPES.join(", ")}`, description: "Only events of this type." },
    ),
  ),
  ...pagingQuery(100),
});
