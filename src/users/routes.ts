// /admin/users: the admin runs the team's accounts. Every route here is behind the admin guard.
import { Elysia, t } from "elysia";
import type { AuthGuard } from "../auth/guard.ts";
import { recordEvent } from "../audit/service.ts";
import type { Db } from "../db/index.ts";
import type { AuditEventType } from "../db/schema.ts";
import type { AddressOf } from "../http/client-address.ts";
import {
  AccountChangesModel,
  ErrorModel,
  NewAccountModel,
  PublicUserModel,
  SetPasswordModel,
  UserIdParams,
  UserListQuery,
} from "./model.ts";
import { createUser, getUser, listUsers, setActive, setPassword, toPublicUser, updateUser } from "./service.ts";

const errors = { 401: ErrorModel, 403: ErrorModel, 404: ErrorModel, 409: ErrorModel, 422: ErrorModel };
const tags = ["admin"];

export function adminUserRoutes({ db, guard, addressOf }: { db: Db; guard: AuthGuard; addressOf: AddressOf }) {
  return new Elysia({ prefix: "/admin/users" })
    .use(guard)
    // Every change here is recorded with the admin who made it.
    .resolve(({ request, server }) => ({
      audit: (type: AuditEventType, user: { id: number }, target: number) =>
        recordEvent(db, { type, actor: "user", actorUserId: user.id, userId: target, ip: addressOf(request, server) }),
    }))
    .guard({ admin: true, detail: { tags, security: [{ bearer: [] }] } }, (app) =>
      app
        .get(
          "",
          ({ query, set }) => {
            const { users, total } = listUsers(db, {
              role: query.role,
              isActive: query.is_active,
              q: query.q,
              limit: query.limit,
              offset: query.offset,
            });
            set.headers["x-total-count"] = String(total);
            return users.map(toPublicUser);
          },
          {
            query: UserListQuery,
            response: { 200: t.Array(PublicUserModel), ...errors },
            detail: { summary: "List accounts, oldest first; X-Total-Count has the number of matches" },
          },
        )
        .post(
          "",
          async ({ body, status, user, audit }) => {
            const created = await createUser(db, body);
            audit("user.created", user, created.id);
            return status(201, toPublicUser(created));
          },
          {
            body: NewAccountModel,
            response: { 201: PublicUserModel, ...errors },
            detail: { summary: "Create an account (role defaults to agent)" },
          },
        )
        .get("/:id", ({ params }) => toPublicUser(getUser(db, Number(params.id))), {
          params: UserIdParams,
          response: { 200: PublicUserModel, ...errors },
          detail: { summary: "One account" },
        })
        .patch(
          "/:id",
          ({ params, body, user, audit }) => {
            const updated = updateUser(db, user.id, Number(params.id), body);
            audit("user.updated", user, updated.id);
            return toPublicUser(updated);
          },
          {
            params: UserIdParams,
            body: AccountChangesModel,
            response: { 200: PublicUserModel, ...errors },
            detail: { summary: "Change name, email or role" },
          },
        )
        .patch(
          "/:id/deactivate",
          ({ params, user, audit }) => {
            const changed = setActive(db, user.id, Number(params.id), false);
            audit("user.deactivated", user, changed.id);
            return toPublicUser(changed);
          },
          {
            params: UserIdParams,
            response: { 200: PublicUserModel, ...errors },
            detail: { summary: "Deactivate an account; its tokens stop working at once (idempotent)" },
          },
        )
        .patch(
          "/:id/activate",
          ({ params, user, audit }) => {
            const changed = setActive(db, user.id, Number(params.id), true);
            audit("user.activated", user, changed.id);
            return toPublicUser(changed);
          },
          {
            params: UserIdParams,
            response: { 200: PublicUserModel, ...errors },
            detail: { summary: "Reactivate an account (idempotent)" },
          },
        )
        .put(
          "/:id/password",
          async ({ params, body, status, user, audit }) => {
            await setPassword(db, Number(params.id), body.password);
            audit("password.reset", user, Number(params.id));
            return status(204, undefined);
          },
          {
            params: UserIdParams,
            body: SetPasswordModel,
            response: { 204: t.Void(), ...errors },
            detail: { summary: "Set an account's password; its older tokens stop working" },
          },
        ),
    );
}
