// /admin/users: the admin runs the team's accounts. Every route here is behind the admin guard.
import { Elysia, t } from "elysia";
import { ADMIN_RESPONSES, type AuthGuard } from "../auth/guard.ts";
import { recordEvent } from "../audit/service.ts";
import type { Db } from "../db/index.ts";
import type { AuditEventType } from "../db/schema.ts";
import type { AddressOf } from "../http/client-address.ts";
import { documented } from "../http/openapi.ts";
import {
  AccountChangesModel,
  ErrorModel,
  NewAccountModel,
  PublicUserModel,
  SetPasswordModel,
  UserIdParams,
  UserListModel,
  UserListQuery,
} from "./model.ts";
import { createUser, getUser, listUsers, setActive, setPassword, toPublicUser, updateUser } from "./service.ts";

const tags = ["admin"];
// Each route lists the answers it can give itself; the body reader's, validation's and 500 are added by
// the document builder (src/http/openapi.ts), which knows which routes those mechanisms apply to.
const notFound = { 404: documented(ErrorModel, { description: "No account has this id." }) };
const emailTaken = documented(ErrorModel, { description: "Another account already has this email." });
const passwordRule = documented(ErrorModel, {
  description: "The body does not match the schema, or the password breaks a rule (too short, too common, ...).",
});

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
            response: { 200: documented(UserListModel, { description: "A page of accounts.", headers: ["X-Total-Count"] }), ...ADMIN_RESPONSES },
            detail: {
              summary: "List accounts",
              description:
                "Accounts oldest first, filtered by role, active state and text in the name or email, a page at a time " +
                "(limit and offset). X-Total-Count has the number of matches before paging, so a client can page " +
                "without counting.",
            },
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
            response: { 201: PublicUserModel, ...ADMIN_RESPONSES, 409: emailTaken, 422: passwordRule },
            detail: {
              summary: "Create an account",
              description:
                "Creates an active account that can sign in at once with the password given. The role defaults to agent. " +
                "Emails are compared without surrounding blanks and in any case, so a second account with the same email " +
                "is refused with 409. Recorded in the audit trail as user.created.",
            },
          },
        )
        .get("/:id", ({ params }) => toPublicUser(getUser(db, Number(params.id))), {
          params: UserIdParams,
          response: { 200: PublicUserModel, ...ADMIN_RESPONSES, ...notFound },
          detail: { summary: "Read one account", description: "The account with this id, active or not." },
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
            response: {
              200: PublicUserModel,
              ...ADMIN_RESPONSES,
              ...notFound,
              409: documented(ErrorModel, {
                description: "Another account has this email, or the change would demote yourself or the last active admin.",
              }),
            },
            detail: {
              summary: "Edit an account",
              description:
                "Changes any of name, email and role; fields left out stay as they are. An admin cannot demote themselves, " +
                "and nobody can demote the last active admin (409), so the team is never left without one. The new role " +
                "applies from the account's next request. Recorded in the audit trail as user.updated.",
            },
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
            response: {
              200: PublicUserModel,
              ...ADMIN_RESPONSES,
              ...notFound,
              409: documented(ErrorModel, { description: "The account is yours, or the last active admin." }),
            },
            detail: {
              summary: "Deactivate an account",
              description:
                "The account can no longer sign in and every token it holds stops working at once; nothing is deleted. " +
                "Deactivating an inactive account changes nothing and answers 200 (idempotent). You cannot deactivate " +
                "yourself or the last active admin (409). Recorded in the audit trail as user.deactivated.",
            },
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
            response: { 200: PublicUserModel, ...ADMIN_RESPONSES, ...notFound },
            detail: {
              summary: "Reactivate an account",
              description:
                "The account can sign in again with its password; tokens issued before it was deactivated stay revoked. " +
                "Activating an active account changes nothing and answers 200 (idempotent). Recorded in the audit trail " +
                "as user.activated.",
            },
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
            response: { 204: t.Void(), ...ADMIN_RESPONSES, ...notFound, 422: passwordRule },
            detail: {
              summary: "Set an account's password",
              description:
                "Replaces the password without asking for the old one (for an agent who forgot theirs). Every token the " +
                "account held stops working, so its sessions must sign in again. The password rules are those of " +
                "account creation. Recorded in the audit trail as password.reset.",
            },
          },
        ),
    );
}
