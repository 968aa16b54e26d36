// /admin/users: the admin runs the team's accounts. Every route here is behind the admin guard.
import { Elysia, t } from "elysia";
import type { AuthGuard } from "../auth/guard.ts";
import type { Db } from "../db/index.ts";
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
import {
  createUser,
  getUser,
  listUsers,
  setActive,
  setPassword,
  toPublicUser,
  unlockUser,
  updateUser,
  type ActingUser,
} from "./service.ts";

const errors = { 401: ErrorModel, 403: ErrorModel, 404: ErrorModel, 409: ErrorModel, 422: ErrorModel, 503: ErrorModel };
const tags = ["admin"];

export function adminUserRoutes({ db, guard, addressOf }: { db: Db; guard: AuthGuard; addressOf: AddressOf }) {
  return new Elysia({ prefix: "/admin/users" })
    .use(guard)
    // Every change is made as the admin who asked, as their token saw them: the service checks again, in the
    // write's transaction, that they are still an active admin at that token version, and records the event.
    .resolve(({ request, server }) => ({
      actorOf: (user: { id: number; tokenVersion: number }): ActingUser => ({
        id: user.id,
        tokenVersion: user.tokenVersion,
        ip: addressOf(request, server),
      }),
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
          async ({ body, status, user, actorOf }) => {
            const created = await createUser(db, body, actorOf(user));
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
          ({ params, body, user, actorOf }) => toPublicUser(updateUser(db, actorOf(user), Number(params.id), body)),
          {
            params: UserIdParams,
            body: AccountChangesModel,
            response: { 200: PublicUserModel, ...errors },
            detail: { summary: "Change name, email or role" },
          },
        )
        .patch(
          "/:id/deactivate",
          ({ params, user, actorOf }) => toPublicUser(setActive(db, actorOf(user), Number(params.id), false)),
          {
            params: UserIdParams,
            response: { 200: PublicUserModel, ...errors },
            detail: { summary: "Deactivate an account; its tokens stop working at once (idempotent)" },
          },
        )
        .patch(
          "/:id/activate",
          ({ params, user, actorOf }) => toPublicUser(setActive(db, actorOf(user), Number(params.id), true)),
          {
            params: UserIdParams,
            response: { 200: PublicUserModel, ...errors },
            detail: { summary: "Reactivate an account (idempotent); also clears its sign-in throttle" },
          },
        )
        .put(
          "/:id/password",
          async ({ params, body, status, user, actorOf }) => {
            await setPassword(db, actorOf(user), Number(params.id), body.password);
            return status(204, undefined);
          },
          {
            params: UserIdParams,
            body: SetPasswordModel,
            response: { 204: t.Void(), 429: ErrorModel, ...errors },
            detail: {
              summary:
                "Set another account's password; its older tokens stop working and its sign-in throttle is cleared " +
                "(409 if its password changed meanwhile; your own password: PUT /auth/password)",
            },
          },
        )
        .post(
          "/:id/unlock",
          ({ params, status, user, actorOf }) => {
            unlockUser(db, actorOf(user), Number(params.id));
            return status(204, undefined);
          },
          {
            params: UserIdParams,
            response: { 204: t.Void(), ...errors },
            detail: { summary: "Clear an account's sign-in throttle (after too many failed sign-ins)" },
          },
        ),
    );
}
