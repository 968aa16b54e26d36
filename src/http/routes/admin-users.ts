// /admin/users: the admin runs the team's accounts. Every route here is behind the admin guard; the rules are the
// accounts service's (src/accounts/), and each handler calls one service function.
import { Elysia, t } from "elysia";
import type { Db } from "../../db/index.ts";
import { createUser, setActive, setPassword, unlockUser, updateUser } from "../../accounts/service.ts";
import { getUser, listUsers, toPublicUser } from "../../accounts/lookup.ts";
import { ACCOUNT_OPERATIONS_MAX } from "../../passwords/hashing.ts";
import { actorResolver } from "../acting-user.ts";
import type { AddressOf } from "../client-address.ts";
import { ADMIN_RESPONSES, type AuthGuard } from "../guard.ts";
import {
  AccountChangesModel,
  NewAccountModel,
  PublicUserModel,
  SetPasswordModel,
  UserIdParams,
  UserListModel,
  UserListQuery,
} from "../models/accounts.ts";
import { ErrorModel } from "../models/common.ts";
import { documented } from "../openapi.ts";

const tags = ["admin"];

export function adminUserRoutes({ db, guard, addressOf }: { db: Db; guard: AuthGuard; addressOf: AddressOf }) {
  const contract = adminUserContract();
  const id = (params: { id: string }) => Number(params.id);
  return new Elysia({ prefix: "/admin/users" })
    .use(guard)
    // Every change is made as the admin who asked, as their token saw them: the service checks again, in the
    // write's transaction, that they are still an active admin at that token version, and records the event.
    .resolve(actorResolver(addressOf))
    .guard({ admin: true, detail: { tags, security: [{ bearer: [] }] } }, (app) =>
      app
        .get(
          "",
          ({ query, set }) => {
            const filter = { role: query.role, isActive: query.is_active, q: query.q, limit: query.limit, offset: query.offset };
            const { users, total } = listUsers(db, filter);
            set.headers["x-total-count"] = String(total);
            return users.map(toPublicUser);
          },
          contract.list,
        )
        .post(
          "",
          async ({ body: { is_active, ...account }, status, user, sessionId, actorOf }) =>
            status(201, toPublicUser(await createUser(db, { ...account, isActive: is_active }, actorOf(user, sessionId)))),
          contract.create,
        )
        .get("/:id", ({ params }) => toPublicUser(getUser(db, id(params))), contract.read)
        .patch(
          "/:id",
          async ({ params, body: { name, email, role, is_active }, user, sessionId, actorOf }) =>
            toPublicUser(await updateUser(db, actorOf(user, sessionId), id(params), { name, email, role, isActive: is_active })),
          contract.edit,
        )
        .patch(
          "/:id/deactivate",
          async ({ params, user, sessionId, actorOf }) => toPublicUser((await setActive(db, actorOf(user, sessionId), id(params), false)).user),
          contract.deactivate,
        )
        .patch(
          "/:id/activate",
          async ({ params, user, sessionId, actorOf }) => toPublicUser((await setActive(db, actorOf(user, sessionId), id(params), true)).user),
          contract.activate,
        )
        .put(
          "/:id/password",
          async ({ params, body, status, user, sessionId, actorOf }) => {
            await setPassword(db, actorOf(user, sessionId), id(params), body.password);
            return status(204, undefined);
          },
          contract.setPassword,
        )
        .post(
          "/:id/unlock",
          async ({ params, status, user, sessionId, actorOf }) => {
            await unlockUser(db, actorOf(user, sessionId), id(params));
            return status(204, undefined);
          },
          contract.unlock,
        ),
    );
}

/**
 * What each route takes and answers, as /openapi.json describes it; made afresh for each app. Each route lists the
 * answers it can give itself; the body reader's, validation's and 500 are added by the document builder
 * (src/http/openapi.ts), which knows which routes those mechanisms apply to.
 */
