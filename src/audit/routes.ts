// /admin/audit: the admin reads who did what to which account, newest first.
import { Elysia, t } from "elysia";
import type { AuthGuard } from "../auth/guard.ts";
import type { Db } from "../db/index.ts";
import { AUDIT_ACTORS, AUDIT_EVENT_TYPES } from "../db/schema.ts";
import { ErrorModel } from "../users/model.ts";
import { listEvents, toPublicEvent } from "./service.ts";

export const AuditEventModel = t.Object({
  id: t.Integer(),
  created_at: t.String(),
  type: t.String({ enum: [...AUDIT_EVENT_TYPES] }),
  actor: t.String({ enum: [...AUDIT_ACTORS] }),
  actor_user_id: t.Nullable(t.Integer()),
  user_id: t.Nullable(t.Integer()),
  email: t.Nullable(t.String()),
  ip: t.Nullable(t.String()),
  reason: t.Nullable(t.String()),
  /** How many attempts the row stands for: refused sign-ins in one window share a row. */
  count: t.Integer({ minimum: 1 }),
  /** What an edit changed, field by field (`{"role": {"from": "agent", "to": "admin"}}`); never a password. */
  changes: t.Nullable(t.Record(t.String(), t.Object({ from: t.Unknown(), to: t.Unknown() }))),
});

const AuditQuery = t.Object({
  user_id: t.Optional(t.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, error: "user_id must be a positive whole number" })),
  // A union of literals, not t.String({ enum }) (TypeBox does not check `enum` on strings) and not
  // t.UnionEnum (its implicit default would filter every unfiltered request by the first type).
  type: t.Optional(
    t.Union(
      AUDIT_EVENT_TYPES.map((type) => t.Literal(type)),
      { error: `type must be one of ${AUDIT_EVENT_TYPES.join(", ")}` },
    ),
  ),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000, default: 100, error: "limit must be a whole number from 1 to 1000" })),
  offset: t.Optional(t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, error: "offset must be a whole number from 0" })),
});

export function auditRoutes({ db, guard }: { db: Db; guard: AuthGuard }) {
  return new Elysia({ prefix: "/admin/audit" }).use(guard).get(
    "",
    ({ query, set }) => {
      const { events, total } = listEvents(db, {
        userId: query.user_id,
        type: query.type,
        limit: query.limit,
        offset: query.offset,
      });
      set.headers["x-total-count"] = String(total);
      return events.map(toPublicEvent);
    },
    {
      admin: true,
      query: AuditQuery,
      response: { 200: t.Array(AuditEventModel), 401: ErrorModel, 403: ErrorModel, 422: ErrorModel },
      detail: { summary: "Audit events, newest first; X-Total-Count has the number of matches", tags: ["admin"], security: [{ bearer: [] }] },
    },
  );
}
