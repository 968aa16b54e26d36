// /admin/audit: the admin reads who did what to which account, newest first.
import { Elysia, t } from "elysia";
import { ADMIN_RESPONSES, type AuthGuard } from "../auth/guard.ts";
import type { Db } from "../db/index.ts";
import { AUDIT_ACTORS, AUDIT_EVENT_TYPES } from "../db/schema.ts";
import { documented } from "../http/openapi.ts";
import { pagingQuery } from "../http/paging.ts";
import { listEvents, toPublicEvent } from "./service.ts";

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
});

/** A page of audit events; X-Total-Count has the number of matches. */
export const AuditEventListModel = t.Array(AuditEventModel);

const AuditQuery = t.Object({
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
      response: {
        200: documented(AuditEventListModel, { description: "A page of audit events.", headers: ["X-Total-Count"] }),
        ...ADMIN_RESPONSES,
      },
      detail: {
        summary: "List audit events",
        description:
          "Who did what to which account, newest first: sign-ins (refused ones with the reason), sign-outs, password " +
          "changes and resets, and every account change by an admin or at the host (moxie CLI). Filter by account " +
          "and event type; page with limit and offset. X-Total-Count has the number of matches before paging.",
        tags: ["admin"],
        security: [{ bearer: [] }],
      },
    },
  );
}