function adminUserContract() {
  const notFound = { 404: documented(ErrorModel, { description: "No account has this id." }) };
  const emailTaken = documented(ErrorModel, { description: "Another account already has this email." });
  const anotherPasswordOperation = documented(ErrorModel, {
    description:
      `Your account (the signed-in admin's) already has ${ACCOUNT_OPERATIONS_MAX} password operations under way: creates and ` +
      "resets run one at a time and the others wait their turn; past that many, try again when one has finished.",
    headers: ["Retry-After"],
  });
  const passwordRule = documented(ErrorModel, {
    description: "The body does not match the schema, or the password breaks a rule (too short, too common, ...).",
  });
  return {
    list: {
      query: UserListQuery,
      response: { 200: documented(UserListModel, { description: "A page of accounts.", headers: ["X-Total-Count"] }), ...ADMIN_RESPONSES },
      detail: {
        operationId: "listUsers",
        summary: "List accounts",
        description:
          "Accounts oldest first, filtered by role, active state and text in the name or email, a page at a time " +
          "(limit and offset). X-Total-Count has the number of matches before paging, so a client can page " +
          "without counting.",
      },
    },
    create: {
      body: NewAccountModel,
      response: { 201: PublicUserModel, ...ADMIN_RESPONSES, 409: emailTaken, 422: passwordRule, 429: anotherPasswordOperation },
      detail: {
        operationId: "createUser",
        summary: "Create an account",
        description:
          "Creates an account that can sign in at once with the password given, or, with is_active false, one that " +
          "cannot until it is activated. The role defaults to agent. Emails are compared without surrounding blanks " +
          "and in any case, so a second account with the same email is refused with 409. The server's own fields " +
          "(id, created_at, last_login_at) are ignored if sent. Recorded in the audit trail as user.created.",
      },
    },
    read: {
      params: UserIdParams,
      response: { 200: PublicUserModel, ...ADMIN_RESPONSES, ...notFound },
      detail: { operationId: "getUser", summary: "Read one account", description: "The account with this id, active or not." },
    },
    edit: {
      params: UserIdParams,
      body: AccountChangesModel,
      response: {
        200: PublicUserModel,
        ...ADMIN_RESPONSES,
        ...notFound,
        409: documented(ErrorModel, {
          description:
            "Another account has this email, or the change would demote or deactivate yourself or the last active admin.",
        }),
      },
      detail: {
        operationId: "updateUser",
        summary: "Edit an account",
        description:
          "Changes any of name, email, role and is_active; fields left out stay as they are. is_active false " +
          "deactivates as PATCH .../deactivate does (every token of the account stops working), true reactivates. " +
          "An admin cannot demote or deactivate themselves, and nobody can the last active admin (409), so the team " +
          "is never left without one. A password is refused (422; use PUT .../password); id, created_at and " +
          "last_login_at are the server's and ignored. Recorded in the audit trail as user.updated, and " +
          "user.deactivated or user.activated.",
      },
    },
    deactivate: {
      params: UserIdParams,
      response: {
        200: PublicUserModel,
        ...ADMIN_RESPONSES,
        ...notFound,
        409: documented(ErrorModel, { description: "The account is yours, or the last active admin." }),
      },
      detail: {
        operationId: "deactivateUser",
        summary: "Deactivate an account",
        description:
          "The account can no longer sign in, every session it has ends and every token it holds stops working at once; " +
          "nothing is deleted. " +
          "Deactivating an inactive account changes and records nothing and answers 200 with it (idempotent). You " +
          "cannot deactivate yourself or the last active admin (409). Recorded in the audit trail as user.deactivated.",
      },
    },
    activate: {
      params: UserIdParams,
      response: { 200: PublicUserModel, ...ADMIN_RESPONSES, ...notFound },
      detail: {
        operationId: "activateUser",
        summary: "Reactivate an account",
        description:
          "The account can sign in again with its password, at once: its sign-in throttle is cleared too; tokens " +
          "issued before it was deactivated stay revoked. Activating an active account changes and records nothing " +
          "and answers 200 with it (idempotent; to clear its throttle, use /unlock). Recorded in the audit trail as user.activated.",
      },
    },
    setPassword: {
      params: UserIdParams,
      body: SetPasswordModel,
      response: {
        204: t.Void(),
        ...ADMIN_RESPONSES,
        403: documented(ErrorModel, {
          description: "Signed in, but not an admin; or the account is your own (change your own password with PUT /auth/password).",
        }),
        ...notFound,
        409: documented(ErrorModel, { description: "The account's password changed meanwhile; nothing was changed." }),
        422: passwordRule,
        429: anotherPasswordOperation,
      },
      detail: {
        operationId: "setUserPassword",
        summary: "Set another account's password",
        description:
          "Replaces the password without asking for the old one (for an agent who forgot theirs). Every session and " +
          "token the account held stops working, so it must sign in again, and its sign-in throttle is cleared. The " +
          "password rules are those of account creation. For your own password use PUT /auth/password (403 here). " +
          "Recorded in the audit trail as password.reset.",
      },
    },
    unlock: {
      params: UserIdParams,
      response: { 204: t.Void(), ...ADMIN_RESPONSES, ...notFound },
      detail: {
        operationId: "unlockUser",
        summary: "Clear an account's sign-in throttle",
        description:
          "Lets the account try to sign in again at once after too many failures (429); its password and tokens " +
          "are unchanged. Setting a password or activating the account does the same. Recorded in the audit trail " +
          "as user.unlocked.",
      },
    },
  };
}
