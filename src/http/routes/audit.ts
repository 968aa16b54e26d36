// /admin/audit: the admin reads who did what to which account, newest first.
import { Elysia } from "elysia";
import { ADMIN_RESPONSES, type AuthGuard } from "../guard.ts";
import type { Db } from "../../db/index.ts";
import { documented } from "../openapi.ts";
import { AuditEventListModel, AuditQuery } from "../models/audit.ts";
import { listEvents, toPublicEvent } from "../../audit/service.ts";

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
        operationId: "listAuditEvents",
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
